#pragma once

// The subscription broker: channels, their subscribers (connections of gateways),
// and the fan-out of published messages and keyspace notifications. Shards send
// it the events of each batch (key_events.hpp); it turns each into Redis's
// `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` messages for whoever
// listens, as notify-keyspace-events says (K, E).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "modules/engine/databases.hpp"
#include "modules/shard/shard_actor.hpp"
#include "modules/subscription_broker/tracking_routes.hpp"
#include "modules/tracking/settings.hpp"

namespace stairkv::subscription_broker {

using subscribe_atom = caf::atom_constant<caf::atom("sub")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
using publish_atom = caf::atom_constant<caf::atom("pub")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using psubscribe_atom = caf::atom_constant<caf::atom("psub")>;
using punsubscribe_atom = caf::atom_constant<caf::atom("punsub")>;
using pdeliver_atom = caf::atom_constant<caf::atom("pdeliver")>;
using channels_atom = caf::atom_constant<caf::atom("channels")>;
using numsub_atom = caf::atom_constant<caf::atom("numsub")>;
using numpat_atom = caf::atom_constant<caf::atom("numpat")>;
// Sharded pub/sub (SSUBSCRIBE, SPUBLISH): a namespace of its own, apart from
// the channels of SUBSCRIBE; on a node of its own every shard channel is here.
using ssubscribe_atom = caf::atom_constant<caf::atom("ssub")>;
using sunsubscribe_atom = caf::atom_constant<caf::atom("sunsub")>;
using spublish_atom = caf::atom_constant<caf::atom("spub")>;
using sdeliver_atom = caf::atom_constant<caf::atom("sdeliver")>;
using shardchannels_atom = caf::atom_constant<caf::atom("schannels")>;
using shardnumsub_atom = caf::atom_constant<caf::atom("snumsub")>;
// (notify_atom, shard::key_event_log) from shards.
using notify_atom = shard::notify_atom;

// Messages (the broker is dynamically typed; all calls come from our own actors):
//   (subscribe_atom, uint64 connection, vector<string> channels) -> bool, from a
//   gateway, answered once the subscriptions are in place
//   (unsubscribe_atom, uint64 connection, vector<string> channels) -> bool;
//   empty: all
//   (publish_atom, string channel, string message) -> int64 receivers
//   (notify_atom, shard::key_event_log)
//   (psubscribe_atom / punsubscribe_atom, uint64 connection, vector<string> patterns)
//   -> bool
//   (channels_atom, string pattern) -> vector<string>  (PUBSUB CHANNELS; "" = all)
//   (numsub_atom, vector<string> channels) -> vector<int64>
//   (numpat_atom) -> int64
//   (ssubscribe_atom / sunsubscribe_atom, uint64 connection, vector<string>
//   shard channels) -> bool; (spublish_atom, channel, message) -> int64;
//   (shardchannels_atom, pattern) -> vector<string>; (shardnumsub_atom,
//   channels) -> vector<int64>: the same for sharded pub/sub, whose
//   subscribers get (sdeliver_atom, vector<uint64> connections, channel, message)
//   (subscribe_atom / unsubscribe_atom / psubscribe_atom / punsubscribe_atom,
//    caf::actor subscriber, vector<string> names) -> int64 channels and patterns
//   the actor holds afterwards: an actor of its own (actor_subscribers.hpp), not
//   a gateway's connection, monitored while it holds any
// and it sends each gateway with receivers
//   (deliver_atom, vector<uint64> connections, string channel, string message)
//   (pdeliver_atom, vector<uint64> connections, string pattern, string channel,
//    string message) for pattern subscribers.

// What the broker holds, kept current for INFO (pubsub_channels,
// pubsub_patterns): gateways read it without asking the broker.
struct broker_figures {
  std::atomic<std::int64_t> channels{0}; // channels with at least one subscriber
  std::atomic<std::int64_t> patterns{0}; // patterns with at least one subscriber
};

using broker_figures_ptr = std::shared_ptr<broker_figures>;

// Client-side caching (tracking_routes.hpp): (track_atom, ...), (bcast_atom,
// ...), (flushed_atom) from gateways, (shard::invalidate_atom,
// tracking::invalidations) from shards; gateways get (invalidated_atom,
// invalidation_delivery). `tracking` receives the figures INFO shows.
//
// `notify` is the live notify-keyspace-events setting (it decides between
// keyspace and keyevent messages); `figures` is updated as subscriptions change;
// `databases` names the database of each event in its channel (null: the
// shards' own numbers).
caf::actor spawn_subscription_broker(caf::actor_system& system,
                                     shard::placement where,
                                     shard::notify_settings_ptr notify,
                                     broker_figures_ptr figures,
                                     engine::database_map_ptr databases = nullptr,
                                     tracking::settings_ptr tracking = nullptr);

} // namespace stairkv::subscription_broker
