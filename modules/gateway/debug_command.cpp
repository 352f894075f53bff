// DEBUG: what Redis's tests and operators use to look inside the node and to
// provoke it, refused unless enable-debug-command allows the client (Redis 7's
// gate: "no" by default, "yes", or "local" for loopback clients).
//
// DEBUG SLEEP holds the gateway's thread, as it holds Redis's one thread.
// RELOAD and LOADAOF run as steps (steps.hpp): the node empties its shards and
// plays the file back through them, while other clients are served and see
// the keys come back. The file is read whole before the shards are emptied.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/function_dump.hpp"
#include "modules/scripting/script_runner.hpp"
#include "modules/shard/batch.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

using commands::equals_ignoring_case;

constexpr const char* help_lines[] = {
  "DEBUG <subcommand> [<arg> ...]. Subcommands are:",
  "DIGEST",
  "    40 hex digits that change whenever any key, value or deadline changes",
  "    (all zeros for an empty node).",
  "DIGEST-VALUE <key> [<key> ...]",
  "    The digest of each key's value alone.",
  "OBJECT <key>",
  "    What the key's record says: address, encoding, idle time.",
  "POPULATE <count> [<prefix>] [<size>]",
  "    Creates keys <prefix>:0 .. <prefix>:<count-1> (prefix 'key') with values",
  "    'value:<n>' (cut or zero-padded to <size> bytes) where they do not exist.",
  "RELOAD [NOSAVE] [NOFLUSH] [MERGE]",
  "    Saves a snapshot, empties the node and loads the snapshot back.",
  "LOADAOF",
  "    Writes the append-only file out, empties the node and loads the file back.",
  "SET-ACTIVE-EXPIRE <0|1>",
  "    Whether keys are retired on time (0: only when touched).",
  "SLEEP <seconds>",
  "    Holds the node's network thread that long (fractions allowed).",
  "PROTOCOL <type>",
  "    A reply of one RESP type: string, integer, double, bignum, null, array, set,",
  "    map, attrib, push, verbatim, true or false.",
  "LOG <message>",
  "    Writes the message to the node's log.",
  "SET-DISABLE-DENY-SCRIPTS <0|1>",
  "    Whether scripts may call DEBUG PROTOCOL and DEBUG SLEEP (1: yes).",
  "PAUSE-CRON <0|1>",
  "    Stops (1) or restarts (0) the once-a-second work: idle timeouts, rates.",
  "CHANGE-REPL-ID | JMAP | REPLYBUFFER <option> <value> |",
  "QUICKLIST-PACKED-THRESHOLD <size>",
  "    Accepted for Redis's tests; nothing here depends on them yet.",
  "HELP",
  "    This text.",
};

constexpr std::string_view ok = "+OK\r\n";

// Replays run in chunks of this many steps: one plan each, so other clients'
// commands interleave and no plan grows without bound.
constexpr std::size_t replay_chunk = 4096;

// Whether the client's peer is the loopback interface.
bool is_local(const connection& conn) {
  auto host = std::string_view{conn.addr}.substr(0, conn.addr.rfind(':'));
  return host == "127.0.0.1" || host == "::1" || host == "[::1]";
}

std::string refusal() {
  return "ERR DEBUG command not allowed. If the enable-debug-command option is set "
         "to \"local\", you can run it from a local connection, otherwise you need "
         "to set this option in the configuration file, and then restart the "
         "server.";
}

std::string setting(gateway_actor* self, std::string_view name) {
  const auto* s = self->state.config.settings->find(name);
  return s != nullptr ? s->get() : std::string{};
}

// A stepped subcommand's reply slot (steps.hpp); `logged` goes to the log when
// it answers +OK.
auto begin_logged_steps(gateway_actor* self, connection& conn, commands::plan& work,
                        const char* logged) {
  auto finish = begin_steps(self, conn, work);
  auto log = self->state.config.log;
  return [finish, log, logged](std::string_view resp) mutable {
    if (log && resp == ok)
      log(logged);
    finish(resp);
  };
}

// Plays `steps` back through the shards from `next` on, a chunk per plan, then
// calls `finish` with +OK.
template <class Finish>
void replay(gateway_actor* self,
            std::shared_ptr<const std::vector<persistence::replay_step>> steps,
            std::size_t next, Finish finish) {
  if (next >= steps->size()) {
    finish(ok);
    return;
  }
  plan_step(
    self,
    [&](commands::plan& p) {
      auto end = std::min(steps->size(), next + replay_chunk);
      for (auto i = next; i < end; ++i)
        commands::plan_replay_step(p, hidden_client(), (*steps)[i]);
    },
    [self, steps, next, finish](commands::plan&, std::size_t) mutable {
      replay(self, steps, next + replay_chunk, finish);
    });
}

