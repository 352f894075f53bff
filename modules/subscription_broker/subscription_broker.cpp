#include "modules/subscription_broker/subscription_broker.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/commands/glob.hpp"

namespace stairkv::subscription_broker {

namespace {

struct subscriber {
  caf::actor gateway;
  std::uint64_t connection;

  bool operator==(const subscriber& other) const {
    return connection == other.connection && gateway == other.gateway;
  }
};

using subscriber_map = std::unordered_map<std::string, std::vector<subscriber>>;

struct broker_state {
  notify_classes classes;
  subscriber_map channels;
  subscriber_map patterns;
  static inline const char* name = "subscription_broker";
};

using on_scheduler = caf::stateful_actor<broker_state>;
using on_io_thread = caf::io::stateful_broker<broker_state>;

// Calls `send(gateway, connections)` once per gateway among `subs`.
template <class Send>
void per_gateway(const std::vector<subscriber>& subs, Send send) {
  std::vector<caf::actor> gateways;
  for (const auto& s : subs)
    if (std::find(gateways.begin(), gateways.end(), s.gateway) == gateways.end())
      gateways.push_back(s.gateway);
  for (const auto& g : gateways) {
    std::vector<std::uint64_t> connections;
    for (const auto& s : subs)
      if (s.gateway == g)
        connections.push_back(s.connection);
    send(g, std::move(connections));
  }
}

// Sends `message` on `channel` to its subscribers and to the subscribers of every
// matching pattern, one message per gateway each; returns how many received it.
template <class Self>
std::int64_t publish(Self* self, const std::string& channel, const std::string& message) {
  std::int64_t receivers = 0;
  auto it = self->state.channels.find(channel);
  if (it != self->state.channels.end()) {
    per_gateway(it->second, [&](const caf::actor& g, std::vector<std::uint64_t> conns) {
      self->send(g, deliver_atom::value, std::move(conns), channel, message);
    });
    receivers += static_cast<std::int64_t>(it->second.size());
  }
  for (const auto& [pattern, subs] : self->state.patterns) {
    if (!commands::glob_match(pattern, channel))
      continue;
    per_gateway(subs, [&](const caf::actor& g, std::vector<std::uint64_t> conns) {
      self->send(g, pdeliver_atom::value, std::move(conns), pattern, channel, message);
    });
    receivers += static_cast<std::int64_t>(subs.size());
  }
  return receivers;
}

void add(subscriber_map& map, const subscriber& who, const std::string& name) {
  auto& subs = map[name];
  if (std::find(subs.begin(), subs.end(), who) == subs.end())
    subs.push_back(who);
}

void remove(subscriber_map& map, const subscriber& who, std::vector<std::string> names) {
  if (names.empty())
    for (auto& [name, subs] : map)
      if (std::find(subs.begin(), subs.end(), who) != subs.end())
        names.push_back(name);
  for (auto& name : names) {
    auto it = map.find(name);
    if (it == map.end())
      continue;
    auto& subs = it->second;
    subs.erase(std::remove(subs.begin(), subs.end(), who), subs.end());
    if (subs.empty())
      map.erase(it);
  }
}

template <class Self>
caf::behavior broker(Self* self, notify_classes classes) {
  self->state.classes = classes;
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto* map : {&self->state.channels, &self->state.patterns}) {
      for (auto it = map->begin(); it != map->end();) {
        auto& subs = it->second;
        subs.erase(std::remove_if(subs.begin(), subs.end(),
                                  [&](const subscriber& s) {
                                    return s.gateway.address() == msg.source;
                                  }),
                   subs.end());
        it = subs.empty() ? map->erase(it) : std::next(it);
      }
    }
  });
  return {
    [self](subscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      if (!gateway)
        return;
      self->monitor(gateway);
      for (auto& name : names)
        add(self->state.channels, subscriber{gateway, connection}, name);
    },
    [self](psubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      if (!gateway)
        return;
      self->monitor(gateway);
      for (auto& name : names)
        add(self->state.patterns, subscriber{gateway, connection}, name);
    },
    [self](unsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      remove(self->state.channels, subscriber{gateway, connection}, std::move(names));
    },
    [self](punsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      remove(self->state.patterns, subscriber{gateway, connection}, std::move(names));
    },
    [self](channels_atom, const std::string& pattern) {
      std::vector<std::string> names;
      for (auto& [name, subs] : self->state.channels)
        if (pattern.empty() || commands::glob_match(pattern, name))
          names.push_back(name);
      std::sort(names.begin(), names.end());
      return names;
    },
    [self](numsub_atom, const std::vector<std::string>& names) {
      std::vector<std::int64_t> counts;
      for (auto& name : names) {
        auto it = self->state.channels.find(name);
        counts.push_back(it == self->state.channels.end()
                           ? 0
                           : static_cast<std::int64_t>(it->second.size()));
      }
      return counts;
    },
    [self](numpat_atom) {
      return static_cast<std::int64_t>(self->state.patterns.size());
    },
    [self](publish_atom, const std::string& channel, const std::string& message) {
      return publish(self, channel, message);
    },
    [self](notify_atom, const std::string& event, const std::vector<std::string>& keys) {
      const auto& c = self->state.classes;
      if (event == "expired" && !c.expired)
        return;
      std::string keyevent = "__keyevent@0__:" + event;
      for (const auto& key : keys) {
        if (c.keyevent)
          publish(self, keyevent, key);
        if (c.keyspace)
          publish(self, "__keyspace@0__:" + key, event);
      }
    },
  };
}

} // namespace

notify_classes notify_classes::parse(const std::string& letters) {
  notify_classes c;
  for (char ch : letters) {
    switch (ch) {
      case 'K':
        c.keyspace = true;
        break;
      case 'E':
        c.keyevent = true;
        break;
      case 'x':
      case 'A':
        c.expired = true;
        break;
      default:
        break;
    }
  }
  return c;
}

caf::actor spawn_subscription_broker(caf::actor_system& system,
                                     shard::placement where,
                                     notify_classes classes) {
  if (where == shard::placement::io_thread)
    return system.middleman().spawn_broker(broker<on_io_thread>, classes);
  return system.spawn(broker<on_scheduler>, classes);
}

} // namespace stairkv::subscription_broker
