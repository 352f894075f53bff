#include "modules/engine_manager/resize_policy.hpp"

#include "modules/engine/layout.hpp"

namespace stairkv::engine_manager {

unsigned resize_rules::decide(unsigned stairs, const load_sample& sample) {
  auto shards = static_cast<std::uint64_t>(engine::shards_in(stairs));
  bool congested = sample.backlog > policy_.grow_backlog_per_shard * shards;
  congested_in_a_row_ = congested ? congested_in_a_row_ + 1 : 0;
  if (stairs < policy_.max_stairs) {
    bool full = sample.keys > policy_.grow_keys_per_shard * shards;
    if (full || congested_in_a_row_ >= policy_.congested_samples) {
      congested_in_a_row_ = 0;
      return stairs + 1;
    }
  }
  if (stairs > policy_.min_stairs && !congested) {
    auto smaller = static_cast<std::uint64_t>(engine::shards_in(stairs - 1));
    if (sample.keys * policy_.shrink_divisor < policy_.grow_keys_per_shard * smaller)
      return stairs - 1;
  }
  return stairs;
}

} // namespace stairkv::engine_manager
