#include "modules/engine/staircase.hpp"

#include <xxhash.h>

namespace stairkv::engine {

std::uint64_t hash_key(std::string_view key) noexcept {
  return XXH3_64bits(key.data(), key.size());
}

position locate(std::uint64_t hash, unsigned stairs) noexcept {
  // Multiply-shift maps the hash uniformly onto [0, shards) without a division.
  auto total = static_cast<unsigned __int128>(shards_in(stairs));
  auto flat = static_cast<std::size_t>((total * hash) >> 64);
  // Stair k covers flat indices [2^k - 1, 2^(k+1) - 1).
  unsigned stair = 63u - static_cast<unsigned>(__builtin_clzll(flat + 1));
  std::size_t first = (std::size_t{1} << stair) - 1;
  return position{stair, flat - first, flat};
}

shard_range overlapping_shards(std::size_t source, unsigned source_stairs,
                               unsigned target_stairs) noexcept {
  using u128 = unsigned __int128;
  const u128 space = u128{1} << 64;
  const u128 from = shards_in(source_stairs);
  const u128 to = shards_in(target_stairs);
  // Hashes h with floor(from * h / 2^64) == source: [lowest, highest].
  u128 lowest = (u128{source} * space + from - 1) / from;
  u128 highest = ((u128{source} + 1) * space + from - 1) / from - 1;
  if (highest >= space)
    highest = space - 1;
  return shard_range{static_cast<std::size_t>((to * lowest) >> 64),
                     static_cast<std::size_t>((to * highest) >> 64)};
}

} // namespace stairkv::engine
