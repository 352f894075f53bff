// Embeds the store and watches its expiries: an actor subscribes to the
// expired events of database 0, 1,000 keys get TTLs from 100 to 1,100 ms, and
// the program prints how late each event came after its key's deadline.
//
//   bazel run //examples/expiry_watcher

#include <iostream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "examples/expiry_watcher/watch_expiries.hpp"
#include "modules/store/store.hpp"

int main() {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>(); // needed only for placement::io_thread
  caf::actor_system system{cfg};

  // Expired events are announced by default (notify-keyspace-events "Ex").
  auto store = stairkv::spawn_store(system, stairkv::store_config{});
  bool all_heard = stairkv::examples::watch_expiries(system, store.actor, {}, std::cout);

  stairkv::stop_store(store);
  system.clock().cancel_all(); // the actor system ends here (see stop_store)
  return all_heard ? 0 : 1;
}
