#pragma once

// Subscribers that are actors of their own (the embedding API's, in this process
// or a remote one), beside the gateways' connections. The broker sends such an
// actor one message per delivery, in one of three shapes:
//   (message_atom, string channel, string message)            a channel's message
//   (pmessage_atom, string pattern, string channel, string message)  a pattern's
//   (key_event_atom, int32 db, string key, string event)      a keyspace or keyevent
//     notification, whether it came through a channel or a pattern subscription:
//     the channel name is decoded here once, so that the subscriber gets the key
//     and the event without parsing `__keyspace@<db>__:<key>` itself.
// The typed view of these, for embedders, is modules/store/subscriptions.hpp.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/atom.hpp>

namespace stairkv::subscription_broker {

using message_atom = caf::atom_constant<caf::atom("message")>;
using pmessage_atom = caf::atom_constant<caf::atom("pmessage")>;
using key_event_atom = caf::atom_constant<caf::atom("keyevent")>;

// One keyspace notification, as its channel and message say.
struct key_event {
  std::int32_t db = 0;
  std::string key;
  std::string event;
};

// Decodes `__keyspace@<db>__:<key>` (message: the event) and
// `__keyevent@<db>__:<event>` (message: the key). False for any other channel,
// so a channel that only resembles one (`__keyspace@x__:k`) stays a message.
bool decode_key_event(std::string_view channel, std::string_view message, key_event& out);

// Sends one delivery to a subscribing actor in the shape described above;
// `pattern` is null for a channel subscription.
template <class Self>
void deliver_to_actor(Self* self, const caf::actor& subscriber, const std::string* pattern,
                      const std::string& channel, const std::string& message) {
  key_event decoded;
  if (decode_key_event(channel, message, decoded))
    self->send(subscriber, key_event_atom::value, decoded.db, std::move(decoded.key),
               std::move(decoded.event));
  else if (pattern != nullptr)
    self->send(subscriber, pmessage_atom::value, *pattern, channel, message);
  else
    self->send(subscriber, message_atom::value, channel, message);
}

} // namespace stairkv::subscription_broker
