#include "modules/subscription_broker/subscription_broker.hpp"

#include <algorithm>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace stairkv::subscription_broker {

namespace {

struct subscriber {
  caf::actor gateway;
  std::uint64_t connection;

  bool operator==(const subscriber& other) const {
    return connection == other.connection && gateway == other.gateway;
  }
};

struct broker_state {
  notify_classes classes;
  std::unordered_map<std::string, std::vector<subscriber>> channels;
  static inline const char* name = "subscription_broker";
};

using on_scheduler = caf::stateful_actor<broker_state>;
using on_io_thread = caf::io::stateful_broker<broker_state>;

// Sends `message` on `channel` to every subscriber, one message per gateway.
template <class Self>
std::int64_t publish(Self* self, const std::string& channel, const std::string& message) {
  auto it = self->state.channels.find(channel);
  if (it == self->state.channels.end())
    return 0;
  const auto& subs = it->second;
  std::vector<caf::actor> gateways;
  for (const auto& s : subs)
    if (std::find(gateways.begin(), gateways.end(), s.gateway) == gateways.end())
      gateways.push_back(s.gateway);
  for (const auto& g : gateways) {
    std::vector<std::uint64_t> connections;
    for (const auto& s : subs)
      if (s.gateway == g)
        connections.push_back(s.connection);
    self->send(g, deliver_atom::value, std::move(connections), channel, message);
  }
  return static_cast<std::int64_t>(subs.size());
}

template <class Self>
void unsubscribe(Self* self, const subscriber& who, const std::string& channel) {
  auto it = self->state.channels.find(channel);
  if (it == self->state.channels.end())
    return;
  auto& subs = it->second;
  subs.erase(std::remove(subs.begin(), subs.end(), who), subs.end());
  if (subs.empty())
    self->state.channels.erase(it);
}

template <class Self>
caf::behavior broker(Self* self, notify_classes classes) {
  self->state.classes = classes;
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto it = self->state.channels.begin(); it != self->state.channels.end();) {
      auto& subs = it->second;
      subs.erase(std::remove_if(subs.begin(), subs.end(),
                                [&](const subscriber& s) {
                                  return s.gateway.address() == msg.source;
                                }),
                 subs.end());
      it = subs.empty() ? self->state.channels.erase(it) : std::next(it);
    }
  });
  return {
    [self](subscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      if (!gateway)
        return;
      self->monitor(gateway);
      subscriber who{gateway, connection};
      for (auto& name : names) {
        auto& subs = self->state.channels[name];
        if (std::find(subs.begin(), subs.end(), who) == subs.end())
          subs.push_back(who);
      }
    },
    [self](unsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      subscriber who{gateway, connection};
      if (names.empty()) {
        std::vector<std::string> all;
        for (auto& [name, subs] : self->state.channels)
          if (std::find(subs.begin(), subs.end(), who) != subs.end())
            all.push_back(name);
        names = std::move(all);
      }
      for (auto& name : names)
        unsubscribe(self, who, name);
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
