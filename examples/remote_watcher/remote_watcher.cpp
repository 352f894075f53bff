// Watches the expiries of a running node from another process: connects to
// the store the node publishes with --caf-port, subscribes an actor of this
// process to the expired events of database 0, sets 1,000 keys with TTLs from
// 100 to 1,100 ms, and prints how late each event came.
//
//   bazel run //:stairkv-server -- --caf-port=4242 &
//   bazel run //examples/remote_watcher -- 127.0.0.1 4242

#include <cstdlib>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "examples/expiry_watcher/watch_expiries.hpp"
#include "modules/store/store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <host> <caf-port>\n";
    return 2;
  }
  std::string host = argv[1];
  auto port = std::strtoul(argv[2], nullptr, 10);
  if (port == 0 || port > 65535) {
    std::cerr << "not a port: " << argv[2] << '\n';
    return 2;
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  stairkv::add_store_message_types(cfg); // the store's messages cross the wire
  caf::actor_system system{cfg};

  auto store = system.middleman().remote_actor<stairkv::store_actor>(
    host, static_cast<std::uint16_t>(port));
  if (!store) {
    std::cerr << "cannot reach the store at " << host << ':' << port << ": "
              << system.render(store.error()) << '\n';
    return 1;
  }
  // The watcher actor lives here; the node's broker sends its events across.
  bool all_heard = stairkv::examples::watch_expiries(system, *store, {}, std::cout);
  system.clock().cancel_all(); // the watcher's pending timeout goes with the system
  return all_heard ? 0 : 1;
}
