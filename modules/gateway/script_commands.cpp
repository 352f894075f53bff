// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, and Redis 7's functions (FUNCTION,
// FCALL, FCALL_RO): the script runs on the script runner
// (scripting/script_runner.hpp), and every command it calls comes back here to
// be planned, in the gateway's plan order, so a script is one step for every
// other client:
// - it holds the keys it declared (KEYS) from its start to its end, as a
//   multi-step command holds its keys: another client's command on one of
//   them waits, one on other keys is planned meanwhile;
// - its first call outside them (an undeclared key, or FLUSHALL, KEYS, SCAN
//   and the like) takes the whole store: every other client's next command
//   waits from then on, as under CLIENT PAUSE ALL, and so do the embedding
//   API's requests. The call goes behind every command planned before it,
//   and behind the multi-step commands and EXECs that hold its keys; what
//   was planned before only touched keys the script had not touched yet, so
//   it all comes before the script.
// One script runs at a time: another client's script waits for it.

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/memory/policy.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/script_runner.hpp"

namespace stairkv::gateway {

namespace {

// The script runner, while it runs (null once the node stops it).
caf::actor runner_of(gateway_actor* self) {
  return caf::actor_cast<caf::actor>(self->state.config.scripts);
}

// EVAL's and EVALSHA's arguments: the script (or its SHA1), KEYS and ARGV.
bool parse_script_call(const args& argv, bool function, std::vector<std::string>& keys,
                       std::vector<std::string>& values, std::string& error) {
  std::int64_t numkeys = 0;
  if (!protocol::parse_int64(argv[2], numkeys)) {
    error = function ? "ERR Bad number of keys provided"
                     : "ERR value is not an integer or out of range";
    return false;
  }
  if (numkeys < 0) {
    error = "ERR Number of keys can't be negative";
    return false;
  }
  if (static_cast<std::uint64_t>(numkeys) > argv.size() - 3) {
    error = "ERR Number of keys can't be greater than number of args";
    return false;
  }
  auto first_arg = 3 + static_cast<std::size_t>(numkeys);
  keys.assign(argv.begin() + 3, argv.begin() + static_cast<std::ptrdiff_t>(first_arg));
  values.assign(argv.begin() + static_cast<std::ptrdiff_t>(first_arg), argv.end());
  return true;
}

// Lets the clients a script held go on: all of them once it is busy (to be
// answered -BUSY); at its end, in the order they came, until one of them
// starts the next script (the rest wait on for that one, not parsed again).
void resume_script_waiters(gateway_actor* self, bool everyone) {
  auto& st = self->state;
  if (everyone) {
    std::vector<std::uint64_t> held(st.script_waiters.begin(), st.script_waiters.end());
    st.script_waiters.clear();
    resume_held_clients(self, held, &connection::waiting_for_script);
    return;
  }
  while (!st.script_waiters.empty() && !st.script_running) {
    std::vector<std::uint64_t> next{st.script_waiters.front()};
    st.script_waiters.pop_front();
    resume_held_clients(self, next, &connection::waiting_for_script);
  }
}

// A script has ended: if it wrote, the rest of its group's weight goes to the
// append-only file (an empty share), waited for as its shards' writes were,
// so that its reply acknowledges a file that holds all of them; then `next`.
template <class Next>
void close_script_group(gateway_actor* self, Next next) {
  auto& st = self->state;
  if (st.script_group == 0 || !st.config.aof_writer) {
    next();
    return;
  }
  persistence::journal closing;
  closing.enclose(0, st.script_group, persistence::whole_group - st.script_group_weight);
  st.script_group = 0;
  st.script_group_weight = 0;
  self->request(st.config.aof_writer, caf::infinite, persistence::append_sync_atom::value,
                closing.take())
    .then([next](bool) mutable { next(); }, [next](caf::error&) mutable { next(); });
}

// A script has ended: lowered before its reply goes out, so that its own
// client's next commands are planned (or start the next script) at once; the
// commands waiting for its keys go on.
void end_script(gateway_actor* self) {
  auto& st = self->state;
  st.script_running = false;
  st.script_busy = false;
  st.script_whole_store = false;
  st.script_in_exec = false;
  auto keys = std::move(st.script_keys);
  st.script_keys.clear();
  if (!keys.empty())
    release_keys(self, keys);
}

// Then everyone it held goes on, unless its own client has started the next
// script already (then they wait for that one).
void script_finished(gateway_actor* self) {
  resume_script_waiters(self, false);
  resume_front_requests(self);
}

enum class script_kind { eval, evalsha, fcall };

void run_script(gateway_actor* self, connection& conn, const args& argv,
                commands::plan& work, script_kind kind, bool read_only) {
  std::vector<std::string> keys, values;
  std::string error;
  if (!parse_script_call(argv, kind == script_kind::fcall, keys, values, error)) {
    work.add_reply(conn.context, protocol::errors::as_reply(error));
    return;
  }
  auto& st = self->state;
  auto runner = runner_of(self);
  if (!runner) {
    work.add_reply(conn.context, "-ERR scripting is not available\r\n");
    return;
  }
  // The script's reply does not take a slot in this cycle's plan: every other
  // reply of that plan would wait for the script. The plan answers with
  // nothing, and the reply is written on its own once the script ends, after
  // the client's earlier replies (its later commands wait meanwhile).
  // (Inside EXEC the reply takes its slot in the transaction's array.)
  std::function<void(std::string_view)> finish;
  if (conn.exec.active) {
    finish = begin_steps(self, conn, work);
  } else {
    work.add_reply(conn.context, "");
    conn.waiting_for_step = true;
    auto tag = conn.context.tag;
    finish = [self, tag](std::string_view reply) {
      auto it = find_client(self->state, tag);
      if (it != self->state.connections.end())
        write_when_answered(self, it->second, reply);
      resume_input(self, tag);
    };
  }
  st.script_running = true;
  st.script_busy = false;
  st.script_db = conn.context.db; // its calls' database (until it SELECTs)
  // Its read-only calls' keys are remembered for its caller, as in Redis.
  st.script_tracking_client = conn.context.tracking_client;
  st.script_tracking_what = conn.context.tracking_what;
  // Its calls run with its caller's permissions (ACL).
  st.script_caller = conn.context.tag;
  st.script_user = conn.user;
  // Run by an EXEC, whose held keys the script may name: the whole store at
  // once, as the EXEC's other commands do not wait for the script's calls.
  st.script_in_exec = conn.exec.active;
  st.script_whole_store = st.script_in_exec;
  if (!st.script_in_exec) {
    st.script_keys = keys;
    std::sort(st.script_keys.begin(), st.script_keys.end());
    st.script_keys.erase(std::unique(st.script_keys.begin(), st.script_keys.end()),
                         st.script_keys.end());
    hold_keys(self, st.script_keys);
  }
  st.script_wrote = false;
  st.script_is_function = kind == script_kind::fcall;
  st.script_call.assign(argv.begin(), argv.end());
  st.script_started = std::chrono::steady_clock::now();
  if (st.config.script_figures)
    st.config.script_figures->kill_requested.store(false, std::memory_order_relaxed);
  self->delayed_send(self,
                     std::chrono::milliseconds{st.config.settings->limits.busy_reply_threshold_ms},
                     script_busy_atom::value, ++st.script_serial);
  const auto* spec = commands::find_command(argv[0]);
  auto slot = spec != nullptr ? commands::stat_slot_of(*spec, argv) : 0;
  auto done = [self, finish, slot](std::string& reply, bool counted) mutable {
    if (!reply.empty() && reply.front() == '-') {
      if (!counted)
        self->state.figures.count_error(reply);
      ++self->state.figures.failed_calls[slot];
    }
    close_script_group(self, [self, finish, reply = std::move(reply)]() mutable {
      // The script has ended before its client goes on: that client's next
      // commands are not answered -BUSY.
      end_script(self);
      finish(reply);
      script_finished(self);
    });
  };
  auto failed = [self, finish](caf::error&) mutable {
    close_script_group(self, [self, finish]() mutable {
      end_script(self);
      finish("-ERR the script runner is gone\r\n");
      script_finished(self);
    });
  };
  int resp = conn.context.resp_version;
  std::string what{argv[1]};
  bool oom = work.refusing_growth(); // decided once as the plan began
  auto ask = [&](auto atom) {
    self->request(runner, caf::infinite, atom, std::move(what), std::move(keys),
                  std::move(values), resp, read_only, oom)
      .then(done, failed);
  };
  switch (kind) {
    case script_kind::eval:
      ask(scripting::eval_atom::value);
      break;
    case script_kind::evalsha:
      ask(scripting::evalsha_atom::value);
      break;
    case script_kind::fcall:
      ask(scripting::fcall_atom::value);
      break;
  }
}

// Asks the runner and answers the client with what it says.
template <class... Ts>
void ask_runner(gateway_actor* self, connection& conn, commands::plan& work, Ts&&... xs) {
  auto runner = runner_of(self);
  if (!runner) {
    work.add_reply(conn.context, "-ERR scripting is not available\r\n");
    return;
  }
  auto finish = begin_steps(self, conn, work);
  self->request(runner, caf::infinite, std::forward<Ts>(xs)...)
    .then([finish](std::string& reply) mutable { finish(reply); },
          [finish](caf::error&) mutable { finish("-ERR the script runner is gone\r\n"); });
}

// SCRIPT KILL and FUNCTION KILL: a script that has not written is stopped at
// its next instructions (its caller gets the error); one that has is not.
void kill_script(gateway_actor* self, connection& conn, commands::plan& work) {
  work.add_reply(conn.context, kill_running_script(self));
}

} // namespace

void join_script_writes(gateway_actor* self, commands::plan& work) {
  auto& st = self->state;
  if (!st.script_running || !st.config.aof_writer || work.busy_shards().empty())
    return;
  if (st.script_group == 0) {
    st.script_group = persistence::next_group_number();
    st.script_group_weight = 0;
  }
  work.join_group(st.script_group, 1);
  ++st.script_group_weight;
}

std::string kill_running_script(gateway_actor* self) {
  auto& st = self->state;
  if (!st.script_running)
    return "-NOTBUSY No scripts in execution right now.\r\n";
  if (st.script_wrote)
    return "-UNKILLABLE Sorry the script already executed write commands against the "
           "dataset. You can either wait the script termination or kill the server in a "
           "hard way using the SHUTDOWN NOSAVE command.\r\n";
  st.config.script_figures->kill_requested.store(true, std::memory_order_relaxed);
  return "+OK\r\n";
}

std::string answer_while_busy(gateway_actor* self, connection& conn,
                              const commands::command_spec* spec, const args& argv) {
  std::string_view name = spec != nullptr ? spec->name : "";
  bool function = self->state.script_is_function;
  int resp = conn.context.resp_version;
  // SCRIPT KILL stops a script, FUNCTION KILL a function; each answers BUSY
  // for the other kind, as in Redis.
  if (argv.size() == 2 && commands::to_lower(argv[1]) == "kill"
      && name == (function ? "function" : "script"))
    return kill_running_script(self);
  if (name == "function" && argv.size() == 2 && commands::to_lower(argv[1]) == "stats")
    return function_stats(self, resp);
  if (name == "shutdown" && argv.size() == 2 && commands::to_lower(argv[1]) == "nosave")
    return {};
  // Redis's allow-busy commands: they touch no key, and run.
  if (name == "multi" || name == "discard" || name == "watch" || name == "unwatch")
    return {};
  std::string busy{function ? busy_function_reply : busy_reply};
  // Inside MULTI, a refused command spoils the transaction (its EXEC aborts),
  // and a refused EXEC ends it, as in Redis.
  if (conn.transaction.active) {
    if (name == "exec") {
      conn.transaction = {};
      unwatch_all(self, conn);
      return "-EXECABORT Transaction discarded because of: " + busy.substr(1);
    }
    conn.transaction.aborted = true;
  }
  return busy;
}

std::string function_stats(gateway_actor* self, int resp) {
  auto& st = self->state;
  std::string out;
  protocol::reply_writer reply{out, resp};
  reply.map(2);
  reply.bulk("running_script");
  if (st.script_running) {
    reply.map(3);
    reply.bulk("name");
    reply.bulk(st.script_call.size() > 1 ? st.script_call[1] : std::string{});
    reply.bulk("command");
    reply.array(st.script_call.size());
    for (const auto& word : st.script_call)
      reply.bulk(word);
    reply.bulk("duration_ms");
    reply.integer(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - st.script_started)
                    .count());
  } else {
    reply.null();
  }
  const auto* figures = st.config.script_figures.get();
  reply.bulk("engines");
  reply.map(1);
  reply.bulk("LUA");
  reply.map(2);
  reply.bulk("libraries_count");
  reply.integer(figures != nullptr ? figures->libraries.load(std::memory_order_relaxed) : 0);
  reply.bulk("functions_count");
  reply.integer(figures != nullptr ? figures->functions.load(std::memory_order_relaxed) : 0);
  return out;
}

