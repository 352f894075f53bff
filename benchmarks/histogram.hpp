#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

// A latency histogram in the manner of HdrHistogram: log-linear buckets, so that
// recording is O(1) with no allocation, two histograms merge by adding counts, and
// every percentile is known to within a fixed relative error whatever the range.
namespace stairkv::bench {

// Values below 2 * sub_bucket_count are counted exactly. Above that, each power of
// two [2^m, 2^(m+1)) is split into sub_bucket_count equal buckets, so a bucket is
// never wider than 1/sub_bucket_count of its lowest value: with 128 sub-buckets every
// value is known to within 0.79%. The whole uint64 range is covered in 7,424 counters
// (58 KiB): latencies in nanoseconds need no configured maximum.
class histogram {
 public:
  static constexpr unsigned sub_bucket_bits = 7;
  static constexpr std::uint64_t sub_bucket_count = std::uint64_t{1} << sub_bucket_bits;
  static constexpr std::size_t bucket_count = (65 - sub_bucket_bits) * sub_bucket_count;

  // One non-empty bucket, for shipping a histogram compactly (see nonzero_buckets).
  struct bucket {
    std::uint32_t index;
    std::uint64_t count;
  };

  histogram();

  void record(std::uint64_t value) { record(value, 1); }
  void record(std::uint64_t value, std::uint64_t count) {
    counts_[bucket_index(value)] += count;
    total_ += count;
    sum_ += static_cast<double>(value) * static_cast<double>(count);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  // Adds every count of `other`; min and max are combined exactly.
  void merge(const histogram& other);

  // Adds `count` values known only by their bucket (from nonzero_buckets of another
  // histogram). Min and max then become that bucket's bounds, so they are exact to
  // the bucket's width rather than exact.
  void record_bucket(std::size_t index, std::uint64_t count);

  // The non-empty buckets in increasing order of value.
  std::vector<bucket> nonzero_buckets() const;

  void reset();

  std::uint64_t count() const { return total_; }
  bool empty() const { return total_ == 0; }
  // 0 when empty.
  std::uint64_t min() const { return total_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const;

  // The value at `percent` (0..100): the smallest recorded value v such that at least
  // `percent`% of the values are <= v, reported as the highest value of v's bucket
  // (never less than the truth, more by at most the bucket width) and clamped to
  // [min, max]. percentile(0) is min(), percentile(100) is max(); 0 when empty.
  std::uint64_t percentile(double percent) const;

  static std::size_t bucket_index(std::uint64_t value) {
    if (value < 2 * sub_bucket_count) return static_cast<std::size_t>(value);
    const unsigned magnitude = 63u - static_cast<unsigned>(__builtin_clzll(value));
    const unsigned shift = magnitude - sub_bucket_bits;
    return static_cast<std::size_t>((shift + 1) * sub_bucket_count +
                                    ((value >> shift) - sub_bucket_count));
  }

  // Smallest and largest value counted in bucket `index`.
  static std::uint64_t bucket_lowest(std::size_t index);
  static std::uint64_t bucket_highest(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  double sum_ = 0;  // for the mean only, which needs no more than double's precision
};

}  // namespace stairkv::bench
