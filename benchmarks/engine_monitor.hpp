#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/connection.hpp"

// Watches the server's staircase while the load runs: `INFO engine` once a second on a
// connection of its own, noting when the engine's generation changes (a resize took
// effect) and while keys are migrating. A server without an engine section (Redis)
// simply yields no events.
namespace stairkv::bench {

inline constexpr std::chrono::milliseconds engine_poll_interval{1000};

struct engine_state {
  std::int64_t generation = 0;
  std::int64_t migrating = 0;  // 1 while keys move between stairs
};

// The integer value of `name` in an INFO reply ("name:value" lines); nullopt when the
// field is missing or not an integer.
std::optional<std::int64_t> info_integer(std::string_view info, std::string_view name);

// Reads engine_generation and engine_migrating from an INFO reply; nullopt when the
// reply has no engine_generation.
std::optional<engine_state> parse_engine_info(std::string_view info);

struct engine_event {
  std::int64_t t_ms;  // since the start of the run
  engine_state state;
  // "start": the first observation; "generation": the generation changed;
  // "migrating": keys were migrating at this observation; "settled": migration ended.
  std::string what;
};

// Turns successive observations into events: the first one, every change of
// generation, every observation during a migration and the one that ends it.
class engine_events {
 public:
  void observe(std::int64_t t_ms, const engine_state& state);
  const std::vector<engine_event>& events() const { return events_; }

 private:
  std::optional<engine_state> last_;
  std::vector<engine_event> events_;
};

class engine_monitor {
 public:
  // Connects; throws connection_error when the server cannot be reached.
  explicit engine_monitor(const server_address& server);

  // Asks INFO engine once and records what it says. After a failure (the connection
  // went away) polling stops quietly: the load itself reports a server that is gone.
  void poll(std::int64_t t_ms);

  const std::vector<engine_event>& events() const { return events_.events(); }

  // Whether the server has answered with an engine section at least once.
  bool has_engine() const { return has_engine_; }

 private:
  std::unique_ptr<blocking_connection> connection_;
  engine_events events_;
  bool has_engine_ = false;
};

}  // namespace stairkv::bench