void script_turned_busy(gateway_actor* self, std::uint64_t serial) {
  auto& st = self->state;
  if (!st.script_running || serial != st.script_serial)
    return;
  st.script_busy = true;
  resume_script_waiters(self, true);
  // Those waiting for held keys are answered -BUSY too.
  auto waiting = std::move(st.key_waiters);
  st.key_waiters.clear();
  resume_held_clients(self, waiting, &connection::waiting_for_keys);
}

bool waits_for_script(gateway_actor* self, const connection& conn,
                      const commands::command_spec* spec) {
  if (self->state.script_whole_store)
    return true;
  if (spec == nullptr)
    return false;
  auto stops = [](std::string_view name) {
    return runs_script(name) || name == "script" || name == "function" || name == "save"
           || name == "bgsave" || name == "bgrewriteaof" || name == "shutdown"
           || name == "debug";
  };
  std::string_view name = spec->name;
  if (conn.transaction.active) {
    // Queuing runs nothing; EXEC runs what it queued.
    if (name != "exec")
      return false;
    return std::any_of(conn.transaction.queued.begin(), conn.transaction.queued.end(),
                       [&](const auto& queued) {
                         const auto* s = commands::find_command(queued[0]);
                         return s != nullptr && stops(s->name);
                       });
  }
  return stops(name);
}

