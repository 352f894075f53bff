#pragma once

// The messages of a resize between shards. An old shard hands its keys to the new
// shards as owned records, in batches, and forwards every later operation on its
// keys to the new shard that owns them, on the same channel: a key is therefore in
// exactly one place at every moment, and its operations reach that place in order.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "modules/shard/batch.hpp"
#include "modules/shard/record_set.hpp"
#include "modules/tracking/key_table.hpp"

namespace stairkv::shard {

using migrate_atom = caf::atom_constant<caf::atom("migrate")>;
using migrated_atom = caf::atom_constant<caf::atom("migrated")>;
using hand_over_atom = caf::atom_constant<caf::atom("handover")>;

// Records in transit. Whoever drops the last reference frees the records nobody
// adopted (a target that died, a message that was never delivered).
struct record_list {
  std::vector<record*> records;
  std::vector<std::uint8_t> dbs; // each record's database

  record_list() = default;
  record_list(const record_list&) = delete;
  record_list& operator=(const record_list&) = delete;
  ~record_list() {
    for (auto* r : records)
      if (r != nullptr)
        record_set::destroy(r);
  }
};

// What an old shard sends a new one: tracked keys and records first, then
// operations to run on them (any may be empty).
struct handover {
  std::shared_ptr<record_list> records;
  batch work;
  // The keys an old shard remembers for tracking clients, given at the start
  // of a resize so that their changes on the new shards are still announced.
  std::vector<tracking::tracked_key> tracked;
};

// Tells a shard of the old engine to move everything to the new one.
struct migration_order {
  std::vector<caf::actor> targets; // the new engine's shards, flat
  unsigned target_stairs = 0;
  unsigned source_stairs = 0;
  std::size_t source_index = 0; // this shard's place in the old engine
  caf::actor manager;           // told (migrated_atom, index, moved) when done
};

} // namespace stairkv::shard

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::shard::handover)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::shard::migration_order)
