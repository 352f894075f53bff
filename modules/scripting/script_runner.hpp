#pragma once

// The script runner: an actor on a thread of its own that holds the Lua
// interpreter (lua_engine.hpp) and runs one script at a time. A script's
// redis.call goes back to the actor that asked for the script (the gateway),
// as (call_atom, argv, bool writes_allowed, bool allow_oom, int resp) -> the
// command's reply in RESP `resp` (redis.setresp), and
// the runner waits for
// the answer: the gateway plans every command of a script in its own plan
// order, and the script stays plain sequential Lua (pcall works around
// redis.call, which coroutines would not allow in Lua 5.1).
//
// Messages:
//   (eval_atom, string body, vector<string> keys, vector<string> args, int resp,
//    bool read_only, bool oom) -> (string reply (RESP), bool counted): EVAL /
//    EVAL_RO, compiling the body; `oom`: the node is past maxmemory now;
//    `counted`: the reply is the error of a command the script called, which
//    INFO errorstats counted already
//   (evalsha_atom, string sha, ... the same) -> the same: EVALSHA (NOSCRIPT
//    when the script is not kept)
//   (fcall_atom, string function, ... the same) -> the same: FCALL / FCALL_RO
//   (function_atom, vector<string> argv, int resp) -> string reply: FUNCTION ...
//   (load_atom, string body) -> string reply: SCRIPT LOAD
//   (exists_atom, vector<string> shas) -> string reply: SCRIPT EXISTS
//   (flush_atom) -> string reply: SCRIPT FLUSH

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "modules/persistence/function_catalog.hpp"

namespace stairkv::scripting {

using eval_atom = caf::atom_constant<caf::atom("eval")>;
using evalsha_atom = caf::atom_constant<caf::atom("evalsha")>;
using load_atom = caf::atom_constant<caf::atom("sload")>;
using exists_atom = caf::atom_constant<caf::atom("sexists")>;
using flush_atom = caf::atom_constant<caf::atom("sflush")>;
using call_atom = caf::atom_constant<caf::atom("scall")>;
using fcall_atom = caf::atom_constant<caf::atom("fcall")>;
using function_atom = caf::atom_constant<caf::atom("function")>;
// (acl_check_atom, argv) -> string: ":1" when the running script's user may
// run argv, ":0" when not, an error reply for an unknown command
// (redis.acl_check_cmd).
using acl_check_atom = caf::atom_constant<caf::atom("aclcheck")>;

// What INFO shows of the scripts, kept current by the runner.
struct script_figures {
  std::atomic<std::int64_t> cached{0};       // number_of_cached_scripts
  std::atomic<std::int64_t> lua_memory{0};   // used_memory_lua
  std::atomic<std::int64_t> scripts_memory{0}; // used_memory_scripts: the bodies
  std::atomic<std::int64_t> libraries{0};      // FUNCTION STATS, INFO
  std::atomic<std::int64_t> functions{0};
  std::atomic<std::int64_t> functions_memory{0}; // used_memory_functions: the codes
  // SCRIPT KILL / FUNCTION KILL: set by the gateway, read by the running
  // script's hook; cleared when a script starts.
  std::atomic<bool> kill_requested{false};
};

using script_figures_ptr = std::shared_ptr<script_figures>;

// Where the function libraries are kept with the data: the catalog snapshots
// write (its libraries are loaded when the runner starts), and the
// append-only file's writer (none without appendonly), which gets the whole
// set after every change.
struct function_persistence {
  persistence::function_catalog_ptr catalog;
  caf::actor aof_writer;
};

caf::actor spawn_script_runner(caf::actor_system& system, script_figures_ptr figures,
                               std::function<void(int, const std::string&)> log,
                               function_persistence kept = {}, bool cluster_mode = false);

} // namespace stairkv::scripting