void eval_command(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::eval, false);
}

void evalsha_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::evalsha, false);
}

void eval_ro_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::eval, true);
}

void evalsha_ro_command(gateway_actor* self, connection& conn, const args& argv,
                        commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::evalsha, true);
}

void fcall_command(gateway_actor* self, connection& conn, const args& argv,
                   commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::fcall, false);
}

void fcall_ro_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  run_script(self, conn, argv, work, script_kind::fcall, true);
}

void function_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  if (argv.size() == 2 && commands::to_lower(argv[1]) == "kill") {
    kill_script(self, conn, work);
    return;
  }
  if (argv.size() == 2 && commands::to_lower(argv[1]) == "stats") {
    work.add_reply(conn.context, function_stats(self, conn.context.resp_version));
    return;
  }
  // LOAD and RESTORE may grow memory: refused past maxmemory, as Redis's
  // deny-oom subcommands.
  auto sub = commands::to_lower(argv[1]);
  if ((sub == "load" || sub == "restore") && work.refusing_growth()) {
    work.add_reply(conn.context, protocol::errors::as_reply(std::string{memory::oom_error}));
    return;
  }
  std::vector<std::string> words(argv.begin(), argv.end());
  ask_runner(self, conn, work, scripting::function_atom::value, std::move(words),
             static_cast<int>(conn.context.resp_version));
}

