#pragma once

// A CAF application's way into a cluster of stairkv nodes: a client actor
// that knows the slot map, reaches every node's store (store.hpp) as a remote
// actor, and sends each command to the node that serves its keys' slot. It
// follows the nodes' -MOVED (a new slot map from the node that answered) and
// waits out -ASK, -TRYAGAIN and -CLUSTERDOWN (a slot being migrated, a node
// failing) with short retries, so a caller sees the reply the right node
// gives.
//
//   caf::actor_system_config cfg;
//   cfg.load<caf::io::middleman>();
//   stairkv::add_store_message_types(cfg);
//   stairkv::cluster::add_cluster_message_types(cfg);
//   caf::actor_system system{cfg};
//   auto client = stairkv::cluster::connect_cluster(system, "10.0.0.1", 16379);
//   self->request(*client, caf::infinite, stairkv::command_atom::value,
//                 std::vector<std::string>{"SET", "user:1", "ada"});
//   ...
//   self->send_exit(*client, caf::exit_reason::user_shutdown); // when done
//
// (The nodes it talked to keep proxies of it, which would keep it running
// until the system's connections close: an exit message ends it.)

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "modules/store/store.hpp"

namespace stairkv::cluster {

using cluster_client_actor = caf::typed_actor<
  // Any command, as its arguments -> its RESP2 reply from the node serving its
  // keys (a command without keys goes to any node). Keys of several slots:
  // -CROSSSLOT, as a node would answer.
  caf::replies_to<command_atom, std::vector<std::string>>::with<std::string>,
  // A transaction (store.hpp's), run on the node serving the slot of all its
  // keys -> each command's RESP2 reply.
  caf::replies_to<transaction_atom, std::vector<std::vector<std::string>>>::with<
    std::vector<std::string>>>;

// Connects to the cluster through any of its nodes (its cluster port), learns
// the slot map and the nodes' stores, and spawns the client. Blocks while it
// connects; an error when the node cannot be reached.
caf::expected<cluster_client_actor> connect_cluster(caf::actor_system& system,
                                                    const std::string& host,
                                                    std::uint16_t cluster_port);

} // namespace stairkv::cluster
