#pragma once

// When the staircase should grow or shrink: pure rules, decided on a sample of the
// shards' load, so they are tested without actors.
//
// Growth: when the average keys per shard pass `grow_keys_per_shard`, or when the
// shards are congested (their mailboxes hold more than `grow_backlog_per_shard`
// pending messages on average for `congested_samples` samples in a row), the
// engine gains one stair, doubling its shards plus one.
// Shrink: when the keys would fit one stair lower at no more than a quarter of the
// growth point (`shrink_divisor`), the engine loses one stair. Right after a shrink
// the average load is at most grow/shrink_divisor * (2^n - 1)/(2^(n-1) - 1), about
// half the growth point, so a grow cannot follow unless the keys double again:
// resizes never flap.

#include <cstdint>

namespace stairkv::engine_manager {

struct resize_policy {
  std::uint64_t grow_keys_per_shard = 250'000;
  std::uint64_t shrink_divisor = 4;
  std::uint64_t grow_backlog_per_shard = 64;
  unsigned congested_samples = 5;
  unsigned min_stairs = 1;
  unsigned max_stairs = 12;
};

struct load_sample {
  std::uint64_t keys = 0;            // live keys over all shards
  std::uint64_t backlog = 0;         // pending messages over all shards
};

class resize_rules {
public:
  explicit resize_rules(resize_policy policy = {}) : policy_(policy) {}

  // The stairs the engine should have after this sample; `stairs` if no change.
  unsigned decide(unsigned stairs, const load_sample& sample);

  const resize_policy& policy() const noexcept {
    return policy_;
  }

private:
  resize_policy policy_;
  unsigned congested_in_a_row_ = 0;
};

} // namespace stairkv::engine_manager
