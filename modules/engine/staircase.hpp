#pragma once

// The staircase as arithmetic: an engine of n stairs holds 2^n - 1 shards, stair k
// holding 2^k of them, and a key's place in it comes from one hash of the key.
// Pure functions, shared by the routers (through layout) and by the shards (which
// need to know where a key goes when they hand it over during a resize).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stairkv::engine {

// Where a key lives inside a staircase.
struct position {
  unsigned stair;
  std::size_t slot;  // index within the stair, below 2^stair
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

inline std::size_t shard_of(std::string_view key, unsigned stairs) noexcept {
  return locate(hash_key(key), stairs).shard;
}

// The shards of a staircase of `target_stairs` stairs that can hold keys of shard
// `source` of a staircase of `source_stairs` stairs: an inclusive range, since both
// split the hash space into equal consecutive shares.
struct shard_range {
  std::size_t first;
  std::size_t last;
};
shard_range overlapping_shards(std::size_t source, unsigned source_stairs,
                               unsigned target_stairs) noexcept;

// Upper bound on stairs: 2^12 - 1 = 4095 shard actors is already far past any
// machine this runs on, and keeps a mistyped option from spawning millions.
inline constexpr unsigned max_stairs = 12;

} // namespace stairkv::engine
