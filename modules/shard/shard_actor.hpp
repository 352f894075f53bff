#pragma once

// The shard actor: owns one table, runs the batches sent to it in arrival order and
// answers each with its replies. Where it runs is a deliberate choice (placement).
//
// During a resize a shard of the old engine stops executing: it hands its keys to
// the new engine's shards in the background, a chunk at a time with a bounded number
// of handovers in flight (credit-based back-pressure), and forwards every operation
// it receives to the new shard owning the key, taking the key along first if it has
// not moved yet. Routers keep sending to the old shards until the resize ends, so a
// key has one owner at every instant and its operations arrive there in order.

#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "modules/expiry/active_expiry.hpp"
#include "modules/memory/budget.hpp"
#include "modules/metrics/latency_monitor.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/shard/batch.hpp"
#include "modules/shard/key_events.hpp"
#include "modules/shard/migration.hpp"
#include "modules/tracking/invalidations.hpp"
#include "modules/tracking/settings.hpp"
#include "modules/values/encoding_settings.hpp"

// Batches and their results only ever travel between actors of one process (the
// remote interface is the store's), so they are moved, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::shard::batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::shard::batch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::shard::key_event_log)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::tracking::invalidations)

namespace stairkv::shard {

// (notify_atom, key_event_log): what a shard tells the subscription broker after
// a batch or an expiry turn in which events of a wanted class happened.
using notify_atom = caf::atom_constant<caf::atom("notify")>;
// (invalidate_atom, tracking::invalidations): the same for client-side
// caching, after a batch or turn that changed keys some clients cache (or
// any key, while a client tracks in broadcasting mode).
using invalidate_atom = caf::atom_constant<caf::atom("invalidate")>;

// What every shard of a store shares: where its keyspace events go (the
// subscription broker, and the live notify-keyspace-events setting that says
// which ones to record; without either, a shard records none) and the memory
// bound it keeps (without one, none).
struct shard_context {
  caf::actor broker;
  notify_settings_ptr settings;
  memory::budget_ptr memory;
  // Where changes are recorded (the append-only file); without it, nowhere.
  persistence::aof_link_ptr aof;
  // Where changes are counted (for `save` rules) and write refusals come from.
  persistence::status_ptr persistence;
  // Whether keys are retired on time (DEBUG SET-ACTIVE-EXPIRE); without it,
  // always.
  expiry::active_expiry_ptr active_expiry;
  // Where slow expiry and eviction turns, resize steps and snapshot chunks are
  // recorded (LATENCY); without it, nowhere.
  metrics::latency_monitor_ptr latency;
  // When hashes leave their compact encoding (CONFIG SET); without it,
  // Redis's defaults.
  values::encoding_settings_ptr encodings;
  // Client-side caching: the bound on remembered keys, their totals, whether
  // anyone broadcasts; without it, nothing is remembered.
  tracking::settings_ptr tracking;
  // This shard's place in its engine: what a FLUSHALL of its keys records.
  std::uint32_t index = 0;
  std::uint32_t stairs = 1;
};

// (snapshot_atom, max keys) -> (frames, done): the next keys of this shard's
// snapshot as framed put records (see table::snapshot_chunk).
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

using shard_actor = caf::typed_actor<
  caf::replies_to<batch>::with<batch_result>,
  caf::replies_to<snapshot_atom, std::uint32_t>::with<std::string, bool>,
  caf::replies_to<handover>::with<batch_result>,
  caf::reacts_to<migrate_atom, migration_order>>;

// Where shard actors run.
enum class placement {
  // On the middleman's I/O thread, beside the gateways: a batch and its reply cost
  // no thread hop and no wake-up. Best on small machines (one or two cores).
  io_thread,
  // On CAF's work-stealing scheduler, in parallel with the I/O thread and each
  // other: scales across cores, at the price of a cross-thread hop per batch.
  scheduler,
};

// Parses "io" or "scheduler".
bool parse_placement(const std::string& text, placement& out);
const char* to_string(placement where);

// Spawns one shard actor with an empty table. `io_thread` needs the middleman
// module loaded into the actor system.
shard_actor spawn_shard(caf::actor_system& system, placement where,
                        shard_context context = {});

} // namespace stairkv::shard
