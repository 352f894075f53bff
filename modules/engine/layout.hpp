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

#include "modules/shard/shard_actor.hpp"

namespace stairkv::engine {

// Where a key lives inside a staircase.
struct position {
  unsigned stair;
  std::size_t slot; // index within the stair, below 2^stair
  std::size_t shard; // flat index: 2^stair - 1 + slot
};

// The one hash every router uses for a key (xxHash's XXH3, 64 bits).
std::uint64_t hash_key(std::string_view key) noexcept;

// Number of shards in a staircase of `stairs` stairs.
constexpr std::size_t shards_in(unsigned stairs) noexcept {
  return (std::size_t{1} << stairs) - 1;
}

// Maps a key hash onto a staircase of `stairs` stairs. Every shard receives the same
// share of the hash space, so bigger stairs (more shards) take proportionally more.
position locate(std::uint64_t hash, unsigned stairs) noexcept;

// Upper bound on stairs: 2^12 - 1 = 4095 shard actors is already far past any
// machine this runs on, and keeps a mistyped option from spawning millions.
inline constexpr unsigned max_stairs = 12;

struct layout {
  std::uint64_t generation = 0;
  unsigned stairs = 0;
  std::vector<shard::shard_actor> shards; // flat, stair by stair

  std::size_t shard_of(std::string_view key) const noexcept {
    return locate(hash_key(key), stairs).shard;
  }
};

using layout_ptr = std::shared_ptr<const layout>;

// Spawns the shard actors of a fresh engine of `stairs` stairs.
layout_ptr spawn_engine(caf::actor_system& system, unsigned stairs,
                        shard::placement where, std::uint64_t generation);

} // namespace stairkv::engine
