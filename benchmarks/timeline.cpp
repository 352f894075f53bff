#include "benchmarks/timeline.hpp"

#include <algorithm>
#include <utility>

namespace stairkv::bench {

void interval_recorder::advance(std::int64_t index) {
  if (current_ >= 0 && !histogram_.empty()) {
    closed_.push_back({static_cast<std::uint32_t>(current_), histogram_.nonzero_buckets()});
    histogram_.reset();
  }
  current_ = index;
}

std::vector<interval_snapshot> interval_recorder::finish() {
  advance(current_ + 1);
  current_ = -1;
  return std::move(closed_);
}

std::vector<timeline_row> build_timeline(
    const std::vector<std::vector<interval_snapshot>>& per_thread, std::int64_t run_ns,
    std::int64_t interval_ns) {
  std::int64_t intervals =
      (std::max<std::int64_t>(run_ns, 0) + interval_ns - 1) / interval_ns;
  for (const auto& snapshots : per_thread) {
    if (!snapshots.empty()) {
      intervals = std::max<std::int64_t>(intervals, snapshots.back().index + 1);
    }
  }
  std::vector<timeline_row> rows;
  rows.reserve(static_cast<std::size_t>(intervals));
  std::vector<std::size_t> next(per_thread.size(), 0);  // each thread's next snapshot
  histogram merged;
  for (std::int64_t i = 0; i < intervals; ++i) {
    merged.reset();
    for (std::size_t t = 0; t < per_thread.size(); ++t) {
      const auto& snapshots = per_thread[t];
      while (next[t] < snapshots.size() && snapshots[next[t]].index == i) {
        for (const auto& b : snapshots[next[t]].buckets)
          merged.record_bucket(b.index, b.count);
        ++next[t];
      }
    }
    const std::int64_t start = i * interval_ns;
    // The last interval ends with the run, which is usually before its full length.
    std::int64_t end = start + interval_ns;
    if (run_ns > start && run_ns < end) end = run_ns;
    timeline_row row;
    row.t_ms = start / 1'000'000;
    row.ops = merged.count();
    row.ops_per_sec = static_cast<double>(row.ops) * 1e9 / static_cast<double>(end - start);
    row.p99_us = static_cast<double>(merged.percentile(99)) / 1000.0;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace stairkv::bench
