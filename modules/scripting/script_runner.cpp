#include "modules/scripting/script_runner.hpp"

#include <chrono>
#include <vector>

#include <caf/all.hpp>

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

// Runs kept script `sha`; each redis.call is asked of `gateway`, and waited for.
std::string run(caf::event_based_actor* self, runner_state& st, const caf::actor& gateway,
                const std::string& sha, const std::vector<std::string>& keys,
                const std::vector<std::string>& args, int resp) {
  caf::scoped_actor asker{self->system()};
  command_runner call = [&](const std::vector<std::string>& argv) {
    std::string reply;
    asker->request(gateway, caf::infinite, call_atom::value, argv)
      .receive([&](std::string& r) { reply = std::move(r); },
               [&](caf::error&) { reply = "-ERR the node is going away\r\n"; });
    return reply;
  };
  auto out = st.engine->run(sha, keys, args, resp, call);
  report(st);
  return out;
}

caf::behavior runner(caf::event_based_actor* self, script_figures_ptr figures,
                     std::function<void(int, const std::string&)> log) {
  auto st = std::make_shared<runner_state>();
  st->engine = std::make_unique<lua_engine>(std::move(log));
  st->figures = std::move(figures);
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
                        const std::vector<std::string>& args, int resp) {
      std::string sha, error;
      if (!compile(body, sha, error)) {
        std::string out;
        protocol::reply_writer{out, resp}.error(error);
        return out;
      }
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      return run(self, *st, gateway, sha, keys, args, resp);
    },
    [self, st](evalsha_atom, const std::string& sha, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, int resp) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      std::string lower;
      for (char c : sha)
        lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      return run(self, *st, gateway, lower, keys, args, resp);
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
      for (const auto& sha : shas) {
        std::string lower;
        for (char c : sha)
          lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
        reply.integer(st->engine->exists(lower) ? 1 : 0);
      }
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
