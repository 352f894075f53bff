#pragma once

// The network gateway: one CAF broker per listening socket, owning that socket and
// every connection accepted on it. It parses RESP (pipelined and inline), routes
// each key operation to its shard, sends one batch per shard per I/O cycle, and
// writes the replies back in request order, one write and one flush per connection
// per cycle.

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "modules/engine/routing.hpp"
#include "modules/engine_manager/engine_manager.hpp"
#include "modules/gateway/server_facts.hpp"

namespace stairkv::gateway {

struct gateway_config {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 6379; // 0: any free port
  engine::routing_ptr routing; // the snapshot to start with
  engine_manager::manager_actor manager; // sends the later ones
  caf::actor subscriptions;              // the subscription broker
  server_facts_ptr facts;
};

struct listening_gateway {
  caf::actor handle;
  std::uint16_t port; // the port actually bound
};

// Binds the listening socket (synchronously, so the caller learns of a taken port at
// once) and spawns the gateway broker on the middleman's I/O thread.
caf::expected<listening_gateway> spawn_gateway(caf::actor_system& system,
                                               gateway_config config);

} // namespace stairkv::gateway
