#pragma once

#include <cstdint>
#include <vector>

#include "benchmarks/histogram.hpp"

// Throughput and tail latency over time, in fixed intervals of the run. Each load thread
// records into its own interval_recorder with no sharing; when the run is over the
// threads' intervals are merged by index into one row per interval.
namespace stairkv::bench {

inline constexpr std::int64_t timeline_interval_ns = 100'000'000;  // 100 ms

// The latencies of the replies one thread received in one interval, kept as the
// non-empty buckets of a histogram (a few hundred at most instead of 7,424).
struct interval_snapshot {
  std::uint32_t index;  // interval number: starts at index * interval_ns into the run
  std::vector<histogram::bucket> buckets;
};

class interval_recorder {
 public:
  explicit interval_recorder(std::int64_t interval_ns = timeline_interval_ns)
      : interval_ns_(interval_ns) {}

  // The histogram for replies received `elapsed_ns` into the run. Time only moves
  // forward for a thread; moving into a later interval closes the current one.
  histogram& at(std::int64_t elapsed_ns) {
    const std::int64_t index = elapsed_ns < 0 ? 0 : elapsed_ns / interval_ns_;
    if (index != current_) advance(index);
    return histogram_;
  }

  // Closes the current interval and hands over every closed one, in order.
  std::vector<interval_snapshot> finish();

 private:
  void advance(std::int64_t index);

  std::int64_t interval_ns_;
  std::int64_t current_ = -1;
  histogram histogram_;
  std::vector<interval_snapshot> closed_;
};

struct timeline_row {
  std::int64_t t_ms;   // start of the interval, from the start of the run
  std::uint64_t ops;   // replies received in it
  double ops_per_sec;  // ops over the interval's length (the last one may be shorter)
  double p99_us;       // 0 when the interval has no replies
};

// One row per interval from the start of the run to `run_ns`, intervals without
// replies included, merging every thread's snapshots of the same interval.
std::vector<timeline_row> build_timeline(
    const std::vector<std::vector<interval_snapshot>>& per_thread, std::int64_t run_ns,
    std::int64_t interval_ns = timeline_interval_ns);

}  // namespace stairkv::bench
