#pragma once

// Assembles the text of INFO: Redis's usual sections and fields, plus `engine`.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modules/commands/plan.hpp"
#include "modules/engine/routing.hpp"
#include "modules/gateway/server_facts.hpp"
#include "modules/memory/budget.hpp"
#include "modules/metrics/histogram.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/scripting/script_runner.hpp"

namespace stairkv::gateway {

// Call times in nanoseconds up to 2^40 (18 minutes), each within 1.6%: 17.5 KiB
// per command that was called.
using latency_histogram = metrics::basic_histogram<6, 40>;

struct client_figures {
  std::int64_t connected = 0;
  std::int64_t blocked = 0; // clients waiting in a blocking pop
  std::int64_t maxclients = 0;
  // The largest query buffer and pending output among the connections now
  // (Redis's client_recent_max_input_buffer and _output_buffer).
  std::int64_t max_input_buffer = 0;
  std::int64_t max_output_buffer = 0;
  std::int64_t pubsub_channels = 0;
  std::int64_t pubsub_patterns = 0;
  // Client-side caching: clients with tracking on, keys remembered, (key,
  // client) pairs, BCAST prefixes.
  std::int64_t tracking_clients = 0;
  std::int64_t tracking_keys = 0;
  std::int64_t tracking_items = 0;
  std::int64_t tracking_prefixes = 0;
  // ACL refusals: failed logins, and calls refused for their command, a key
  // or a channel (INFO's acl_access_denied_*).
  std::int64_t acl_denied_auth = 0;
  std::int64_t acl_denied_commands = 0;
  std::int64_t acl_denied_keys = 0;
  std::int64_t acl_denied_channels = 0;
  std::int64_t connections_received = 0;
  std::int64_t commands_processed = 0;
  std::int64_t rejected_connections = 0;
  std::int64_t tls_failures = 0; // TLS clients closed for a failed handshake or record
  std::int64_t output_limit_disconnections = 0;
  // Network: bytes read from and written to clients, socket reads and writes,
  // error replies; and the rates over the last second (sampled once a second).
  std::int64_t net_input_bytes = 0;
  std::int64_t net_output_bytes = 0;
  std::int64_t reads_processed = 0;
  std::int64_t writes_processed = 0;
  std::int64_t error_replies = 0;
  double ops_per_sec = 0;
  double input_kbps = 0;
  double output_kbps = 0;
  // Per statistics slot (commands::stat_slots(): each command, then each
  // subcommand of a container), by position: calls run, calls
  // refused before running (unknown, arity, NOAUTH, subscribed mode, -OOM,
  // -MISCONF), calls that ran and answered with an error, and the nanoseconds
  // they ran (in the shards, or in the gateway for session commands).
  std::vector<std::int64_t> calls;
  std::vector<std::int64_t> rejected_calls;
  std::vector<std::int64_t> failed_calls;
  std::vector<std::int64_t> nanos;
  // Per command, the distribution of its calls' times (INFO latencystats, with
  // latency-tracking); made on a command's first call.
  std::vector<std::shared_ptr<latency_histogram>> latency;
  std::vector<double> latency_percentiles; // what INFO latencystats reports
  // Error replies by their first word (ERR, WRONGTYPE, OOM, ...), as Redis's
  // errorstats; at most max_error_kinds kinds are told apart.
  std::map<std::string, std::int64_t> errors;
  static constexpr std::size_t max_error_kinds = 128;

  // Counts an error reply `resp` ("-<KIND> message\r\n").
  void count_error(std::string_view resp) {
    ++error_replies;
    auto end = resp.find_first_of(" \r", 1);
    auto kind = resp.substr(1, end == std::string_view::npos ? resp.size() - 1 : end - 1);
    auto it = errors.find(std::string{kind});
    if (it != errors.end())
      ++it->second;
    else if (errors.size() < max_error_kinds)
      errors.emplace(std::string{kind}, 1);
  }

  // CONFIG RESETSTAT.
  void reset() {
    connections_received = 0;
    commands_processed = 0;
    rejected_connections = 0;
    output_limit_disconnections = 0;
    net_input_bytes = net_output_bytes = 0;
    reads_processed = writes_processed = error_replies = 0;
    for (auto* v : {&calls, &rejected_calls, &failed_calls, &nanos})
      std::fill(v->begin(), v->end(), 0);
    for (auto& h : latency)
      h.reset();
    errors.clear();
  }
};

struct info_inputs {
  const server_facts* facts;
  const engine::routing* routing;
  client_figures clients;
  commands::keyspace_totals keyspace;
  std::int64_t now_ms;
  memory::budget* memory = nullptr; // the memory bound (INFO reads the allocator anew)
  const persistence::status* persistence = nullptr;
  const scripting::script_figures* scripts = nullptr; // the script cache
  // Which number names each shard database (Keyspace's db<n> lines); null:
  // the shards' own numbers.
  const engine::database_map* databases = nullptr;
};

// Appends the INFO body for `section` ("", "default", "all", "everything", or one
// or more section names separated by spaces; case-insensitive) to `out`.
void render_info(std::string& out, std::string_view section,
                 const info_inputs& in);

} // namespace stairkv::gateway
