#pragma once

// The cluster actor: one per node in cluster mode (--cluster-enabled=yes). It
// owns the node's node_table, is published on the cluster port for its peers,
// reaches them as CAF remote actors, and keeps the table current with Redis
// Cluster's heartbeats (PING/PONG with gossip, MEET, FAIL, UPDATE). Its
// node's gateway asks it for the CLUSTER commands and gets a new view (the
// slot map, view.hpp) whenever it changes. It also carries what crosses
// nodes on the clients' behalf: MIGRATE's keys to the importing node, and
// PUBLISH to every node.

#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "modules/cluster/view.hpp"
#include "modules/store/store.hpp"

namespace stairkv::cluster {

struct cluster_config {
  std::string config_file;     // nodes.conf, read at start and rewritten on change
  std::string ip;              // the address peers and clients reach this node at ("": learn it)
  std::string bind = "127.0.0.1"; // where the cluster port listens
  std::uint16_t port = 0;      // the clients' port
  std::uint16_t cport = 0;     // the cluster port
  std::int64_t node_timeout_ms = 15000;
  bool require_full_coverage = true;
  bool allow_reads_when_down = false;
  store_actor store;           // restores MIGRATE's keys, publishes relayed messages
  std::function<void(const std::string&)> log;
};

// The spawned actor, published on config.cport; or an empty handle and `error`
// when the config file cannot be read or written or the port is taken.
caf::actor spawn_cluster(caf::actor_system& system, cluster_config config, std::string& error);

// Registers the message types peers exchange (call before the actor system starts).
void add_cluster_message_types(caf::actor_system_config& cfg);

} // namespace stairkv::cluster