// Empties the node's keys (unless `flush` is false), then replays `ready`.
template <class Finish>
void load_keys_back(gateway_actor* self,
                    std::shared_ptr<const std::vector<persistence::replay_step>> ready,
                    bool flush, Finish finish) {
  if (!flush) {
    replay(self, ready, 0, finish);
    return;
  }
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& rec = p.open(hidden_client(), commands::plan::merge::all_ok);
      p.route_to_all(rec, shard::op_code::flush_all);
    },
    [self, ready, finish](commands::plan&, std::size_t) mutable {
      replay(self, ready, 0, finish);
    });
}


// The function libraries a loaded file held go to the script runner: in
// place of the node's (flush), beside them (merge: the file's win), or beside
// them with a library met twice an error. Then `next`, or `finish` with the
// error.
template <class Next, class Finish>
void load_functions(gateway_actor* self, std::vector<std::string> codes, bool flush,
                    bool merge, Next next, Finish finish) {
  auto runner = caf::actor_cast<caf::actor>(self->state.config.scripts);
  if (!runner || (!flush && codes.empty())) {
    next();
    return;
  }
  std::vector<std::string> argv{"function", "restore", scripting::dump_libraries(codes),
                                flush ? "flush" : merge ? "replace" : "append"};
  self->request(runner, caf::infinite, scripting::function_atom::value, std::move(argv), 2)
    .then(
      [next, finish](std::string& reply) mutable {
        if (!reply.empty() && reply[0] == '-')
          finish("-ERR Error trying to load the RDB dump: " + reply.substr(1));
        else
          next();
      },
      [finish](caf::error&) mutable { finish("-ERR the script runner did not answer\r\n"); });
}

// Empties the node (unless `flush` is false), then loads `path` back.
template <class Finish>
void load_back(gateway_actor* self, const std::string& path, bool flush, bool merge,
               Finish finish) {
  auto steps = std::make_shared<std::vector<persistence::replay_step>>();
  auto now = shard::unix_now_ms();
  std::vector<std::string> functions;
  auto loaded = persistence::load_aof(path, [&](const persistence::AofRecord& r) {
    if (r.has_functions()) {
      functions.assign(r.functions().code().begin(), r.functions().code().end());
      return;
    }
    auto step = persistence::replay_step_of(r, now);
    if (!step.skip)
      steps->push_back(std::move(step));
  });
  if (loaded.outcome == persistence::load_outcome::corrupt
      || loaded.outcome == persistence::load_outcome::missing) {
    finish(protocol::errors::as_reply("ERR Error trying to load " + path
                                      + (loaded.message.empty() ? "" : ": " + loaded.message)));
    return;
  }
  std::shared_ptr<const std::vector<persistence::replay_step>> loaded_steps = std::move(steps);
  load_functions(
    self, std::move(functions), flush, merge,
    [self, loaded_steps, flush, finish]() mutable {
      load_keys_back(self, loaded_steps, flush, finish);
    },
    finish);
}
// DEBUG RELOAD [NOSAVE] [NOFLUSH] [MERGE]
void reload(gateway_actor* self, connection& conn, const args& argv,
            commands::plan& work) {
  bool save = true;
  bool flush = true;
  bool merge = false;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    if (equals_ignoring_case(argv[i], "nosave"))
      save = false;
    else if (equals_ignoring_case(argv[i], "noflush"))
      flush = false;
    else if (equals_ignoring_case(argv[i], "merge"))
      merge = true;
    else {
      work.add_reply(conn.context,
                     "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                     "options.\r\n");
      return;
    }
  }
  const auto& saver = self->state.config.saver;
  if (!saver) {
    work.add_reply(conn.context, "-ERR this node has no persistence\r\n");
    return;
  }
  auto path = setting(self, "dir") + "/" + setting(self, "dbfilename");
  auto done = begin_logged_steps(self, conn, work, "DB reloaded by DEBUG RELOAD");
  if (!save) {
    load_back(self, path, flush, merge, done);
    return;
  }
  self->request(saver, caf::infinite, persistence::save_atom::value)
    .then(
      [self, path, flush, merge, done](std::string& reply) mutable {
        if (reply != ok)
          done(reply);
        else
          load_back(self, path, flush, merge, done);
      },
      [done](caf::error&) mutable { done("-ERR the saver did not answer\r\n"); });
}

