#include "modules/cluster/cluster_client.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/cluster/messages.hpp"
#include "modules/cluster/slots.hpp"
#include "modules/cluster/view.hpp"
#include "modules/commands/command_table.hpp"

namespace stairkv::cluster {

namespace {

using retry_atom = caf::atom_constant<caf::atom("clretry")>;

// How often a redirect is followed before its reply is handed back as it is.
constexpr int most_moves = 16;
// -ASK, -TRYAGAIN and -CLUSTERDOWN: retried every 20 ms for 5 s.
constexpr int most_waits = 250;
constexpr std::chrono::milliseconds wait_step{20};

struct client_state {
  slot_routes routes;
  caf::actor seed; // a node's cluster actor: asked for the slot map again
  std::map<std::string, caf::actor> stores; // by node name
  // Work waiting for a node's store to be reached, by node name.
  std::map<std::string, std::vector<std::function<void(caf::actor)>>> waiting;
  std::map<std::uint64_t, std::function<void()>> retries;
  std::uint64_t next_retry = 0;
  bool refreshing = false;
  static inline const char* name = "stairkv.cluster_client";
};

using client_actor = caf::stateful_actor<client_state>*;

// The slot of the keys of `commands` (-1: none), or -2 when they span slots.
int slot_of(const std::vector<std::vector<std::string>>& commands) {
  int slot = -1;
  for (const auto& words : commands) {
    if (words.empty())
      continue;
    const auto* spec = commands::find_command(words[0]);
    if (spec == nullptr || !commands::arity_ok(*spec, words.size()))
      continue;
    std::vector<std::string_view> argv(words.begin(), words.end());
    std::vector<std::string_view> keys;
    commands::collect_keys(*spec, argv, keys);
    for (auto key : keys) {
      int s = key_slot(key);
      if (slot == -1)
        slot = s;
      else if (slot != s)
        return -2;
    }
  }
  return slot;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Calls `then` with the store of node `index` (reached once, then kept).
void with_store(client_actor self, std::size_t index, std::function<void(caf::actor)> then) {
  auto& st = self->state;
  const auto& id = st.routes.ids[index];
  if (auto it = st.stores.find(id); it != st.stores.end()) {
    then(it->second);
    return;
  }
  auto& queue = st.waiting[id];
  queue.push_back(std::move(then));
  if (queue.size() > 1)
    return; // being reached already
  auto fail_all = [self, id] {
    auto queued = std::move(self->state.waiting[id]);
    self->state.waiting.erase(id);
    for (auto& f : queued)
      f(caf::actor{});
  };
  auto mm = self->home_system().middleman().actor_handle();
  self
    ->request(mm, std::chrono::seconds{5}, caf::connect_atom::value, st.routes.ips[index],
              st.routes.cports[index])
    .then(
      [self, id, fail_all](const caf::node_id&, caf::strong_actor_ptr& peer,
                           const std::set<std::string>&) {
        if (!peer) {
          fail_all();
          return;
        }
        self->request(caf::actor_cast<caf::actor>(peer), std::chrono::seconds{5},
                      store_atom::value)
          .then(
            [self, id](caf::actor& store) {
              self->monitor(store);
              self->state.stores[id] = store;
              auto queued = std::move(self->state.waiting[id]);
              self->state.waiting.erase(id);
              for (auto& f : queued)
                f(store);
            },
            [fail_all](caf::error&) { fail_all(); });
      },
      [fail_all](caf::error&) { fail_all(); });
}

// The node a slot's commands go to (-1: the slot has no owner).
int node_for(const client_state& st, int slot) {
  if (slot < 0) {
    for (auto owner : st.routes.owners)
      if (owner != view::none)
        return owner;
    return st.routes.ids.empty() ? -1 : 0;
  }
  auto owner = st.routes.owners[static_cast<std::size_t>(slot)];
  return owner == view::none ? -1 : owner;
}

// After a -MOVED: that slot's owner is the node at the endpoint named; the
// rest of the map is asked for again (in the background).
void learn_move(client_actor self, int slot, std::string_view error) {
  auto& st = self->state;
  auto space = error.rfind(' ');
  auto endpoint = error.substr(space + 1);
  auto colon = endpoint.rfind(':');
  auto ip = std::string{endpoint.substr(0, colon)};
  auto port = std::string{endpoint.substr(colon + 1)};
  for (std::size_t i = 0; i < st.routes.ids.size(); ++i)
    if (st.routes.ips[i] == ip && std::to_string(st.routes.ports[i]) == port && slot >= 0)
      st.routes.owners[static_cast<std::size_t>(slot)] = static_cast<std::uint16_t>(i);
  if (st.refreshing)
    return;
  st.refreshing = true;
  self->request(st.seed, std::chrono::seconds{5}, routes_atom::value)
    .then(
      [self](slot_routes& routes) {
        self->state.routes = std::move(routes);
        self->state.refreshing = false;
      },
      [self](caf::error&) { self->state.refreshing = false; });
}

void later(client_actor self, std::function<void()> f) {
  auto id = self->state.next_retry++;
  self->state.retries.emplace(id, std::move(f));
  self->delayed_send(self, wait_step, retry_atom::value, id);
}

// Runs `commands` (one, or a transaction) on the node serving their slot,
// following redirects; `deliver` gets the replies.
void run(client_actor self, std::vector<std::vector<std::string>> commands, bool transaction,
         std::function<void(std::vector<std::string>)> deliver, int moves, int waits) {
  auto slot = slot_of(commands);
  auto answer_all = [&](const std::string& reply) {
    deliver(std::vector<std::string>(commands.size(), reply));
  };
  if (slot == -2) {
    answer_all("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    return;
  }
  auto node = node_for(self->state, slot);
  if (node < 0) {
    if (waits < most_waits) {
      later(self, [=] { run(self, commands, transaction, deliver, moves, waits + 1); });
      return;
    }
    answer_all("-CLUSTERDOWN Hash slot not served\r\n");
    return;
  }
  with_store(self, static_cast<std::size_t>(node), [=](caf::actor store) {
    if (!store) {
      if (waits < most_waits) {
        later(self, [=] { run(self, commands, transaction, deliver, moves, waits + 1); });
        return;
      }
      deliver(std::vector<std::string>(commands.size(),
                                       "-IOERR the node serving this slot cannot be reached\r\n"));
      return;
    }
    auto handle = [=](std::vector<std::string> replies) {
      const auto& first = replies.empty() ? std::string{} : replies.front();
      if (starts_with(first, "-MOVED ") && moves < most_moves) {
        learn_move(self, slot, std::string_view{first}.substr(0, first.size() - 2));
        run(self, commands, transaction, deliver, moves + 1, waits);
        return;
      }
      if ((starts_with(first, "-ASK ") || starts_with(first, "-TRYAGAIN")
           || starts_with(first, "-CLUSTERDOWN"))
          && waits < most_waits) {
        later(self, [=] { run(self, commands, transaction, deliver, moves, waits + 1); });
        return;
      }
      deliver(std::move(replies));
    };
    auto failed = [=](caf::error& e) {
      deliver(std::vector<std::string>(commands.size(),
                                       "-ERR " + self->home_system().render(e) + "\r\n"));
    };
    if (transaction) {
      self->request(store, caf::infinite, transaction_atom::value, commands)
        .then([handle](std::vector<std::string>& replies) { handle(std::move(replies)); },
              failed);
    } else {
      self->request(store, caf::infinite, command_atom::value, commands.front())
        .then([handle](std::string& reply) { handle({std::move(reply)}); }, failed);
    }
  });
}

// (Untyped inside: its own retry messages are not part of the interface.)
caf::behavior client_behavior(client_actor self, caf::actor seed, slot_routes routes) {
  self->state.seed = std::move(seed);
  self->state.routes = std::move(routes);
  // A store that goes away (its node stopped) is reached again next time.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& stores = self->state.stores;
    for (auto it = stores.begin(); it != stores.end();)
      it = it->second.address() == down.source ? stores.erase(it) : std::next(it);
  });
  return {
    [self](command_atom, std::vector<std::string>& argv) -> caf::result<std::string> {
      auto promise = self->make_response_promise<std::string>();
      run(
        self, {std::move(argv)}, false,
        [promise](std::vector<std::string> replies) mutable {
          promise.deliver(replies.empty() ? std::string{} : std::move(replies.front()));
        },
        0, 0);
      return promise;
    },
    [self](transaction_atom, std::vector<std::vector<std::string>>& commands)
      -> caf::result<std::vector<std::string>> {
      auto promise = self->make_response_promise<std::vector<std::string>>();
      run(
        self, std::move(commands), true,
        [promise](std::vector<std::string> replies) mutable { promise.deliver(std::move(replies)); },
        0, 0);
      return promise;
    },
    [self](retry_atom, std::uint64_t id) {
      auto it = self->state.retries.find(id);
      if (it == self->state.retries.end())
        return;
      auto f = std::move(it->second);
      self->state.retries.erase(it);
      f();
    },
  };
}

} // namespace

caf::expected<cluster_client_actor> connect_cluster(caf::actor_system& system,
                                                    const std::string& host,
                                                    std::uint16_t cluster_port) {
  auto seed = system.middleman().remote_actor(host, cluster_port);
  if (!seed)
    return seed.error();
  caf::scoped_actor self{system};
  caf::expected<slot_routes> routes{caf::sec::request_timeout};
  self->request(*seed, std::chrono::seconds{10}, routes_atom::value)
    .receive([&](slot_routes& r) { routes = std::move(r); },
             [&](caf::error& e) { routes = std::move(e); });
  if (!routes)
    return routes.error();
  return caf::actor_cast<cluster_client_actor>(
    system.spawn(client_behavior, *seed, std::move(*routes)));
}

} // namespace stairkv::cluster
