#include "modules/scripting/script_runner.hpp"

#include <cctype>
#include <chrono>
#include <vector>

#include <caf/all.hpp>

#include "modules/commands/glob.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/scripting/lua_engine.hpp"

namespace stairkv::scripting {

namespace {

struct runner_state {
  std::unique_ptr<lua_engine> engine;
  script_figures_ptr figures;
  std::int64_t body_bytes = 0;
};

void report(runner_state& st) {
  st.figures->cached.store(static_cast<std::int64_t>(st.engine->size()),
                           std::memory_order_relaxed);
  st.figures->lua_memory.store(st.engine->memory_bytes(), std::memory_order_relaxed);
  st.figures->scripts_memory.store(st.body_bytes, std::memory_order_relaxed);
}

std::string lower_hex(const std::string& sha) {
  std::string out;
  for (char c : sha)
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return out;
}

// Runs `body` (a script or a function call) with its redis.calls asked of
// `gateway`, each answer waited for.
template <class Body>
std::string with_calls(caf::event_based_actor* self, runner_state& st,
                       const caf::actor& gateway, Body body) {
  caf::scoped_actor asker{self->system()};
  auto& engine = *st.engine;
  command_runner call = [&](const std::vector<std::string>& argv) {
    std::string reply;
    asker->request(gateway, caf::infinite, call_atom::value, argv, engine.writes_allowed())
      .receive([&](std::string& r) { reply = std::move(r); },
               [&](caf::error&) { reply = "-ERR the node is going away\r\n"; });
    return reply;
  };
  auto out = body(call);
  report(st);
  return out;
}

// FUNCTION's subcommands.
std::string function_command(runner_state& st, const std::vector<std::string>& argv,
                             int resp) {
  std::string out;
  protocol::reply_writer reply{out, resp};
  auto& engine = *st.engine;
  auto sub = argv.size() > 1 ? argv[1] : std::string{};
  for (auto& c : sub)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto wrong = [&] {
    reply.error("ERR unknown subcommand or wrong number of arguments for '" + argv[1]
                + "'. Try FUNCTION HELP.");
  };
  if (sub == "load") {
    bool replace = false;
    std::size_t at = 2;
    if (argv.size() == 4) {
      auto word = argv[2];
      for (auto& c : word)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (word != "replace") {
        reply.error("ERR Unknown option given: " + argv[2]);
        return out;
      }
      replace = true;
      at = 3;
    } else if (argv.size() != 3) {
      wrong();
      return out;
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
    engine.flush_functions();
    reply.ok();
  } else if (sub == "list") {
    std::string pattern;
    bool with_code = false;
    for (std::size_t i = 2; i < argv.size(); ++i) {
      auto word = argv[i];
      for (auto& c : word)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (word == "withcode") {
        with_code = true;
      } else if (word == "libraryname" && i + 1 < argv.size()) {
        pattern = argv[++i];
      } else {
        reply.error("ERR Unknown argument " + argv[i]);
        return out;
      }
    }
    std::vector<const lua_engine::library_info*> shown;
    for (const auto& lib : engine.libraries())
      if (pattern.empty() || commands::glob_match(pattern, lib.name))
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
  } else if (sub == "stats" && argv.size() == 2) {
    reply.map(2);
    reply.bulk("running_script");
    reply.null();
    reply.bulk("engines");
    reply.map(1);
    reply.bulk("LUA");
    reply.map(2);
    reply.bulk("libraries_count");
    reply.integer(static_cast<std::int64_t>(engine.libraries().size()));
    reply.bulk("functions_count");
    std::size_t functions = 0;
    for (const auto& lib : engine.libraries())
      functions += lib.functions.size();
    reply.integer(static_cast<std::int64_t>(functions));
  } else if ((sub == "dump" || sub == "restore") && argv.size() >= 2) {
    reply.error("ERR FUNCTION " + argv[1] + " is not supported by stairkv yet");
  } else if (sub == "help" && argv.size() == 2) {
    const char* lines[] = {
      "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "LOAD [REPLACE] <FUNCTION CODE>",
      "DELETE <LIBRARY NAME>",
      "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
      "FLUSH [ASYNC|SYNC]",
      "KILL",
      "STATS",
      "HELP",
    };
    reply.array(std::size(lines));
    for (const auto* line : lines)
      reply.simple(line);
  } else {
    wrong();
  }
  return out;
}

caf::behavior runner(caf::event_based_actor* self, script_figures_ptr figures,
                     std::function<void(int, const std::string&)> log) {
  auto st = std::make_shared<runner_state>();
  st->engine = std::make_unique<lua_engine>(std::move(log));
  st->figures = std::move(figures);
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
                        const std::vector<std::string>& args, int resp, bool read_only) {
      std::string sha, error;
      if (!compile(body, sha, error)) {
        std::string out;
        protocol::reply_writer{out, resp}.error(error);
        return out;
      }
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->run(sha, keys, args, resp, call, read_only);
      });
    },
    [self, st](evalsha_atom, const std::string& sha, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, int resp, bool read_only) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      auto name = lower_hex(sha);
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->run(name, keys, args, resp, call, read_only);
      });
    },
    [self, st](fcall_atom, const std::string& name, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, int resp, bool read_only) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      return with_calls(self, *st, gateway, [&](const command_runner& call) {
        return st->engine->call_function(name, keys, args, resp, read_only, call);
      });
    },
    [st](function_atom, const std::vector<std::string>& argv, int resp) {
      auto out = function_command(*st, argv, resp);
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
        reply.integer(st->engine->exists(lower_hex(sha)) ? 1 : 0);
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
                               std::function<void(int, const std::string&)> log) {
  return system.spawn<caf::detached>(runner, std::move(figures), std::move(log));
}

} // namespace stairkv::scripting