// DEBUG LOADAOF: what the writer holds goes to disk first.
void loadaof(gateway_actor* self, connection& conn, commands::plan& work) {
  const auto& writer = self->state.config.aof_writer;
  if (!writer) {
    work.add_reply(conn.context, "-ERR DEBUG LOADAOF needs appendonly yes\r\n");
    return;
  }
  auto path = setting(self, "dir") + "/" + setting(self, "appendfilename");
  auto done = begin_logged_steps(self, conn, work, "Append Only File loaded by DEBUG LOADAOF");
  self->request(writer, caf::infinite, persistence::append_sync_atom::value, std::string{})
    .then([self, path, done](bool) mutable { load_back(self, path, true, false, done); },
          [done](caf::error&) mutable {
            done("-ERR the append-only file could not be written\r\n");
          });
}

// DEBUG POPULATE count [prefix] [size]: SET NX in chunks, one plan each.
void populate_from(gateway_actor* self, std::shared_ptr<const std::string> prefix,
                   std::int64_t size, std::int64_t next, std::int64_t count,
                   std::function<void(std::string_view)> finish) {
  if (next >= count) {
    finish(ok);
    return;
  }
  auto end = std::min<std::int64_t>(count, next + static_cast<std::int64_t>(replay_chunk));
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& rec = p.open(hidden_client(), commands::plan::merge::all_ok);
      std::string key;
      std::string value;
      for (auto i = next; i < end; ++i) {
        key.assign(*prefix).append(":").append(std::to_string(i));
        value.assign("value:").append(std::to_string(i));
        if (size > 0)
          value.resize(static_cast<std::size_t>(size), '\0');
        p.route(rec, shard::op_code::set, key, value,
                shard::set_args{shard::no_deadline, shard::set_flag::only_if_absent});
      }
    },
    [self, prefix, size, end, count, finish](commands::plan& p, std::size_t first) mutable {
      auto written = reply_of(p, first);
      if (written.front() == '-') {
        finish(written);
        return;
      }
      populate_from(self, prefix, size, end, count, finish);
    });
}

void populate(gateway_actor* self, connection& conn, const args& argv,
              commands::plan& work) {
  std::int64_t count = 0;
  std::int64_t size = 0;
  if (argv.size() > 5) {
    work.add_reply(conn.context, protocol::errors::as_reply(
                                   protocol::errors::wrong_arity("debug|populate")));
    return;
  }
  if (!protocol::parse_int64(argv[2], count) || count < 0
      || (argv.size() == 5 && (!protocol::parse_int64(argv[4], size) || size < 0))) {
    work.add_reply(conn.context,
                   "-ERR value is out of range, must be positive\r\n");
    return;
  }
  auto prefix = std::make_shared<const std::string>(argv.size() >= 4 ? std::string{argv[3]}
                                                                     : "key");
  auto finish = begin_steps(self, conn, work);
  populate_from(self, prefix, size, 0, count, finish);
}

// DEBUG PROTOCOL type: one reply of each RESP type, as Redis's tests expect.
std::string protocol_sample(std::string_view type, int resp_version) {
  std::string reply;
  protocol::reply_writer out{reply, resp_version};
  bool resp3 = resp_version >= 3;
  auto is = [&](const char* name) { return equals_ignoring_case(type, name); };
  if (is("string")) {
    out.bulk("Hello World");
  } else if (is("integer")) {
    out.integer(12345);
  } else if (is("double")) {
    out.double_value(3.141);
  } else if (is("bignum")) {
    constexpr std::string_view big = "1234567999999999999999999999999999999";
    if (resp3)
      reply.append("(").append(big).append("\r\n");
    else
      out.bulk(big);
  } else if (is("null")) {
    out.null();
  } else if (is("array") || is("set")) {
    if (is("array"))
      out.array(3);
    else
      out.set(3);
    for (int i = 0; i < 3; ++i)
      out.integer(i);
  } else if (is("map")) {
    out.map(3);
    for (int i = 0; i < 3; ++i) {
      out.integer(i);
      out.boolean(i == 1);
    }
  } else if (is("attrib")) {
    if (resp3) {
      reply.append("|1\r\n");
      out.bulk("key-popularity");
      out.array(2);
      out.bulk("key:123");
      out.integer(90);
    }
    out.bulk("Some real reply following the attribute");
  } else if (is("push")) {
    if (!resp3)
      return protocol::errors::as_reply("ERR RESP2 is not supported by this command");
    out.push(2);
    out.bulk("server-cpu-usage");
    out.integer(42);
    out.bulk("Some real reply following the push reply");
  } else if (is("true") || is("false")) {
    out.boolean(is("true"));
  } else if (is("verbatim")) {
    out.verbatim("This is a verbatim\nstring");
  } else {
    return protocol::errors::as_reply(
      "ERR Wrong protocol type name. Please use one of the following: "
      "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
  }
  return reply;
}

// 0 or 1 as Redis reads them (atoi: anything else counts as its number).
bool flag_of(std::string_view text) {
  return std::atoi(std::string{text}.c_str()) != 0;
}

} // namespace

