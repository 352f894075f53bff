#include "benchmarks/engine_monitor.hpp"

#include "modules/protocol/number.hpp"

namespace stairkv::bench {

namespace {

// How long one INFO may take before the monitor gives up on the connection.
constexpr std::chrono::seconds info_timeout{5};

}  // namespace

std::optional<std::int64_t> info_integer(std::string_view info, std::string_view name) {
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      std::int64_t value = 0;
      if (!protocol::parse_int64(line.substr(name.size() + 1), value)) return std::nullopt;
      return value;
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<engine_state> parse_engine_info(std::string_view info) {
  const auto generation = info_integer(info, "engine_generation");
  if (!generation) return std::nullopt;
  engine_state state;
  state.generation = *generation;
  state.migrating = info_integer(info, "engine_migrating").value_or(0);
  return state;
}

void engine_events::observe(std::int64_t t_ms, const engine_state& state) {
  const char* what = nullptr;
  if (!last_) {
    what = "start";
  } else if (state.generation != last_->generation) {
    what = "generation";
  } else if (state.migrating != 0) {
    what = "migrating";
  } else if (last_->migrating != 0) {
    what = "settled";
  }
  if (what != nullptr) events_.push_back({t_ms, state, what});
  last_ = state;
}

engine_monitor::engine_monitor(const server_address& server)
    : connection_(std::make_unique<blocking_connection>(server, info_timeout)) {}

void engine_monitor::poll(std::int64_t t_ms) {
  if (!connection_) return;
  try {
    const protocol::reply reply = connection_->command({"INFO", "engine"});
    if (reply.type != protocol::reply::kind::bulk &&
        reply.type != protocol::reply::kind::verbatim) {
      return;
    }
    if (const auto state = parse_engine_info(reply.text)) {
      has_engine_ = true;
      events_.observe(t_ms, *state);
    }
  } catch (const connection_error&) {
    connection_.reset();
  }
}

}  // namespace stairkv::bench
