#pragma once

// The staircase: an engine of n stairs holds 2^n - 1 shards, stair k holding 2^k of
// them. A layout is an immutable value: routers keep a shared pointer to the one
// they were handed, so routing never takes a lock, and a new layout (a resize) is a
// new value handed out again.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "modules/engine/staircase.hpp"
#include "modules/shard/shard_actor.hpp"

namespace stairkv::engine {

struct layout {
  std::uint64_t generation = 0;
  unsigned stairs = 0;
  std::vector<shard::shard_actor> shards; // flat, stair by stair

  std::size_t shard_of(std::string_view key) const noexcept {
    return engine::shard_of(key, stairs);
  }
};

using layout_ptr = std::shared_ptr<const layout>;

// Spawns the shard actors of a fresh engine of `stairs` stairs.
// Every shard shares `context` (events, memory bound).
layout_ptr spawn_engine(caf::actor_system& system, unsigned stairs,
                        shard::placement where, std::uint64_t generation,
                        const shard::shard_context& context = {});

} // namespace stairkv::engine