void debug_command(gateway_actor* self, connection& conn, const args& argv,
                   commands::plan& work) {
  auto access = self->state.config.debug;
  if (access == debug_access::no || (access == debug_access::local && !is_local(conn))) {
    work.add_reply(conn.context, protocol::errors::as_reply(refusal()));
    return;
  }
  auto sub = argv[1];
  auto n = argv.size();
  auto is = [&](const char* name) { return equals_ignoring_case(sub, name); };
  auto reply = [&](std::string_view resp) { work.add_reply(conn.context, resp); };
  if (is("help") && n == 2) {
    std::string out;
    protocol::reply_writer w{out, conn.context.resp_version};
    w.help(help_lines);
    reply(out);
  } else if (is("sleep") && n == 3) {
    auto seconds = std::strtod(std::string{argv[2]}.c_str(), nullptr);
    if (seconds > 0)
      std::this_thread::sleep_for(std::chrono::microseconds{
        static_cast<std::int64_t>(seconds * 1e6)});
    reply(ok);
  } else if (is("set-active-expire") && n == 3) {
    if (const auto& active = self->state.config.active_expiry)
      active->on.store(flag_of(argv[2]), std::memory_order_relaxed);
    reply(ok);
  } else if (is("object") && n == 3) {
    auto& rec = work.open(conn.context, commands::plan::merge::single);
    work.route(rec, shard::op_code::object, argv[2], {},
               shard::object_args{shard::object_view::debug});
  } else if (is("digest") && n == 2) {
    auto& rec = work.open(conn.context, commands::plan::merge::digest);
    work.route_to_all(rec, shard::op_code::digest);
  } else if (is("digest-value") && n >= 2) {
    auto& rec = work.open(conn.context, commands::plan::merge::array);
    for (std::size_t i = 2; i < n; ++i)
      work.route(rec, shard::op_code::digest_value, argv[i]);
  } else if (is("protocol") && n == 3) {
    reply(protocol_sample(argv[2], conn.context.resp_version));
  } else if (is("populate") && n >= 3) {
    populate(self, conn, argv, work);
  } else if (is("reload")) {
    reload(self, conn, argv, work);
  } else if (is("loadaof") && n == 2) {
    loadaof(self, conn, work);
  } else if (is("log") && n == 3) {
    if (self->state.config.log)
      self->state.config.log("DEBUG LOG: " + std::string{argv[2]});
    reply(ok);
  } else if (is("set-disable-deny-scripts") && n == 3) {
    // Lets scripts call DEBUG PROTOCOL and DEBUG SLEEP (Redis's tests of the
    // RESP3 conversions use it).
    self->state.scripts_may_call_debug = flag_of(argv[2]);
    reply(ok);
  } else if (is("pause-cron") && n == 3) {
    self->state.cron_paused = flag_of(argv[2]);
    reply(ok);
  } else if ((is("change-repl-id") && n == 2) || (is("jmap") && n == 2)
             || (is("replybuffer") && n == 4)
             || (is("quicklist-packed-threshold") && n == 3)) {
    reply(ok);
  } else {
    reply(protocol::errors::as_reply(protocol::errors::unknown_subcommand(sub, "DEBUG")));
  }
}

std::string debug_from_script(gateway_actor* self, const args& argv, int resp) {
  if (!self->state.scripts_may_call_debug || argv.size() != 3)
    return {};
  if (equals_ignoring_case(argv[1], "protocol"))
    return protocol_sample(argv[2], resp);
  if (equals_ignoring_case(argv[1], "sleep")) {
    auto seconds = std::strtod(std::string{argv[2]}.c_str(), nullptr);
    if (seconds > 0)
      std::this_thread::sleep_for(
        std::chrono::microseconds{static_cast<std::int64_t>(seconds * 1e6)});
    return std::string{ok};
  }
  return {};
}

} // namespace stairkv::gateway
