#include "modules/scripting/script_runner.hpp"

#include <chrono>
#include <vector>

#include <caf/all.hpp>

#include "modules/commands/glob.hpp"
#include "modules/commands/text.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/function_dump.hpp"
#include "modules/scripting/lua_engine.hpp"

namespace stairkv::scripting {

namespace {

struct runner_state {
  std::unique_ptr<lua_engine> engine;
  bool cluster_mode = false; // scripts and functions flagged no-cluster are refused
  script_figures_ptr figures;
  function_persistence kept;
  std::int64_t body_bytes = 0;
};

// The libraries changed: the catalog gets them, and the append-only file
// (waited for, so that FUNCTION LOAD is answered once it is written).
void keep_libraries(caf::event_based_actor* self, runner_state& st) {
  std::vector<std::string> codes;
  for (const auto& lib : st.engine->libraries())
    codes.push_back(lib.code);
  if (st.kept.aof_writer) {
    caf::scoped_actor asker{self->system()};
    asker->request(st.kept.aof_writer, caf::infinite, persistence::append_sync_atom::value,
                   persistence::function_libraries_frame(codes))
      .receive([](bool) {}, [](caf::error&) {});
  }
  if (st.kept.catalog)
    st.kept.catalog->set(std::move(codes));
}

void report(runner_state& st) {
  st.figures->cached.store(static_cast<std::int64_t>(st.engine->size()),
                           std::memory_order_relaxed);
  st.figures->lua_memory.store(st.engine->memory_bytes(), std::memory_order_relaxed);
  st.figures->scripts_memory.store(st.body_bytes, std::memory_order_relaxed);
  std::int64_t functions = 0, code = 0;
  for (const auto& lib : st.engine->libraries()) {
    functions += static_cast<std::int64_t>(lib.functions.size());
    code += static_cast<std::int64_t>(lib.code.size());
  }
  st.figures->functions_memory.store(code, std::memory_order_relaxed);
  st.figures->libraries.store(static_cast<std::int64_t>(st.engine->libraries().size()),
                              std::memory_order_relaxed);
  st.figures->functions.store(functions, std::memory_order_relaxed);
}


// Runs `body` (a script or a function call) with its redis.calls asked of
// `gateway`, each answer waited for.
template <class Body>
caf::message with_calls(caf::event_based_actor* self, runner_state& st,
                       const caf::actor& gateway, Body body) {
  caf::scoped_actor asker{self->system()};
  auto& engine = *st.engine;
  command_runner call = [&](const std::vector<std::string>& argv) {
    std::string reply;
    auto answered = [&](std::string& r) { reply = std::move(r); };
    auto gone = [&](caf::error&) { reply = "-ERR the node is going away\r\n"; };
    if (!argv.empty() && argv[0] == acl_check_word)
      asker->request(gateway, caf::infinite, acl_check_atom::value,
                     std::vector<std::string>(argv.begin() + 1, argv.end()))
        .receive(answered, gone);
    else
      asker->request(gateway, caf::infinite, call_atom::value, argv, engine.writes_allowed(),
                     engine.allow_oom(), engine.reply_resp())
        .receive(answered, gone);
    return reply;
  };
  auto out = body(call);
  report(st);
  return caf::make_message(std::move(out), engine.error_counted());
}

// A script with Redis 7 flags that may write and lacks allow-oom is refused
// before it runs while the node is past maxmemory (without flags, only its
// deny-oom commands are).
bool refused_for_memory(bool oom, bool flagged, bool no_writes, bool allow_oom) {
  return oom && flagged && !no_writes && !allow_oom;
}

caf::message refusal(int resp, const std::string& error) {
  std::string out;
  protocol::reply_writer{out, resp}.error(error);
  return caf::make_message(std::move(out), false);
}

constexpr const char* oom_error = "OOM command not allowed when used memory > 'maxmemory'.";
constexpr const char* no_cluster_error =
  "ERR Can not run script on cluster, 'no-cluster' flag is set.";


// FUNCTION's subcommands.
std::string function_command(runner_state& st, const std::vector<std::string>& argv,
                             int resp) {
  std::string out;
  protocol::reply_writer reply{out, resp};
  auto& engine = *st.engine;
  auto sub = argv.size() > 1 ? commands::to_lower(argv[1]) : std::string{};
  auto wrong = [&] {
    reply.error("ERR unknown subcommand or wrong number of arguments for '" + argv[1]
                + "'. Try FUNCTION HELP.");
  };
  if (sub == "load") {
    bool replace = false;
    std::size_t at = 2;
    if (argv.size() < 3) {
      wrong();
      return out;
    }
    for (; at + 1 < argv.size(); ++at) {
      if (commands::to_lower(argv[at]) != "replace") {
        reply.error("ERR Unknown option given: " + argv[at]);
        return out;
      }
      replace = true;
    }
    std::string name, error;
    if (engine.load_library(argv[at], replace, name, error))
      reply.bulk(name);
    else
      reply.error(error);
  } else if (sub == "delete" && argv.size() == 3) {
    if (engine.delete_library(argv[2]))
      reply.ok();
    else
      reply.error("ERR Library not found");
  } else if (sub == "flush" && argv.size() <= 3) {
    if (argv.size() == 3 && commands::to_lower(argv[2]) != "sync" && commands::to_lower(argv[2]) != "async") {
      reply.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
      return out;
    }
    engine.flush_functions();
    reply.ok();
  } else if (sub == "list") {
    std::string pattern;
    bool with_code = false, with_pattern = false;
    for (std::size_t i = 2; i < argv.size(); ++i) {
      auto word = commands::to_lower(argv[i]);
      if (word == "withcode" && !with_code) {
        with_code = true;
      } else if (word == "libraryname" && !with_pattern) {
        if (i + 1 >= argv.size()) {
          reply.error("ERR library name argument was not given");
          return out;
        }
        pattern = argv[++i];
        with_pattern = true;
      } else {
        reply.error("ERR Unknown argument " + argv[i]);
        return out;
      }
    }
    std::vector<const lua_engine::library_info*> shown;
    for (const auto& lib : engine.libraries())
      if (!with_pattern || commands::glob_match(pattern, lib.name, true))
        shown.push_back(&lib);
    reply.array(shown.size());
    for (const auto* lib : shown) {
      reply.map(with_code ? 4 : 3);
      reply.bulk("library_name");
      reply.bulk(lib->name);
      reply.bulk("engine");
      reply.bulk("LUA");
      reply.bulk("functions");
      reply.array(lib->functions.size());
      for (const auto& name : lib->functions) {
        const auto* f = engine.find_function(name);
        reply.map(3);
        reply.bulk("name");
        reply.bulk(name);
        reply.bulk("description");
        if (f != nullptr && f->has_description)
          reply.bulk(f->description);
        else
          reply.null();
        reply.bulk("flags");
        reply.set(f != nullptr ? f->flags.size() : 0);
        if (f != nullptr)
          for (const auto& flag : f->flags)
            reply.bulk(flag);
      }
      if (with_code) {
        reply.bulk("library_code");
        reply.bulk(lib->code);
      }
    }
  } else if (sub == "kill" && argv.size() == 2) {
    reply.error("NOTBUSY No scripts in execution right now.");
  } else if (sub == "dump" && argv.size() == 2) {
    std::vector<std::string> codes;
    for (const auto& lib : engine.libraries())
      codes.push_back(lib.code);
    reply.bulk(dump_libraries(codes));
  } else if (sub == "restore" && (argv.size() == 3 || argv.size() == 4)) {
    auto policy = lua_engine::restore_policy::append;
    if (argv.size() == 4) {
      auto how = commands::to_lower(argv[3]);
      if (how == "replace") {
        policy = lua_engine::restore_policy::replace;
      } else if (how == "flush") {
        policy = lua_engine::restore_policy::flush;
      } else if (how != "append") {
        reply.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
                    "REPLACE.");
        return out;
      }
    }
    std::vector<std::string> codes;
    std::string error;
    if (read_library_dump(argv[2], codes, error)
        && engine.restore_libraries(codes, policy, error))
      reply.ok();
    else
      reply.error(error);
  } else if (sub == "help" && argv.size() == 2) {
    const char* lines[] = {
      "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "LOAD [REPLACE] <FUNCTION CODE>",
      "DUMP",
      "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
      "DELETE <LIBRARY NAME>",
      "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
      "FLUSH [ASYNC|SYNC]",
      "KILL",
      "STATS",
      "HELP",
    };
    reply.help(lines);
  } else {
    wrong();
  }
  return out;
}

caf::behavior runner(caf::event_based_actor* self, script_figures_ptr figures,
                     std::function<void(int, const std::string&)> log,
                     function_persistence kept, bool cluster_mode) {
  auto st = std::make_shared<runner_state>();
  st->cluster_mode = cluster_mode;
  st->engine = std::make_unique<lua_engine>(log);
  st->figures = std::move(figures);
  st->kept = std::move(kept);
  // The libraries the loaded file held.
  if (st->kept.catalog) {
    std::string error;
    if (!st->engine->restore_libraries(st->kept.catalog->get(),
                                       lua_engine::restore_policy::flush, error)
        && log)
      log(3, "the function libraries of the loaded file could not be loaded: " + error);
  }
  st->engine->set_kill_switch(&st->figures->kill_requested);
  report(*st);
  auto compile = [st](const std::string& body, std::string& sha, std::string& error) {
    bool fresh = !st->engine->exists(sha1_hex(body));
    if (!st->engine->load(body, sha, error))
      return false;
    if (fresh)
      st->body_bytes += static_cast<std::int64_t>(body.size());
    return true;
  };
  return {
    [self, st, compile](eval_atom, const std::string& body, const std::vector<std::string>& keys,
                        const std::vector<std::string>& args, int resp, bool read_only,
                        bool oom) {
      std::string sha, error;
      if (!compile(body, sha, error))
        return refusal(resp, error);
      const auto& flags = *st->engine->flags_of(sha);
      if (st->cluster_mode && flags.no_cluster)
        return refusal(resp, no_cluster_error);
      if (!read_only
          && refused_for_memory(oom, flags.shebang, flags.no_writes, flags.allow_oom))
        return refusal(resp, oom_error);
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->run(sha, keys, args, resp, call, read_only);
      });
    },
    [self, st](evalsha_atom, const std::string& sha, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, int resp, bool read_only, bool oom) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      auto name = commands::to_lower(sha);
      if (const auto* flags = st->engine->flags_of(name);
          flags != nullptr && st->cluster_mode && flags->no_cluster)
        return refusal(resp, no_cluster_error);
      if (const auto* flags = st->engine->flags_of(name);
          flags != nullptr && !read_only
          && refused_for_memory(oom, flags->shebang, flags->no_writes, flags->allow_oom))
        return refusal(resp, oom_error);
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->run(name, keys, args, resp, call, read_only);
      });
    },
    [self, st](fcall_atom, const std::string& name, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, int resp, bool read_only, bool oom) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      if (const auto* f = st->engine->find_function(name);
          f != nullptr && st->cluster_mode && f->no_cluster)
        return refusal(resp, no_cluster_error);
      if (const auto* f = st->engine->find_function(name);
          f != nullptr && !read_only && refused_for_memory(oom, true, f->no_writes, f->allow_oom))
        return refusal(resp, oom_error);
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->call_function(name, keys, args, resp, read_only, call);
      });
    },
    [self, st](function_atom, const std::vector<std::string>& argv, int resp) {
      auto out = function_command(*st, argv, resp);
      auto sub = argv.size() > 1 ? commands::to_lower(argv[1]) : std::string{};
      bool changes = sub == "load" || sub == "delete" || sub == "flush" || sub == "restore";
      if (changes && !out.empty() && out[0] != '-')
        keep_libraries(self, *st);
      report(*st);
      return out;
    },
    [st, compile](load_atom, const std::string& body) {
      std::string sha, error, out;
      protocol::reply_writer reply{out};
      if (compile(body, sha, error))
        reply.bulk(sha);
      else
        reply.error(error);
      report(*st);
      return out;
    },
    [st](exists_atom, const std::vector<std::string>& shas) {
      std::string out;
      protocol::reply_writer reply{out};
      reply.array(shas.size());
      for (const auto& sha : shas)
        reply.integer(st->engine->exists(commands::to_lower(sha)) ? 1 : 0);
      return out;
    },
    [st](flush_atom) {
      st->engine->flush();
      st->body_bytes = 0;
      report(*st);
      return std::string{"+OK\r\n"};
    },
  };
}

} // namespace

caf::actor spawn_script_runner(caf::actor_system& system, script_figures_ptr figures,
                               std::function<void(int, const std::string&)> log,
                               function_persistence kept, bool cluster_mode) {
  return system.spawn<caf::detached>(runner, std::move(figures), std::move(log),
                                     std::move(kept), cluster_mode);
}

} // namespace stairkv::scripting
