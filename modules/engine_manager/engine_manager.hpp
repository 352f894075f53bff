#pragma once

// The engine manager: owns the current engine and, during a resize, the next one;
// samples the shards' load, decides with resize_rules when to grow or shrink, runs
// the migration, and hands every router (gateways, the embedding front actor) a new
// routing snapshot at each change. At most two engines exist at any moment; a
// resize asked for during a migration waits for it to end.
//
// A resize, step by step:
//  1. spawn the next engine; tell every old shard to migrate to it (the old shards
//     start forwarding operations and handing keys over in the background);
//  2. publish {entry: old, next: new}: routers keep sending to the old shards;
//  3. when every old shard reports its keys moved, publish {entry: new}; each
//     router switches once none of its requests to the old engine is in flight,
//     and acknowledges;
//  4. when every router has acknowledged, the old shards exit.
// No request waits for the migration: only a router switching engines holds new
// requests back until its last ones to the old engine are answered.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "modules/engine/routing.hpp"
#include "modules/engine_manager/resize_policy.hpp"
#include "modules/shard/migration.hpp"
#include "modules/shard/shard_actor.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::engine::routing_ptr)

namespace stairkv::engine_manager {

using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using routing_atom = caf::atom_constant<caf::atom("routing")>;
using applied_atom = caf::atom_constant<caf::atom("applied")>;
using resize_atom = caf::atom_constant<caf::atom("resize")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// Routers receive (routing_atom, routing_ptr) and answer a snapshot whose entry
// engine changed with (applied_atom, generation) once they no longer send to the
// old one.
using manager_actor = caf::typed_actor<
  // Registers a router; answers the current snapshot.
  caf::replies_to<subscribe_atom, caf::actor>::with<engine::routing_ptr>,
  caf::reacts_to<applied_atom, std::uint64_t>,
  caf::reacts_to<shard::migrated_atom, std::uint64_t, std::uint64_t>,
  // Resizes to the given stairs: now, or when the running resize has ended; false
  // for a number of stairs out of range.
  caf::replies_to<resize_atom, unsigned>::with<bool>,
  caf::replies_to<caf::get_atom>::with<engine::routing_ptr>,
  caf::reacts_to<sample_atom>,
  // Holds the layout still (a snapshot walks the shards): answers the settled
  // snapshot once no resize runs, and starts none until every hold is released
  // (one asked for meanwhile waits).
  caf::replies_to<hold_atom>::with<engine::routing_ptr>,
  caf::reacts_to<release_atom>>;

struct manager_config {
  unsigned initial_stairs = 1;
  shard::placement placement = shard::placement::scheduler;
  resize_policy policy;
  // How often the shards' load is sampled; 0 turns automatic resizing off.
  std::chrono::milliseconds sample_interval{100};
  // What every shard shares: where keyspace events go, the memory bound.
  shard::shard_context shards;
  // Where resize start and end lines go (the node's log).
  std::function<void(const std::string&)> log;
};

struct spawned_manager {
  manager_actor actor;
  engine::routing_ptr initial; // the first snapshot, for routers starting at once
};

spawned_manager spawn_engine_manager(caf::actor_system& system, manager_config config);

} // namespace stairkv::engine_manager
