#pragma once

// Snapshots and AOF rewrites, without fork and without stopping the world. The
// saver (an actor on its own thread: it writes files) holds the engine still (no
// resize starts meanwhile, see engine_manager's hold), then asks every shard for
// its keys a chunk at a time; between chunks the shards serve requests as usual.
// The records go to a temporary file in `dir`, which is synced and renamed into
// place, so a crash never leaves half a snapshot where a whole one was.
//
// A snapshot is a file of the append-only file's format: a header, then one put
// record per key. Each key is written with its value at the moment its shard
// wrote it (not one instant for all keys, as fork gives Redis). For an AOF
// rewrite that is exactly enough: the writer keeps a copy of everything appended
// from the moment the rewrite began, and appends it to the new file before that
// file replaces the old one, so every change made while keys were being written
// comes after them. Records leave states, not commands, so replaying a change
// over a key written after it changes nothing.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "modules/engine_manager/engine_manager.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/function_catalog.hpp"

namespace stairkv::persistence {

// (save_atom) -> std::string: the reply of SAVE, once the snapshot is on disk.
using save_atom = caf::atom_constant<caf::atom("save")>;
// (bgsave_atom) -> std::string: the reply of BGSAVE, at once.
using bgsave_atom = caf::atom_constant<caf::atom("bgsave")>;
// (bgrewrite_atom) -> std::string: the reply of BGREWRITEAOF, at once.
using bgrewrite_atom = caf::atom_constant<caf::atom("bgrewrite")>;

// (save_rules_atom, std::string rules): new `save` rules (CONFIG SET save).
using save_rules_atom = caf::atom_constant<caf::atom("saverules")>;

// Redis's `save` rules: after `seconds` seconds if at least `changes` changes.
using save_rules = std::vector<std::pair<std::int64_t, std::int64_t>>;

// Parses "3600 1 300 100" (pairs) or "" (no automatic snapshots).
bool parse_save_rules(const std::string& text, save_rules& out);
std::string to_string(const save_rules& rules);

struct saver_config {
  engine_manager::manager_actor manager;
  caf::actor aof_writer; // none without the append-only file
  status_ptr figures;
  std::string dir = ".";
  std::string dbfilename = "dump.stkv";
  std::string appendfilename = "appendonly.aof";
  save_rules rules;
  std::function<void(const std::string&)> log;
  // Slow snapshot writes go here (LATENCY "snapshot-write"); null: nowhere.
  metrics::latency_monitor_ptr latency;
  // The function libraries every file written gets (null: none).
  function_catalog_ptr functions;
  // The node's numbering of its databases now (a DatabaseMap's bytes), written
  // after the keys: read at the end of the walk, so that a SWAPDB made since a
  // rewrite began is in the file either way. Null: none written.
  std::function<std::string()> databases;
};

caf::actor spawn_saver(caf::actor_system& system, saver_config config);

} // namespace stairkv::persistence
