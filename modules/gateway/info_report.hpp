#pragma once

// Assembles the text of INFO: Redis's usual sections and fields, plus `engine`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modules/commands/plan.hpp"
#include "modules/engine/routing.hpp"
#include "modules/gateway/server_facts.hpp"
#include "modules/memory/budget.hpp"
#include "modules/persistence/aof.hpp"

namespace stairkv::gateway {

struct client_figures {
  std::int64_t connected = 0;
  std::int64_t maxclients = 0;
  std::int64_t pubsub_channels = 0;
  std::int64_t pubsub_patterns = 0;
  std::int64_t connections_received = 0;
  std::int64_t commands_processed = 0;
  std::int64_t rejected_connections = 0;
  std::int64_t output_limit_disconnections = 0;
  // Per command of commands::all_commands(), by position: calls run, and calls
  // refused before running (arity, NOAUTH, subscribed mode).
  std::vector<std::int64_t> calls;
  std::vector<std::int64_t> rejected_calls;
};

struct info_inputs {
  const server_facts* facts;
  const engine::routing* routing;
  client_figures clients;
  commands::keyspace_totals keyspace;
  std::int64_t now_ms;
  memory::budget* memory = nullptr; // the memory bound (INFO reads the allocator anew)
  const persistence::status* persistence = nullptr;
};

// Appends the INFO body for `section` ("", "default", "all", "everything", or one
// or more section names separated by spaces; case-insensitive) to `out`.
void render_info(std::string& out, std::string_view section,
                 const info_inputs& in);

} // namespace stairkv::gateway
