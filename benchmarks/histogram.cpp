#include "benchmarks/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace stairkv::bench {

histogram::histogram() : counts_(bucket_count, 0) {}

std::uint64_t histogram::bucket_lowest(std::size_t index) {
  if (index < 2 * sub_bucket_count) return index;
  const std::uint64_t shift = index / sub_bucket_count - 1;
  const std::uint64_t sub_bucket = index % sub_bucket_count + sub_bucket_count;
  return sub_bucket << shift;
}

std::uint64_t histogram::bucket_highest(std::size_t index) {
  if (index < 2 * sub_bucket_count) return index;
  const std::uint64_t shift = index / sub_bucket_count - 1;
  // Written so that the last bucket ends at UINT64_MAX without overflowing.
  return bucket_lowest(index) + ((std::uint64_t{1} << shift) - 1);
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void histogram::record_bucket(std::size_t index, std::uint64_t count) {
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

std::vector<histogram::bucket> histogram::nonzero_buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    if (counts_[i] != 0) out.push_back({static_cast<std::uint32_t>(i), counts_[i]});
  }
  return out;
}

void histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double histogram::mean() const {
  return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_);
}

std::uint64_t histogram::percentile(double percent) const {
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

}  // namespace stairkv::bench
