// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, and Redis 7's functions (FUNCTION,
// FCALL, FCALL_RO): the script runs on the script
// runner (scripting/script_runner.hpp), and every command it calls comes back
// here to be planned, in the gateway's plan order. While a script runs, no
// other client's command is planned (they wait, unparsed, as under CLIENT
// PAUSE ALL, and the embedding API's requests wait too), so a script is one
// step for everyone else, whatever keys it touches, declared or not: what
// Redis's single thread gives, at the cost of serialising the node for the
// script's length.

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
// client's next commands are planned (or start the next script) at once.
void end_script(gateway_actor* self) {
  self->state.script_running = false;
  self->state.script_busy = false;
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

caf::result<std::string> plan_script_command(gateway_actor* self,
                                             std::vector<std::string> words,
                                             bool writes_allowed, bool allow_oom,
                                             int resp) {
  auto promise = self->make_response_promise<std::string>();
  const auto* spec = words.empty() ? nullptr : commands::find_command(words[0]);
  std::string refusal;
  if (spec == nullptr)
    refusal = "-ERR Unknown Redis command called from script\r\n";
  else if (!commands::arity_ok(*spec, words.size()))
    refusal = "-ERR Wrong number of args calling Redis command from script\r\n";
  else if (spec->run == nullptr) {
    std::string_view name = spec->name;
    if (name == "rename" || name == "renamenx" || name == "msetnx") {
      if (!writes_allowed) {
        refusal = "-ERR Write commands are not allowed from read-only scripts.\r\n";
      } else {
        // Read, then write, as for a client (multi_step_commands.cpp).
        args argv(words.begin(), words.end());
        auto slot = commands::stat_slot_of(*spec, argv);
        self->state.script_wrote = true;
        auto started = std::chrono::steady_clock::now();
        multi_step_from_script(self, argv, [self, promise, slot, started](std::string_view r) mutable {
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
        });
        return promise;
      }
    } else if (name == "debug") {
      args argv(words.begin(), words.end());
      if (auto answer = debug_from_script(self, argv, resp); !answer.empty()) {
        ++self->state.figures.calls[commands::stat_slot_of(*spec, argv)];
        promise.deliver(std::move(answer));
        return promise;
      }
    }
    if (refusal.empty())
      refusal = "-ERR This Redis command is not allowed from scripts\r\n";
  }
  else if ((spec->flags & commands::flag::write) != 0 && !writes_allowed)
    refusal = "-ERR Write commands are not allowed from read-only scripts.\r\n";
  auto& figures = self->state.figures;
  args argv(words.begin(), words.end());
  auto slot = spec != nullptr ? commands::stat_slot_of(*spec, argv) : 0;
  if (!refusal.empty()) {
    if (spec != nullptr)
      ++figures.rejected_calls[slot];
    figures.count_error(refusal);
    promise.deliver(std::move(refusal));
    return promise;
  }
  if ((spec->flags & commands::flag::write) != 0)
    self->state.script_wrote = true; // SCRIPT KILL cannot stop it any more
  auto work = make_own_plan(self);
  if (allow_oom)
    work->allow_growth();
  commands::client_context client; // the script reads the reply in its RESP
  client.resp_version = static_cast<decltype(client.resp_version)>(resp);
  auto started = std::chrono::steady_clock::now();
  auto outcome = commands::execute_command(*work, client, argv, spec);
  bool rejected = outcome == commands::outcome::rejected;
  if ((spec->flags & commands::flag::write) != 0)
    join_script_writes(self, *work);
  ++(rejected ? figures.rejected_calls : figures.calls)[slot];
  if ((spec->flags & commands::flag::write) != 0 && !self->state.watched_keys.empty())
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
  return promise;
}

} // namespace stairkv::gateway
