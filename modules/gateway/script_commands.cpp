// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the script runs on the script
// runner (scripting/script_runner.hpp), and every command it calls comes back
// here to be planned, in the gateway's plan order. While a script runs, no
// other client's command is planned (they wait, unparsed, as under CLIENT
// PAUSE ALL, and the embedding API's requests wait too), so a script is one
// step for everyone else, whatever keys it touches, declared or not: what
// Redis's single thread gives, at the cost of serialising the node for the
// script's length.

#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/script_runner.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

// EVAL's and EVALSHA's arguments: the script (or its SHA1), KEYS and ARGV.
bool parse_script_call(const args& argv, std::vector<std::string>& keys,
                       std::vector<std::string>& values, std::string& error) {
  std::int64_t numkeys = 0;
  if (!protocol::parse_int64(argv[2], numkeys)) {
    error = "ERR value is not an integer or out of range";
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

// Ends a script: its reply goes out, and everyone it held goes on.
void script_finished(gateway_actor* self) {
  auto& st = self->state;
  st.script_running = false;
  std::vector<std::uint64_t> held;
  for (const auto& [handle, conn] : st.connections)
    if (conn.waiting_for_script)
      held.push_back(conn.context.tag);
  resume_held_clients(self, held, &connection::waiting_for_script);
  resume_front_requests(self);
}

void run_script(gateway_actor* self, connection& conn, const args& argv,
                commands::plan& work, bool by_sha, bool read_only) {
  std::vector<std::string> keys, values;
  std::string error;
  if (!parse_script_call(argv, keys, values, error)) {
    work.add_reply(conn.context, protocol::errors::as_reply(error));
    return;
  }
  auto& st = self->state;
  if (!st.config.scripts) {
    work.add_reply(conn.context, "-ERR scripting is not available\r\n");
    return;
  }
  auto finish = begin_steps(self, conn, work);
  st.script_running = true;
  st.script_read_only = read_only;
  auto done = [self, finish](std::string& reply) mutable {
    finish(reply);
    script_finished(self);
  };
  auto failed = [self, finish](caf::error&) mutable {
    finish("-ERR the script runner is gone\r\n");
    script_finished(self);
  };
  int resp = conn.context.resp_version;
  if (by_sha)
    self->request(st.config.scripts, caf::infinite, scripting::evalsha_atom::value,
                  std::string{argv[1]}, std::move(keys), std::move(values), resp)
      .then(done, failed);
  else
    self->request(st.config.scripts, caf::infinite, scripting::eval_atom::value,
                  std::string{argv[1]}, std::move(keys), std::move(values), resp)
      .then(done, failed);
}

// Asks the runner and answers the client with what it says.
template <class... Ts>
void ask_runner(gateway_actor* self, connection& conn, commands::plan& work, Ts&&... xs) {
  auto finish = begin_steps(self, conn, work);
  self->request(self->state.config.scripts, caf::infinite, std::forward<Ts>(xs)...)
    .then([finish](std::string& reply) mutable { finish(reply); },
          [finish](caf::error&) mutable { finish("-ERR the script runner is gone\r\n"); });
}

} // namespace

void eval_command(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work) {
  run_script(self, conn, argv, work, false, false);
}

void evalsha_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  run_script(self, conn, argv, work, true, false);
}

void eval_ro_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  run_script(self, conn, argv, work, false, true);
}

void evalsha_ro_command(gateway_actor* self, connection& conn, const args& argv,
                        commands::plan& work) {
  run_script(self, conn, argv, work, true, true);
}

void script_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  auto sub = commands::to_lower(argv[1]);
  if (!self->state.config.scripts) {
    work.add_reply(conn.context, "-ERR scripting is not available\r\n");
    return;
  }
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
    work.add_reply(conn.context, "-NOTBUSY No scripts in execution right now.\r\n");
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
    reply.array(std::size(lines));
    for (const auto* line : lines)
      reply.simple(line);
    work.add_reply(conn.context, out);
  } else {
    work.add_reply(conn.context,
                   protocol::errors::as_reply(
                     "ERR unknown subcommand or wrong number of arguments for '"
                     + std::string{argv[1]} + "'. Try SCRIPT HELP."));
  }
}

caf::result<std::string> plan_script_command(gateway_actor* self,
                                             std::vector<std::string> words) {
  auto promise = self->make_response_promise<std::string>();
  const auto* spec = words.empty() ? nullptr : commands::find_command(words[0]);
  std::string refusal;
  if (spec == nullptr)
    refusal = "-ERR Unknown Redis command called from script\r\n";
  else if (!commands::arity_ok(*spec, words.size()))
    refusal = "-ERR Wrong number of args calling Redis command from script\r\n";
  else if (spec->run == nullptr)
    refusal = "-ERR This Redis command is not allowed from scripts\r\n";
  else if ((spec->flags & commands::flag::write) != 0 && self->state.script_read_only)
    refusal = "-ERR Write commands are not allowed from read-only scripts.\r\n";
  if (!refusal.empty()) {
    promise.deliver(std::move(refusal));
    return promise;
  }
  auto work = make_own_plan(self);
  args argv(words.begin(), words.end());
  commands::client_context client; // RESP2: the script reads the reply
  commands::execute_command(*work, client, argv, spec);
  if ((spec->flags & commands::flag::write) != 0 && !self->state.watched_keys.empty())
    touch_watched_keys(self, *spec, argv);
  submit_own_plan(self, std::move(work), [promise](const commands::plan& done) mutable {
    std::string reply;
    done.write_reply(0, reply, nullptr);
    promise.deliver(std::move(reply));
  });
  return promise;
}

} // namespace stairkv::gateway
