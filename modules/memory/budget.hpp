#pragma once

// The node's memory bound (maxmemory, maxmemory-policy), shared by every shard of
// every engine, the gateways and INFO. Nothing here locks: settings and figures are
// atomics that shards read once per batch.
//
// How the bound holds without a global lock: each shard knows its own table's
// bytes exactly (every record's allocation size plus its tables' arrays) and adds
// the change to `dataset` once per batch. The rest of the process (connections,
// mailboxes, the allocator's own state) is `overhead`: the allocator's figure less
// `dataset`, read again at most every refresh_interval_ms by whichever shard or
// INFO call comes first. A shard may hold what the limit leaves after the overhead
// and the other shards' tables; it evicts (or refuses) as writes arrive, so the
// bound holds up to one batch per shard.

#include <atomic>
#include <cstdint>
#include <memory>

#include "modules/memory/policy.hpp"

namespace stairkv::memory {

// What the allocator reports about the whole process.
struct allocator_figures {
  std::int64_t allocated = 0; // bytes handed out to the program (jemalloc stats.allocated)
  std::int64_t resident = 0;  // resident set size from /proc/self/statm
  const char* allocator = "libc";
};

// Reads the allocator's figures now: jemalloc's when it is the process's malloc,
// otherwise glibc's. Costs a few microseconds (jemalloc refreshes its statistics);
// `with_resident` adds the resident set size (a read of /proc).
allocator_figures read_allocator(bool with_resident = true);

class budget {
public:
  static constexpr std::int64_t refresh_interval_ms = 100;

  // -- settings (CONFIG SET) ---------------------------------------------------
  void set_limit(std::int64_t bytes) noexcept {
    limit_.store(bytes, std::memory_order_relaxed);
  }
  // 0: no bound.
  std::int64_t limit() const noexcept {
    return limit_.load(std::memory_order_relaxed);
  }
  void set_policy(policy p) noexcept {
    policy_.store(p, std::memory_order_relaxed);
  }
  policy current_policy() const noexcept {
    return policy_.load(std::memory_order_relaxed);
  }
  // How many keys an eviction compares (maxmemory-samples).
  void set_samples(int n) noexcept {
    samples_.store(n, std::memory_order_relaxed);
  }
  int samples() const noexcept {
    return samples_.load(std::memory_order_relaxed);
  }

  // -- accounting --------------------------------------------------------------

  // A shard's change in table bytes since its last report.
  void add_dataset(std::int64_t delta) noexcept {
    dataset_.fetch_add(delta, std::memory_order_relaxed);
  }
  std::int64_t dataset() const noexcept {
    return dataset_.load(std::memory_order_relaxed);
  }
  std::int64_t overhead() const noexcept {
    return overhead_.load(std::memory_order_relaxed);
  }

  // The process's memory as the bound sees it (INFO used_memory between readings).
  std::int64_t used() const noexcept {
    return overhead() + dataset();
  }

  // Bytes all tables together may hold: the limit less the overhead (no more
  // than the limit, never negative). Only meaningful with a limit.
  std::int64_t dataset_limit() const noexcept;

  // Whether used memory is past a limit (writes that may grow memory are refused
  // under noeviction).
  bool over_limit() const noexcept {
    auto l = limit();
    return l > 0 && used() > l;
  }

  // Whether a command that may grow memory is refused before it runs: past the
  // limit under noeviction, as Redis does. (Under the other policies the shards
  // evict as writes arrive, and refuse only a write they cannot make room for.)
  //
  // A refusal is never made on a stale reading: the overhead may have been read
  // while memory was held only for a moment (a deep pipeline's replies), and
  // tables may have shrunk since (a client deletes keys to make room and expects
  // its next write to be taken). So before refusing, the allocator is read again
  // unless the last reading is under refusal_recheck_ms old and the tables have
  // not changed since. A flood of refused writes costs one reading per interval.
  bool refuses_growth(std::int64_t now_ms);
  static constexpr std::int64_t refusal_recheck_ms = 1;

  // Reads the allocator again unless the last reading is under
  // refusal_recheck_ms old and the tables have not changed since: what a
  // refusal is decided on (here and in a shard about to refuse its writes).
  void refresh_before_refusal(std::int64_t now_ms);

  // Reads the allocator now and updates the overhead and the peak; returns the
  // allocated bytes (at least the tables' own count).
  std::int64_t refresh();
  // The same with a reading the caller has just taken (INFO, which also wants
  // the resident size).
  std::int64_t refresh(const allocator_figures& reading);

  // The same, unless another caller did it less than refresh_interval_ms ago.
  void refresh_if_due(std::int64_t now_ms);

  std::int64_t peak() const noexcept {
    return peak_.load(std::memory_order_relaxed);
  }

  // -- statistics --------------------------------------------------------------
  void add_evicted(std::int64_t n) noexcept {
    evicted_.fetch_add(n, std::memory_order_relaxed);
  }
  std::int64_t evicted() const noexcept {
    return evicted_.load(std::memory_order_relaxed);
  }
  void reset_stats() noexcept {
    evicted_.store(0, std::memory_order_relaxed);
    peak_.store(used(), std::memory_order_relaxed);
  }

private:
  std::atomic<std::int64_t> limit_{0};
  std::atomic<policy> policy_{policy::noeviction};
  std::atomic<int> samples_{5};
  std::atomic<std::int64_t> dataset_{0};
  std::atomic<std::int64_t> overhead_{0};
  std::atomic<std::int64_t> peak_{0};
  std::atomic<std::int64_t> evicted_{0};
  std::atomic<std::int64_t> refreshed_at_ms_{0};
  // The tables' bytes and the time at the last reading, for refuses_growth.
  std::atomic<std::int64_t> dataset_at_reading_{0};
  std::atomic<std::int64_t> read_at_ms_{0};
};

using budget_ptr = std::shared_ptr<budget>;

} // namespace stairkv::memory
