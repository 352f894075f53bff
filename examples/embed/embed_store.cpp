// Embedding stairkv in a CAF application: the store runs as actors inside the
// application's own actor_system; the application talks to it like to any other
// typed actor, from its own actors (request/then) or from blocking code
// (scoped_actor with request/receive).
//
//   bazel run //examples/embed:embed_store

#include <iostream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/store/store.hpp"

namespace {

// An application actor: stores a greeting, bumps a counter, reads the greeting
// back, prints what it saw, then quits.
caf::behavior greeter(caf::event_based_actor* self, stairkv::store_actor store) {
  self->request(store, caf::infinite, caf::put_atom::value,
                std::string{"greeting"}, std::string{"hello"})
    .then([=](bool) {
      self->request(store, caf::infinite, stairkv::incr_atom::value,
                    std::string{"visits"}, std::int64_t{3})
        .then([=](std::int64_t visits) {
          std::cout << "INCRBY visits 3 -> " << visits << std::endl;
          self->request(store, caf::infinite, caf::get_atom::value,
                        std::string{"greeting"})
            .then([=](const caf::optional<std::string>& greeting) {
              std::cout << "GET greeting -> " << (greeting ? *greeting : "(nil)")
                        << std::endl;
              self->quit();
            });
        });
    });
  return {};
}

} // namespace

int main() {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>(); // needed only for placement::io_thread
  caf::actor_system system{cfg};

  // One call spawns the whole store: its engine manager, its shard actors (one to
  // start with; the engine grows and shrinks with the load) and its typed front door.
  auto store = stairkv::spawn_store(system, stairkv::store_config{});

  caf::scoped_actor self{system};
  auto app = system.spawn(greeter, store.actor);
  self->wait_for(app);

  // Any Redis command, as arguments; the reply comes back RESP-encoded.
  std::vector<std::string> mget{"MGET", "greeting", "visits", "absent"};
  int status = 1;
  self->request(store.actor, caf::infinite, stairkv::command_atom::value, mget)
    .receive(
      [&](const std::string& resp) {
        std::string shown;
        for (char c : resp)
          shown += c == '\r' ? std::string{"\\r"} : c == '\n' ? std::string{"\\n"} : std::string(1, c);
        std::cout << "MGET greeting visits absent -> " << shown << std::endl;
        status = 0;
      },
      [&](caf::error& e) { std::cerr << system.render(e) << std::endl; });

  stairkv::stop_store(store);
  system.clock().cancel_all(); // the actor system ends here (see stop_store)
  return status;
}
