#pragma once

// The subscription broker: channels, their subscribers (connections of gateways),
// and the fan-out of published messages and keyspace notifications. Shards tell
// it which keys expired; it turns that into Redis's `__keyevent@0__:expired` and
// `__keyspace@0__:<key>` messages for whoever listens, as notify-keyspace-events
// says.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "modules/shard/shard_actor.hpp"

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
// (notify_atom, event, keys) from shards: keys that had `event` happen to them.
using notify_atom = caf::atom_constant<caf::atom("notify")>;

// Messages (the broker is dynamically typed; all calls come from our own actors):
//   (subscribe_atom, uint64 connection, vector<string> channels) from a gateway
//   (unsubscribe_atom, uint64 connection, vector<string> channels) — empty: all
//   (publish_atom, string channel, string message) -> int64 receivers
//   (notify_atom, string event, vector<string> keys)
//   (psubscribe_atom / punsubscribe_atom, uint64 connection, vector<string> patterns)
//   (channels_atom, string pattern) -> vector<string>  (PUBSUB CHANNELS; "" = all)
//   (numsub_atom, vector<string> channels) -> vector<int64>
//   (numpat_atom) -> int64
// and it sends each gateway with receivers
//   (deliver_atom, vector<uint64> connections, string channel, string message)
//   (pdeliver_atom, vector<uint64> connections, string pattern, string channel,
//    string message) for pattern subscribers.

// Which notifications are wanted, from Redis's notify-keyspace-events letters.
struct notify_classes {
  bool keyspace = false; // K
  bool keyevent = false; // E
  bool expired = false;  // x

  static notify_classes parse(const std::string& letters);
};

caf::actor spawn_subscription_broker(caf::actor_system& system,
                                     shard::placement where,
                                     notify_classes classes);

} // namespace stairkv::subscription_broker
