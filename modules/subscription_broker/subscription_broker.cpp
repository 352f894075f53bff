#include "modules/subscription_broker/subscription_broker.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/commands/glob.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/subscription_broker/actor_subscribers.hpp"

namespace stairkv::subscription_broker {

namespace {

struct subscriber {
  caf::actor gateway; // or, when own_actor, the subscribing actor itself
  std::uint64_t connection;
  // An actor that subscribed itself (actor_subscribers.hpp): it gets its own
  // typed messages instead of a gateway's deliveries (connection is 0).
  bool own_actor = false;

  bool operator==(const subscriber& other) const {
    return connection == other.connection && gateway == other.gateway
           && own_actor == other.own_actor;
  }
};

using subscriber_map = std::unordered_map<std::string, std::vector<subscriber>>;

// A group's event shares, until their weights are whole (key_events.hpp).
struct open_group {
  std::uint64_t weight = 0;
  std::vector<shard::key_event_log> shares;
  std::vector<caf::actor_addr> senders; // whose later events wait for it
};

// A grouped plan's shares may be whole only after one second at most; past
// that (a shard that stopped) the broker sends what it has.
constexpr std::chrono::seconds group_patience{1};
using group_due_atom = caf::atom_constant<caf::atom("groupdue")>;

struct broker_state {
  shard::notify_settings_ptr notify;
  // Which number names each shard database (the channels' @<n>); null: the
  // shards' own numbers.
  engine::database_map_ptr databases;
  std::unordered_map<std::uint64_t, open_group> groups;
  // Shards whose events wait behind a share of an open group, with what they
  // sent since (in order): the events of one shard keep their order.
  std::unordered_map<caf::actor_addr, std::deque<shard::key_event_log>> waiting;
  broker_figures_ptr figures;
  std::string channel; // scratch: the keyspace/keyevent channel being built
  subscriber_map channels;
  subscriber_map patterns;
  subscriber_map shard_channels; // SSUBSCRIBE's
  tracking_routes tracking; // client-side caching (tracking_routes.hpp)
  static inline const char* name = "subscription_broker";
};

using on_scheduler = caf::stateful_actor<broker_state>;
using on_io_thread = caf::io::stateful_broker<broker_state>;

// Calls `send(gateway, connections)` once per gateway among `subs`.
template <class Send>
void per_gateway(const std::vector<subscriber>& subs, Send send) {
  std::vector<caf::actor> gateways;
  for (const auto& s : subs)
    if (!s.own_actor
        && std::find(gateways.begin(), gateways.end(), s.gateway) == gateways.end())
      gateways.push_back(s.gateway);
  for (const auto& g : gateways) {
    std::vector<std::uint64_t> connections;
    for (const auto& s : subs)
      if (s.gateway == g)
        connections.push_back(s.connection);
    send(g, std::move(connections));
  }
}

// Sends one delivery to each subscriber among `subs` that is an actor of its own.
template <class Self>
void deliver_to_actors(Self* self, const std::vector<subscriber>& subs,
                       const std::string* pattern, const std::string& channel,
                       const std::string& message) {
  for (const auto& s : subs)
    if (s.own_actor)
      deliver_to_actor(self, s.gateway, pattern, channel, message);
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
    deliver_to_actors(self, it->second, nullptr, channel, message);
    receivers += static_cast<std::int64_t>(it->second.size());
  }
  for (const auto& [pattern, subs] : self->state.patterns) {
    if (!commands::glob_match(pattern, channel))
      continue;
    per_gateway(subs, [&](const caf::actor& g, std::vector<std::uint64_t> conns) {
      self->send(g, pdeliver_atom::value, std::move(conns), pattern, channel, message);
    });
    deliver_to_actors(self, subs, &pattern, channel, message);
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

// PUBSUB (SHARD)CHANNELS: the names with subscribers that match `pattern`
// ("": all), sorted.
std::vector<std::string> names_matching(const subscriber_map& map, const std::string& pattern) {
  std::vector<std::string> names;
  for (const auto& [name, subs] : map)
    if (pattern.empty() || commands::glob_match(pattern, name))
      names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

// PUBSUB (SHARD)NUMSUB: how many subscribe to each of `names`.
std::vector<std::int64_t> subscriber_counts(const subscriber_map& map,
                                            const std::vector<std::string>& names) {
  std::vector<std::int64_t> counts;
  for (const auto& name : names) {
    auto it = map.find(name);
    counts.push_back(it == map.end() ? 0 : static_cast<std::int64_t>(it->second.size()));
  }
  return counts;
}

template <class Self>
void update_figures(Self* self) {
  auto& st = self->state;
  if (!st.figures)
    return;
  st.figures->channels.store(static_cast<std::int64_t>(st.channels.size()),
                             std::memory_order_relaxed);
  st.figures->patterns.store(static_cast<std::int64_t>(st.patterns.size()),
                             std::memory_order_relaxed);
}

// (P)SUBSCRIBE from the sending gateway's connection `connection`.
template <class Self>
bool subscribe(Self* self, subscriber_map& map, std::uint64_t connection,
               const std::vector<std::string>& names) {
  auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
  if (!gateway)
    return false;
  self->monitor(gateway);
  for (const auto& name : names)
    add(map, subscriber{gateway, connection}, name);
  update_figures(self);
  return true;
}

// (P)UNSUBSCRIBE; no names: all of that connection's.
template <class Self>
bool unsubscribe(Self* self, subscriber_map& map, std::uint64_t connection,
                 std::vector<std::string> names) {
  auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
  remove(map, subscriber{gateway, connection}, std::move(names));
  update_figures(self);
  return true;
}

// How many channels and patterns the actor `who` holds.
template <class Self>
std::int64_t held_by(Self* self, const subscriber& who) {
  std::int64_t n = 0;
  for (const auto* map : {&self->state.channels, &self->state.patterns})
    for (const auto& [name, subs] : *map)
      n += std::count(subs.begin(), subs.end(), who);
  return n;
}

// (P)SUBSCRIBE / (P)UNSUBSCRIBE of an actor of its own (no names: all of its
// subscriptions of that kind); returns what it holds afterwards. The broker
// monitors it while it holds any, and drops them all when it terminates.
template <class Self>
std::int64_t change_actor_subscriptions(Self* self, subscriber_map& map, bool subscribing,
                                        const caf::actor& who,
                                        std::vector<std::string> names) {
  if (!who)
    return 0;
  subscriber s{who, 0, true};
  auto before = held_by(self, s);
  if (subscribing)
    for (const auto& name : names)
      add(map, s, name);
  else
    remove(map, s, std::move(names));
  auto after = held_by(self, s);
  if (before == 0 && after > 0)
    self->monitor(who);
  else if (before > 0 && after == 0)
    self->demonitor(who);
  update_figures(self);
  return after;
}

// One batch's keyspace events, in order: for each, the keyspace message before
// the keyevent one, as Redis sends them.
template <class Self>
void notify(Self* self, const shard::key_event_log& log) {
  auto& st = self->state;
  if (st.channels.empty() && st.patterns.empty())
    return; // nobody listens to anything
  auto flags = st.notify ? st.notify->load() : 0;
  bool keyspace = flags & shard::notify_flag::keyspace;
  bool keyevent = flags & shard::notify_flag::keyevent;
  std::string key;
  std::string event;
  // "@<n>__:" of the event's database, written once per database met.
  std::string at = "@0__:";
  int at_db = 0;
  for (const auto& e : log.entries) {
    auto name = shard::event_name(e.what);
    auto k = log.key(e);
    if (e.db != at_db) {
      at_db = e.db;
      auto n = st.databases ? st.databases->logical(e.db) : e.db;
      at = "@" + std::to_string(n) + "__:";
    }
    if (keyspace) {
      st.channel.assign("__keyspace");
      st.channel.append(at);
      st.channel.append(k.data(), k.size());
      event.assign(name.data(), name.size());
      publish(self, st.channel, event);
    }
    if (keyevent) {
      st.channel.assign("__keyevent");
      st.channel.append(at);
      st.channel.append(name.data(), name.size());
      key.assign(k.data(), k.size());
      publish(self, st.channel, key);
    }
  }
}

template <class Self>
void take_log(Self* self, const caf::actor_addr& from, shard::key_event_log log);

// Sends a group's events, in its plan's order, and lets the shards that
// waited for it go on.
template <class Self>
void close_group(Self* self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.groups.find(id);
  if (it == st.groups.end())
    return;
  auto group = std::move(it->second);
  st.groups.erase(it);
  notify(self, shard::merge_in_plan_order(group.shares));
  for (const auto& sender : group.senders) {
    auto w = st.waiting.find(sender);
    if (w == st.waiting.end())
      continue;
    auto queued = std::move(w->second);
    st.waiting.erase(w);
    while (!queued.empty()) {
      auto next = std::move(queued.front());
      queued.pop_front();
      if (st.waiting.count(sender) != 0) {
        // Blocked again by a later group: the rest waits behind it.
        auto& again = st.waiting[sender];
        again.push_back(std::move(next));
        for (auto& rest : queued)
          again.push_back(std::move(rest));
        break;
      }
      take_log(self, sender, std::move(next));
    }
  }
}

// Adds a share to its group; a group whole now is sent, else its sender's
// later events wait for it.
template <class Self>
void add_share(Self* self, const caf::actor_addr& from, shard::key_event_log log) {
  auto& st = self->state;
  auto id = log.group;
  auto [it, fresh] = st.groups.try_emplace(id);
  auto& group = it->second;
  if (fresh)
    self->delayed_send(self, group_patience, group_due_atom::value, id);
  group.weight += log.weight;
  group.shares.push_back(std::move(log));
  if (group.weight >= persistence::whole_group) {
    close_group(self, id);
    return;
  }
  if (std::find(group.senders.begin(), group.senders.end(), from) == group.senders.end())
    group.senders.push_back(from);
  st.waiting[from];
}

// One shard's events: sent at once, or (a share of a group) kept until the
// group is whole. While a shard has a share in an open group its later events
// wait behind it, except further shares of that same group (a new shard fed
// by two old ones during a resize sends one for each; their keys differ).
template <class Self>
void take_log(Self* self, const caf::actor_addr& from, shard::key_event_log log) {
  auto& st = self->state;
  if (auto w = st.waiting.find(from); w != st.waiting.end()) {
    auto g = log.group == 0 ? st.groups.end() : st.groups.find(log.group);
    if (g != st.groups.end()
        && std::find(g->second.senders.begin(), g->second.senders.end(), from)
             != g->second.senders.end()) {
      add_share(self, from, std::move(log));
      return;
    }
    w->second.push_back(std::move(log));
    return;
  }
  if (log.group == 0) {
    notify(self, log);
    return;
  }
  add_share(self, from, std::move(log));
}

template <class Self>
caf::behavior broker(Self* self, shard::notify_settings_ptr notify_settings,
                     broker_figures_ptr figures, engine::database_map_ptr databases,
                     tracking::settings_ptr tracking_settings) {
  self->state.tracking = tracking_routes{std::move(tracking_settings)};
  self->state.notify = std::move(notify_settings);
  self->state.databases = std::move(databases);
  self->state.figures = std::move(figures);
  self->set_down_handler([self](caf::down_msg& msg) {
    for (auto* map :
         {&self->state.channels, &self->state.patterns, &self->state.shard_channels}) {
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
    update_figures(self);
    self->state.tracking.forget_gateway(msg.source);
  });
  auto deliver_invalidations = [self](const caf::actor& gateway,
                                      invalidation_delivery delivery) {
    self->send(gateway, invalidated_atom::value, std::move(delivery));
  };
  return {
    [self](track_atom, std::uint64_t client, bool on) {
      auto gateway = caf::actor_cast<caf::actor>(self->current_sender());
      if (!gateway)
        return;
      self->monitor(gateway);
      self->state.tracking.track(gateway, client, on);
    },
    [self](bcast_atom, std::uint64_t client, const std::vector<std::string>& prefixes,
           bool noloop) { self->state.tracking.broadcast(client, prefixes, noloop); },
    [self, deliver_invalidations](flushed_atom) {
      self->state.tracking.route_flush(deliver_invalidations);
    },
    [self, deliver_invalidations](shard::invalidate_atom, const tracking::invalidations& log) {
      self->state.tracking.route(log, deliver_invalidations);
    },
    [self](subscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return subscribe(self, self->state.channels, connection, names);
    },
    [self](psubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return subscribe(self, self->state.patterns, connection, names);
    },
    [self](unsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return unsubscribe(self, self->state.channels, connection, std::move(names));
    },
    [self](punsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return unsubscribe(self, self->state.patterns, connection, std::move(names));
    },
    [self](subscribe_atom, caf::actor& who, std::vector<std::string>& names) {
      return change_actor_subscriptions(self, self->state.channels, true, who,
                                        std::move(names));
    },
    [self](psubscribe_atom, caf::actor& who, std::vector<std::string>& names) {
      return change_actor_subscriptions(self, self->state.patterns, true, who,
                                        std::move(names));
    },
    [self](unsubscribe_atom, caf::actor& who, std::vector<std::string>& names) {
      return change_actor_subscriptions(self, self->state.channels, false, who,
                                        std::move(names));
    },
    [self](punsubscribe_atom, caf::actor& who, std::vector<std::string>& names) {
      return change_actor_subscriptions(self, self->state.patterns, false, who,
                                        std::move(names));
    },
    [self](ssubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return subscribe(self, self->state.shard_channels, connection, names);
    },
    [self](sunsubscribe_atom, std::uint64_t connection, std::vector<std::string>& names) {
      return unsubscribe(self, self->state.shard_channels, connection, std::move(names));
    },
    [self](spublish_atom, const std::string& channel, const std::string& message) {
      auto it = self->state.shard_channels.find(channel);
      if (it == self->state.shard_channels.end())
        return std::int64_t{0};
      per_gateway(it->second, [&](const caf::actor& g, std::vector<std::uint64_t> conns) {
        self->send(g, sdeliver_atom::value, std::move(conns), channel, message);
      });
      return static_cast<std::int64_t>(it->second.size());
    },
    [self](shardchannels_atom, const std::string& pattern) {
      return names_matching(self->state.shard_channels, pattern);
    },
    [self](shardnumsub_atom, const std::vector<std::string>& names) {
      return subscriber_counts(self->state.shard_channels, names);
    },
    [self](channels_atom, const std::string& pattern) {
      return names_matching(self->state.channels, pattern);
    },
    [self](numsub_atom, const std::vector<std::string>& names) {
      return subscriber_counts(self->state.channels, names);
    },
    [self](numpat_atom) {
      return static_cast<std::int64_t>(self->state.patterns.size());
    },
    [self](publish_atom, const std::string& channel, const std::string& message) {
      return publish(self, channel, message);
    },
    [self](notify_atom, shard::key_event_log& log) {
      take_log(self, caf::actor_cast<caf::actor_addr>(self->current_sender()), std::move(log));
    },
    [self](group_due_atom, std::uint64_t id) { close_group(self, id); },
  };
}

} // namespace

caf::actor spawn_subscription_broker(caf::actor_system& system,
                                     shard::placement where,
                                     shard::notify_settings_ptr notify,
                                     broker_figures_ptr figures,
                                     engine::database_map_ptr databases,
                                     tracking::settings_ptr tracking) {
  if (where == shard::placement::io_thread)
    return system.middleman().spawn_broker(broker<on_io_thread>, std::move(notify),
                                           std::move(figures), std::move(databases),
                                           std::move(tracking));
  return system.spawn(broker<on_scheduler>, std::move(notify), std::move(figures),
                      std::move(databases), std::move(tracking));
}

} // namespace stairkv::subscription_broker
