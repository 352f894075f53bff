#include "modules/engine/layout.hpp"

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

layout_ptr spawn_engine(caf::actor_system& system, unsigned stairs,
                        shard::placement where, std::uint64_t generation) {
  auto result = std::make_shared<layout>();
  result->generation = generation;
  result->stairs = stairs;
  result->shards.reserve(shards_in(stairs));
  for (std::size_t i = 0; i < shards_in(stairs); ++i)
    result->shards.push_back(shard::spawn_shard(system, where));
  return result;
}

} // namespace stairkv::engine
