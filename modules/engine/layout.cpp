#include "modules/engine/layout.hpp"

namespace stairkv::engine {

layout_ptr spawn_engine(caf::actor_system& system, unsigned stairs,
                        shard::placement where, std::uint64_t generation,
                        const shard::shard_context& context) {
  auto result = std::make_shared<layout>();
  result->generation = generation;
  result->stairs = stairs;
  result->shards.reserve(shards_in(stairs));
  for (std::size_t i = 0; i < shards_in(stairs); ++i) {
    auto own = context;
    own.index = static_cast<std::uint32_t>(i);
    own.stairs = stairs;
    result->shards.push_back(shard::spawn_shard(system, where, std::move(own)));
  }
  return result;
}

} // namespace stairkv::engine
