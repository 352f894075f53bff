#pragma once

// What routers (gateways, the embedding front actor) hold to send keys to shards:
// an immutable snapshot handed out by the engine manager at every change.
//
// While a resize runs, `entry` is still the old engine: its shards forward every
// operation to the new engine's shards (see shard_actor.hpp), and `next` is the new
// engine, asked directly only for statistics. When the resize ends, `entry`
// becomes the new engine and `next` is empty.

#include <cstdint>
#include <memory>

#include "modules/engine/layout.hpp"

namespace stairkv::engine {

struct engine_status {
  std::uint64_t generation = 1;
  bool migrating = false;
  std::uint64_t keys_migrated = 0;   // over all resizes
  std::uint64_t resizes_up = 0;
  std::uint64_t resizes_down = 0;
  std::int64_t last_resize_ms = 0;   // duration of the last finished resize
};

struct routing {
  layout_ptr entry;
  layout_ptr next;
  engine_status status;

  // Every shard that may hold keys: the entry engine's, then the next engine's.
  std::size_t shard_count() const noexcept {
    return entry->shards.size() + (next ? next->shards.size() : 0);
  }

  const shard::shard_actor& shard(std::size_t index) const noexcept {
    auto n = entry->shards.size();
    return index < n ? entry->shards[index] : next->shards[index - n];
  }
};

using routing_ptr = std::shared_ptr<const routing>;

// A snapshot of a single engine with nothing in motion.
inline routing_ptr settled_routing(layout_ptr engine, engine_status status = {}) {
  auto r = std::make_shared<routing>();
  r->entry = std::move(engine);
  r->status = status;
  r->status.generation = r->entry->generation;
  return r;
}

} // namespace stairkv::engine
