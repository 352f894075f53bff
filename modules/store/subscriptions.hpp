#pragma once

// The typed subscription interface of the embedding API: an actor subscribes
// itself (or another actor it holds) to channels, patterns and keyspace
// notifications at the store, and receives typed messages. It works the same
// for an actor in another process that reached the store over the node's
// --caf-port: CAF carries the subscriber's handle across, and the broker sends
// to it there.
//
// store_actor (store.hpp) includes every message of `subscription_actor`, so
// the store's front door is the one handle an embedder needs.
//
// Lifetime: the store monitors every subscribing actor and drops all of its
// subscriptions when it terminates (for a remote actor: also when its node's
// connection ends), so a subscriber never has to unsubscribe before it quits.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "modules/subscription_broker/actor_subscribers.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv {

using subscribe_atom = subscription_broker::subscribe_atom;
using unsubscribe_atom = subscription_broker::unsubscribe_atom;
using psubscribe_atom = subscription_broker::psubscribe_atom;
using punsubscribe_atom = subscription_broker::punsubscribe_atom;
using publish_atom = subscription_broker::publish_atom;
using message_atom = subscription_broker::message_atom;
using pmessage_atom = subscription_broker::pmessage_atom;
using key_event_atom = subscription_broker::key_event_atom;

// What a subscriber receives. Keyspace and keyevent notifications arrive
// decoded, whether the subscription was a channel or a pattern: a subscriber
// to keyevent_channel(0, "expired") gets (key_event_atom, 0, key, "expired")
// for each key that expires in database 0, not the raw channel message. A
// subscriber that holds several subscriptions matching one message (a channel
// and a pattern) gets it once for each, as a Redis client does.
using subscriber_actor = caf::typed_actor<
  // A message published on a channel the actor subscribed to.
  caf::reacts_to<message_atom, std::string /* channel */, std::string /* message */>,
  // A message on a channel that matched a pattern the actor subscribed to.
  caf::reacts_to<pmessage_atom, std::string /* pattern */, std::string /* channel */,
                 std::string /* message */>,
  // A keyspace notification: `event` (expired, set, del, ...) happened to `key`
  // in database `db` (the number SELECT takes).
  caf::reacts_to<key_event_atom, std::int32_t /* db */, std::string /* key */,
                 std::string /* event */>>;

// What an application sends the store. Each change replies, once it is in
// place (a PUBLISH or a key change after the reply reaches the subscriber),
// with how many channels and patterns the subscriber holds afterwards.
// Subscribing twice to one name is one subscription. An empty list
// unsubscribes from every channel (or pattern) the subscriber holds.
using subscription_actor = caf::typed_actor<
  caf::replies_to<subscribe_atom, subscriber_actor,
                  std::vector<std::string> /* channels */>::with<std::int64_t>,
  caf::replies_to<unsubscribe_atom, subscriber_actor,
                  std::vector<std::string> /* channels; empty: all */>::with<std::int64_t>,
  // Patterns are Redis globs (*, ?, [a-z], \x).
  caf::replies_to<psubscribe_atom, subscriber_actor,
                  std::vector<std::string> /* patterns */>::with<std::int64_t>,
  caf::replies_to<punsubscribe_atom, subscriber_actor,
                  std::vector<std::string> /* patterns; empty: all */>::with<std::int64_t>,
  // PUBLISH channel message -> how many subscriptions received it (gateway
  // clients and actors alike).
  caf::replies_to<publish_atom, std::string /* channel */,
                  std::string /* message */>::with<std::int64_t>>;

// Channel names of keyspace notifications, for subscribe (or, with `*` and
// other glob characters in `key` or `event`, for psubscribe). What the store
// announces is set by store_config::notify_keyspace_events: its default "Ex"
// sends keyevent notifications of expiries only; "KEA" sends everything.
//
// `__keyevent@<db>__:<event>`: every key that `event` happens to in `db`.
std::string keyevent_channel(std::int32_t db, std::string_view event);
// `__keyspace@<db>__:<key>`: every event that happens to `key` in `db`.
std::string keyspace_channel(std::int32_t db, std::string_view key);

} // namespace stairkv