void script_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  auto sub = commands::to_lower(argv[1]);
  if (sub == "load" && argv.size() == 3) {
    ask_runner(self, conn, work, scripting::load_atom::value, std::string{argv[2]});
  } else if (sub == "exists" && argv.size() >= 3) {
    std::vector<std::string> shas(argv.begin() + 2, argv.end());
    ask_runner(self, conn, work, scripting::exists_atom::value, std::move(shas));
  } else if (sub == "flush" && argv.size() <= 3) {
    if (argv.size() == 3) {
      auto how = commands::to_lower(argv[2]);
      if (how != "async" && how != "sync") {
        work.add_reply(conn.context,
                       "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
        return;
      }
    }
    ask_runner(self, conn, work, scripting::flush_atom::value);
  } else if (sub == "kill" && argv.size() == 2) {
    kill_script(self, conn, work);
  } else if (sub == "help" && argv.size() == 2) {
    std::string out;
    protocol::reply_writer reply{out, conn.context.resp_version};
    const char* lines[] = {
      "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache.",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache.",
      "KILL",
      "    Kill the currently executing Lua script.",
      "LOAD <script>",
      "    Load a script into the scripts cache without executing it.",
      "HELP",
      "    Print this help.",
    };
    reply.help(lines);
    work.add_reply(conn.context, out);
  } else {
    work.add_reply(conn.context,
                   protocol::errors::as_reply(
                     "ERR unknown subcommand or wrong number of arguments for '"
                     + std::string{argv[1]} + "'. Try SCRIPT HELP."));
  }
}

