#pragma once

// A latency histogram in the manner of HdrHistogram: log-linear buckets, so that
// recording is O(1) with no allocation, two histograms merge by adding counts, and
// every percentile is known to within a fixed relative error whatever the range.
// Used by the node (INFO latencystats) and by the load generator.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace stairkv::metrics {

// Values below 2 * sub_bucket_count are counted exactly. Above that, each power of
// two [2^m, 2^(m+1)) is split into sub_bucket_count equal buckets, so a bucket is
// never wider than 1/sub_bucket_count of its lowest value: with 128 sub-buckets
// every value is known to within 0.79%, with 64 within 1.6%. Values up to
// 2^MaxMagnitude - 1 are told apart; larger ones count in the last bucket. The
// whole uint64 range with 128 sub-buckets takes 7,424 counters (58 KiB);
// nanoseconds up to 2^40 (18 minutes) with 64 sub-buckets 2,240 (17.5 KiB).
template <unsigned SubBucketBits, unsigned MaxMagnitude = 64>
class basic_histogram {
public:
  static constexpr unsigned sub_bucket_bits = SubBucketBits;
  static constexpr std::uint64_t sub_bucket_count = std::uint64_t{1} << sub_bucket_bits;
  static constexpr std::size_t bucket_count =
    (MaxMagnitude + 1 - sub_bucket_bits) * sub_bucket_count;

  // One non-empty bucket, for shipping a histogram compactly (see nonzero_buckets).
  struct bucket {
    std::uint32_t index;
    std::uint64_t count;
  };

  basic_histogram() : counts_(bucket_count, 0) {}

  void record(std::uint64_t value) { record(value, 1); }
  void record(std::uint64_t value, std::uint64_t count) {
    counts_[bucket_index(value)] += count;
    total_ += count;
    sum_ += static_cast<double>(value) * static_cast<double>(count);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  // Adds every count of `other`; min and max are combined exactly.
  void merge(const basic_histogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  // Adds `count` values known only by their bucket (from nonzero_buckets of another
  // histogram). Min and max then become that bucket's bounds, so they are exact to
  // the bucket's width rather than exact.
  void record_bucket(std::size_t index, std::uint64_t count) {
    if (count == 0 || index >= bucket_count) return;
    const std::uint64_t low = bucket_lowest(index);
    const std::uint64_t high = bucket_highest(index);
    counts_[index] += count;
    total_ += count;
    sum_ += (static_cast<double>(low) + static_cast<double>(high)) / 2 *
            static_cast<double>(count);
    min_ = std::min(min_, low);
    max_ = std::max(max_, high);
  }

  // The non-empty buckets in increasing order of value.
  std::vector<bucket> nonzero_buckets() const {
    std::vector<bucket> out;
    for (std::size_t i = 0; i < bucket_count; ++i)
      if (counts_[i] != 0) out.push_back({static_cast<std::uint32_t>(i), counts_[i]});
    return out;
  }

  void reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    sum_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
  }

  std::uint64_t count() const { return total_; }
  bool empty() const { return total_ == 0; }
  // 0 when empty.
  std::uint64_t min() const { return total_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_); }

  // The value at `percent` (0..100): the smallest recorded value v such that at least
  // `percent`% of the values are <= v, reported as the highest value of v's bucket
  // (never less than the truth, more by at most the bucket width) and clamped to
  // [min, max]. percentile(0) is min(), percentile(100) is max(); 0 when empty.
  std::uint64_t percentile(double percent) const {
    if (total_ == 0) return 0;
    if (percent <= 0) return min_;
    if (percent >= 100) return max_;
    // The rank of the wanted value, 1-based: at least `percent`% of values lie at or
    // below it. Rounding up keeps p99 of 100 values at the 99th, not the 100th.
    auto rank = static_cast<std::uint64_t>(
        std::ceil(percent / 100.0 * static_cast<double>(total_) - 1e-9));
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(bucket_highest(i), min_, max_);
    }
    return max_;
  }

  static std::size_t bucket_index(std::uint64_t value) {
    if (value < 2 * sub_bucket_count) return static_cast<std::size_t>(value);
    const unsigned magnitude = 63u - static_cast<unsigned>(__builtin_clzll(value));
    if (magnitude >= MaxMagnitude) return bucket_count - 1;
    const unsigned shift = magnitude - sub_bucket_bits;
    return static_cast<std::size_t>((shift + 1) * sub_bucket_count +
                                    ((value >> shift) - sub_bucket_count));
  }

  // Smallest and largest value counted in bucket `index`.
  static std::uint64_t bucket_lowest(std::size_t index) {
    if (index < 2 * sub_bucket_count) return index;
    const std::uint64_t shift = index / sub_bucket_count - 1;
    const std::uint64_t sub_bucket = index % sub_bucket_count + sub_bucket_count;
    return sub_bucket << shift;
  }
  static std::uint64_t bucket_highest(std::size_t index) {
    if (index < 2 * sub_bucket_count) return index;
    if (index == bucket_count - 1 && MaxMagnitude < 64) return UINT64_MAX;
    const std::uint64_t shift = index / sub_bucket_count - 1;
    // Written so that the last bucket ends at UINT64_MAX without overflowing.
    return bucket_lowest(index) + ((std::uint64_t{1} << shift) - 1);
  }

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  double sum_ = 0;  // for the mean only, which needs no more than double's precision
};

}  // namespace stairkv::metrics
