#pragma once

// The network gateway: one CAF broker per listening socket, owning that socket and
// every connection accepted on it. It parses RESP (pipelined and inline), routes
// each key operation to its shard, sends one batch per shard per I/O cycle, and
// writes the replies back in request order, one write and one flush per connection
// per cycle.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/doorman.hpp>

#include "modules/acl/registry.hpp"
#include "modules/engine/databases.hpp"
#include "modules/tls/tls.hpp"
#include "modules/engine/routing.hpp"
#include "modules/engine_manager/engine_manager.hpp"
#include "modules/expiry/active_expiry.hpp"
#include "modules/gateway/server_facts.hpp"
#include "modules/gateway/settings.hpp"
#include "modules/gateway/slow_log.hpp"
#include "modules/memory/budget.hpp"
#include "modules/metrics/latency_monitor.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/scripting/script_runner.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::gateway {

// Who may run DEBUG (enable-debug-command).
enum class debug_access : std::uint8_t { no, yes, local };

struct gateway_config {
  // ACL users (modules/acl): those the node read from its aclfile or `user`
  // lines (users_configured), else just the default user with requirepass;
  // the file ACL SAVE and LOAD use (none: they are refused).
  std::shared_ptr<acl::registry> users;
  // TLS (tls-port): the context its connections' sessions are made from.
  tls::context_ptr tls;
  bool users_configured = false;
  std::string aclfile;
  engine::routing_ptr routing; // the snapshot to start with
  engine_manager::manager_actor manager; // sends the later ones
  caf::actor subscriptions;              // the subscription broker
  caf::actor cluster;                    // cluster mode: the node's cluster actor
  // notify-keyspace-events: while events are recorded, a plan that writes on
  // several shards has its events sent in its order, after it (key_events.hpp).
  shard::notify_settings_ptr notify;
  std::shared_ptr<const subscription_broker::broker_figures> subscription_figures;
  server_facts_ptr facts;
  node_settings_ptr settings; // CONFIG GET / SET, and the client limits
  memory::budget_ptr memory;  // the memory bound: -OOM, INFO memory
  persistence::status_ptr persistence; // -MISCONF, INFO persistence
  caf::actor saver;                    // SAVE, BGSAVE, BGREWRITEAOF
  caf::actor aof_writer;               // DEBUG LOADAOF (none without appendonly)
  // The node's numbering of its databases (SELECT, SWAPDB); null: 16, as
  // numbered from the start.
  engine::database_map_ptr databases;
  // Client-side caching: the bound on remembered keys, whether anyone
  // broadcasts, INFO's tracking figures; null: tracking still works, unbounded.
  tracking::settings_ptr tracking;
  // The script runner (EVAL, SCRIPT, FUNCTION), held weakly: the node owns it
  // and stops it after the gateway, and a strong reference from a gateway
  // that outlives its own exit would keep the runner's thread waiting.
  caf::actor_addr scripts;
  scripting::script_figures_ptr script_figures; // INFO's script fields
  expiry::active_expiry_ptr active_expiry; // DEBUG SET-ACTIVE-EXPIRE
  metrics::latency_monitor_ptr latency;    // LATENCY (one of its own when null)
  debug_access debug = debug_access::no;
  slow_log_ptr slowlog;                // SLOWLOG, shared by a node's gateways
                                       // (one of its own when null)
  // Where notable client events go (a client cut off at its output limit).
  std::function<void(const std::string&)> log;
  // SHUTDOWN: asks the node to stop, with or without a final snapshot (the
  // node decides by its save rules when `save` is empty). Null: SHUTDOWN is
  // refused (an embedding application stops the node its own way).
  std::function<void(std::optional<bool> save)> shutdown;
};

// A bound listening socket, not yet served.
struct listener {
  caf::io::doorman_ptr socket;
  std::uint16_t port; // the port actually bound
};

// Binds the listening socket (synchronously, so the caller learns of a taken port
// at once, and knows the port before any client can ask for it). Port 0: any
// free port.
caf::expected<listener> listen(caf::actor_system& system, const std::string& bind,
                               std::uint16_t port);

// Spawns the gateway broker on the middleman's I/O thread, serving `socket`.
caf::actor spawn_gateway(caf::actor_system& system, gateway_config config,
                         listener socket, std::optional<listener> tls_socket = std::nullopt);

} // namespace stairkv::gateway