namespace {

using call_promise = caf::typed_response_promise<std::string>;

// Whether a call reaches past the script's declared keys: an undeclared key,
// or the whole key space.
bool leaves_declared_keys(const gateway_state& st, const commands::command_spec& spec,
                          const args& argv) {
  if (spans_key_space(spec.name))
    return true;
  return commands::visit_key_positions(spec, argv.size(), [&](std::size_t i) {
    return !std::binary_search(st.script_keys.begin(), st.script_keys.end(), argv[i]);
  });
}

// Whether a call names a key that something other than the script holds (a
// multi-step command, an EXEC), or reads the whole key space while anything
// else holds keys.
bool names_keys_held_by_others(const gateway_state& st, const commands::command_spec& spec,
                               const args& argv) {
  if (st.held_keys.empty())
    return false;
  auto others = [&](const std::string& key, int count) {
    return count > (std::binary_search(st.script_keys.begin(), st.script_keys.end(), key)
                      ? 1 : 0);
  };
  if (spans_key_space(spec.name))
    return std::any_of(st.held_keys.begin(), st.held_keys.end(),
                       [&](const auto& held) { return others(held.first, held.second); });
  return commands::visit_key_positions(spec, argv.size(), [&](std::size_t i) {
    std::string key{argv[i]};
    auto it = st.held_keys.find(key);
    return it != st.held_keys.end() && others(key, it->second);
  });
}

// Redis's refusal of a call (by its words), or "" when the script may make it.
std::string refusal_of(gateway_actor* self, const commands::command_spec* spec,
                       const args& argv, bool writes_allowed, int resp,
                       std::string& debug_answer) {
  if (spec == nullptr)
    return "-ERR Unknown Redis command called from script\r\n";
  if (!commands::arity_ok(*spec, argv.size()))
    return "-ERR Wrong number of args calling Redis command from script\r\n";
  std::string_view name = spec->name;
  bool writes = (spec->flags & commands::flag::write) != 0;
  if (spec->run == nullptr) {
    // Of the commands the gateway runs, scripts call these: RENAME, RENAMENX,
    // MSETNX and COPY as their steps (multi_step_commands.cpp), the set and
    // sorted-set commands over several keys, SORT, the pops that do not
    // block there, PUBLISH, and DEBUG
    // PROTOCOL and SLEEP once DEBUG SET-DISABLE-DENY-SCRIPTS allowed them.
    bool steps = name == "select" || name == "rename" || name == "renamenx"
                 || name == "msetnx" || name == "copy"
                 || name == "sinter" || name == "sunion" || name == "sdiff"
                 || name == "sinterstore" || name == "sunionstore" || name == "sdiffstore"
                 || name == "sintercard" || name == "smove" || name == "zunion"
                 || name == "zinter" || name == "zdiff" || name == "zunionstore"
                 || name == "zinterstore" || name == "zdiffstore" || name == "zintercard"
                 || name == "zrangestore" || name == "sort" || name == "sort_ro"
                 || (is_pop_command(name) && !blocks_outside_scripts(name));
    if (name == "debug")
      debug_answer = debug_from_script(self, argv, resp);
    if (!debug_answer.empty())
      return {};
    if (!steps && name != "publish")
      return "-ERR This Redis command is not allowed from scripts\r\n";
    // PUBLISH may replicate, which read-only scripts may not do (as Redis);
    // the read-only set commands read only.
    writes = name == "publish" || (spec->flags & commands::flag::write) != 0
             || name == "rename" || name == "renamenx" || name == "msetnx";
  }
  if (auto refusal = script_acl_refusal(self, argv, commands::stat_slot_of(*spec, argv));
      !refusal.empty())
    return refusal;
  if (writes && !writes_allowed)
    return "-ERR Write commands are not allowed from read-only scripts.\r\n";
  // Cluster mode: a call's keys must be this node's, as Redis 7 requires.
  if (self->state.config.cluster) {
    auto redirect = front_cluster_refusal(self, *spec, argv);
    if (redirect.rfind("-CROSSSLOT", 0) == 0)
      return "-ERR Script attempted to access keys that do not hash to the same slot\r\n";
    if (!redirect.empty() && redirect.rfind("-TRYAGAIN", 0) != 0)
      return "-ERR Script attempted to access a non local key in a cluster node\r\n";
  }
  return {};
}

// Makes a call the script may make, now or (past its declared keys, behind
// keys others hold) once those are let go.
void make_call(gateway_actor* self, const commands::command_spec* spec,
               std::vector<std::string> words, bool allow_oom, int resp,
               call_promise promise) {
  auto& st = self->state;
  args argv(words.begin(), words.end());
  if (!st.script_whole_store && leaves_declared_keys(st, *spec, argv))
    st.script_whole_store = true; // every other client's next command waits
  if (st.script_whole_store) {
    // Behind every command planned so far, and every one holding its keys.
    dispatch(self);
    if (!st.script_in_exec && names_keys_held_by_others(st, *spec, argv)) {
      st.script_deferred_call = [self, spec, words = std::move(words), allow_oom, resp,
                                 promise]() mutable {
        make_call(self, spec, std::move(words), allow_oom, resp, std::move(promise));
      };
      return;
    }
  }
  auto& figures = st.figures;
  auto slot = commands::stat_slot_of(*spec, argv);
  bool writes = (spec->flags & commands::flag::write) != 0;
  auto started = std::chrono::steady_clock::now();
  step_database = st.script_db;
  if (spec->run == nullptr) {
    // PUBLISH; RENAME, RENAMENX, MSETNX, COPY: read, then write, as for a client.
    auto answered = [self, promise, slot, started](std::string_view r) mutable {
      auto& figures = self->state.figures;
      ++figures.calls[slot];
      if (!r.empty() && r.front() == '-') {
        figures.count_error(r);
        ++figures.failed_calls[slot];
      }
      figures.nanos[slot] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
      promise.deliver(std::string{r});
    };
    if (std::string_view{spec->name} == "publish") {
      publish_from_script(self, argv, std::move(answered));
      return;
    }
    if (std::string_view{spec->name} == "select") {
      // The script's own database from here on; its caller's stays (Redis 7).
      const auto& map = *st.config.databases;
      unsigned n = 0;
      std::string_view error;
      if (!map.read_number(argv[1], n, error)) {
        answered(protocol::errors::as_reply(error));
        return;
      }
      st.script_db = map.physical(n);
      answered("+OK\r\n");
      return;
    }
    if (writes)
      st.script_wrote = true;
    if (!set_steps_from_script(self, argv, resp, answered)
        && !zset_steps_from_script(self, argv, resp, answered)
        && !sort_from_script(self, argv, resp, answered)
        && !blocking_from_script(self, argv, resp, answered))
      multi_step_from_script(self, argv, std::move(answered));
    return;
  }
  if (writes)
    st.script_wrote = true; // SCRIPT KILL cannot stop it any more
  auto work = make_own_plan(self);
  if (allow_oom)
    work->allow_growth();
  commands::client_context client; // the script reads the reply in its RESP
  client.resp_version = static_cast<decltype(client.resp_version)>(resp);
  client.db = st.script_db;
  client.databases = st.config.databases.get();
  client.tracking_client = st.script_tracking_client;
  client.tracking_what = st.script_tracking_what;
  auto outcome = commands::execute_command(*work, client, argv, spec);
  bool rejected = outcome == commands::outcome::rejected;
  if (writes)
    join_script_writes(self, *work);
  ++(rejected ? figures.rejected_calls : figures.calls)[slot];
  if (writes && !st.watched_keys.empty())
    touch_watched_keys(self, *spec, argv);
  // INFO commandstats and errorstats count the commands scripts call, as Redis.
  submit_own_plan(self, std::move(work),
                  [self, promise, slot, rejected, started](const commands::plan& done) mutable {
                    std::string reply;
                    done.write_reply(0, reply, nullptr);
                    auto& figures = self->state.figures;
                    if (!reply.empty() && reply.front() == '-') {
                      figures.count_error(reply);
                      if (!rejected)
                        ++figures.failed_calls[slot];
                    }
                    figures.nanos[slot] += std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count();
                    promise.deliver(std::move(reply));
                  });
}

} // namespace

caf::result<std::string> plan_script_command(gateway_actor* self,
                                             std::vector<std::string> words,
                                             bool writes_allowed, bool allow_oom,
                                             int resp) {
  auto promise = self->make_response_promise<std::string>();
  const auto* spec = words.empty() ? nullptr : commands::find_command(words[0]);
  args argv(words.begin(), words.end());
  std::string debug_answer; // DEBUG PROTOCOL and SLEEP: answered at once
  auto refusal = refusal_of(self, spec, argv, writes_allowed, resp, debug_answer);
  auto& figures = self->state.figures;
  if (!refusal.empty()) {
    if (spec != nullptr)
      ++figures.rejected_calls[commands::stat_slot_of(*spec, argv)];
    figures.count_error(refusal);
    promise.deliver(std::move(refusal));
    return promise;
  }
  if (!debug_answer.empty()) {
    ++figures.calls[commands::stat_slot_of(*spec, argv)];
    promise.deliver(std::move(debug_answer));
    return promise;
  }
  make_call(self, spec, std::move(words), allow_oom, resp, std::move(promise));
  return promise;
}

} // namespace stairkv::gateway
