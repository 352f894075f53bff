// SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB: the
// connection's own subscriptions, kept in step with the subscription broker.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::gateway {

namespace {

// What a (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE acts on.
enum class names_are { channels, patterns, shard_channels };

struct subscription_kind {
  const char* subscribe_reply;   // "subscribe", "psubscribe" or "ssubscribe"
  const char* unsubscribe_reply; // "unsubscribe", "punsubscribe" or "sunsubscribe"
  std::set<std::string> connection::*names;
  names_are what;
};

constexpr subscription_kind channel_kind{"subscribe", "unsubscribe",
                                         &connection::channels, names_are::channels};
constexpr subscription_kind pattern_kind{"psubscribe", "punsubscribe",
                                         &connection::patterns, names_are::patterns};
constexpr subscription_kind shard_kind{"ssubscribe", "sunsubscribe",
                                       &connection::shard_channels,
                                       names_are::shard_channels};

// All of a connection's subscriptions: whether it is in subscribed mode.
std::int64_t subscription_count(const connection& conn) {
  return static_cast<std::int64_t>(conn.channels.size() + conn.patterns.size()
                                   + conn.shard_channels.size());
}

// The count a confirmation carries: channels and patterns together, or (as
// Redis 7 counts them) the shard channels alone.
std::int64_t confirmed_count(const connection& conn, const subscription_kind& kind) {
  if (kind.what == names_are::shard_channels)
    return static_cast<std::int64_t>(conn.shard_channels.size());
  return static_cast<std::int64_t>(conn.channels.size() + conn.patterns.size());
}

// Changes the connection's subscriptions at the broker; the confirmation `reply`
// goes out once the broker has them, so that a PUBLISH or INFO from any client
// after the confirmation sees the change.
template <class Atom>
void tell_broker(gateway_actor* self, connection& conn, commands::plan& work,
                 std::string reply, Atom what, std::vector<std::string> names) {
  auto fill = reply_later(self, conn, work);
  self->request(self->state.config.subscriptions, caf::infinite, what,
                conn.context.tag, std::move(names))
    .then([fill, reply](bool) mutable { fill(reply); },
          [fill, reply](caf::error&) mutable { fill(reply); });
}

// SUBSCRIBE channel... / PSUBSCRIBE pattern...: one confirmation per name, with
// the number of subscriptions this connection now holds.
void subscribe_to(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work, const subscription_kind& kind) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  std::vector<std::string> added;
  auto& names = conn.*kind.names;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    std::string name{argv[i]};
    if (names.insert(name).second)
      added.push_back(name);
    out.push(3);
    out.bulk(kind.subscribe_reply);
    out.bulk(name);
    out.integer(confirmed_count(conn, kind));
  }
  auto& broker = self->state.config.subscriptions;
  if (added.empty() || !broker) {
    work.add_reply(conn.context, reply);
    return;
  }
  track_output(self, conn);
  if (kind.what == names_are::patterns)
    tell_broker(self, conn, work, std::move(reply), subscription_broker::psubscribe_atom::value,
                std::move(added));
  else if (kind.what == names_are::shard_channels)
    tell_broker(self, conn, work, std::move(reply), subscription_broker::ssubscribe_atom::value,
                std::move(added));
  else
    tell_broker(self, conn, work, std::move(reply), subscription_broker::subscribe_atom::value,
                std::move(added));
}

// UNSUBSCRIBE [channel...] / PUNSUBSCRIBE [pattern...]: without names, all.
void unsubscribe_from(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work, const subscription_kind& kind) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& held = conn.*kind.names;
  std::vector<std::string> names;
  if (argv.size() == 1)
    names.assign(held.begin(), held.end());
  else
    for (std::size_t i = 1; i < argv.size(); ++i)
      names.emplace_back(argv[i]);
  if (names.empty()) {
    out.push(3);
    out.bulk(kind.unsubscribe_reply);
    out.null();
    out.integer(confirmed_count(conn, kind));
  }
  for (const auto& name : names) {
    held.erase(name);
    out.push(3);
    out.bulk(kind.unsubscribe_reply);
    out.bulk(name);
    out.integer(confirmed_count(conn, kind));
  }
  auto& broker = self->state.config.subscriptions;
  if (names.empty() || !broker) {
    work.add_reply(conn.context, reply);
    return;
  }
  if (kind.what == names_are::patterns)
    tell_broker(self, conn, work, std::move(reply),
                subscription_broker::punsubscribe_atom::value, std::move(names));
  else if (kind.what == names_are::shard_channels)
    tell_broker(self, conn, work, std::move(reply),
                subscription_broker::sunsubscribe_atom::value, std::move(names));
  else
    tell_broker(self, conn, work, std::move(reply),
                subscription_broker::unsubscribe_atom::value, std::move(names));
}

} // namespace

void subscribe_command(gateway_actor* self, connection& conn, const args& argv,
                       commands::plan& work) {
  subscribe_to(self, conn, argv, work, channel_kind);
}

void psubscribe_command(gateway_actor* self, connection& conn, const args& argv,
                        commands::plan& work) {
  subscribe_to(self, conn, argv, work, pattern_kind);
}

void unsubscribe_command(gateway_actor* self, connection& conn, const args& argv,
                         commands::plan& work) {
  unsubscribe_from(self, conn, argv, work, channel_kind);
}

void punsubscribe_command(gateway_actor* self, connection& conn, const args& argv,
                          commands::plan& work) {
  unsubscribe_from(self, conn, argv, work, pattern_kind);
}

void ssubscribe_command(gateway_actor* self, connection& conn, const args& argv,
                        commands::plan& work) {
  subscribe_to(self, conn, argv, work, shard_kind);
}

void sunsubscribe_command(gateway_actor* self, connection& conn, const args& argv,
                          commands::plan& work) {
  unsubscribe_from(self, conn, argv, work, shard_kind);
}

namespace {

// Hands a message to the broker, which counts its receivers: `fill` gets the
// count as a RESP integer.
template <class Fill, class Atom = subscription_broker::publish_atom>
void publish(gateway_actor* self, std::string channel, std::string message, Fill fill,
             Atom what = Atom::value) {
  auto& broker = self->state.config.subscriptions;
  if (!broker) {
    fill(":0\r\n");
    return;
  }
  self->request(broker, caf::infinite, what, std::move(channel), std::move(message))
    .then(
      [fill](std::int64_t receivers) mutable {
        std::string resp;
        protocol::reply_writer{resp}.integer(receivers);
        fill(resp);
      },
      [fill](caf::error&) mutable { fill(":0\r\n"); });
}

} // namespace

// PUBLISH channel message: the reply takes its place in the plan when the
// broker's count arrives.
void publish_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  std::string channel{argv[1]};
  std::string message{argv[2]};
  publish_to_cluster(self, channel, message);
  publish(self, std::move(channel), std::move(message), reply_later(self, conn, work));
}

// SPUBLISH shardchannel message: to the shard channel's subscribers alone.
void spublish_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  publish(self, std::string{argv[1]}, std::string{argv[2]}, reply_later(self, conn, work),
          subscription_broker::spublish_atom::value);
}

void publish_from_script(gateway_actor* self, const args& argv,
                         std::function<void(std::string_view)> finish) {
  publish_to_cluster(self, std::string{argv[1]}, std::string{argv[2]});
  publish(self, std::string{argv[1]}, std::string{argv[2]},
          [finish = std::move(finish)](std::string_view resp) { finish(resp); });
}

// PUBSUB CHANNELS [pattern] | NUMSUB [channel...] | NUMPAT: answered by the broker.
void pubsub_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  auto& st = self->state;
  auto sub = argv[1];
  int resp_version = conn.context.resp_version;
  bool is_channels = commands::equals_ignoring_case(sub, "channels");
  bool is_shard_channels = commands::equals_ignoring_case(sub, "shardchannels");
  bool is_numpat = commands::equals_ignoring_case(sub, "numpat");
  bool numsub = commands::equals_ignoring_case(sub, "numsub");
  bool shard_numsub = commands::equals_ignoring_case(sub, "shardnumsub");
  bool channels = is_channels && argv.size() <= 3;
  bool shard_channels = is_shard_channels && argv.size() <= 3;
  bool numpat = is_numpat && argv.size() == 2;
  if (!channels && !shard_channels && !numsub && !shard_numsub && !numpat) {
    std::string reply;
    auto msg = is_channels || is_numpat || is_shard_channels
                 ? protocol::errors::wrong_arity(is_channels         ? "pubsub|channels"
                                                 : is_shard_channels ? "pubsub|shardchannels"
                                                                     : "pubsub|numpat")
                 : protocol::errors::unknown_subcommand(sub, "PUBSUB");
    protocol::reply_writer{reply, resp_version}.error(msg);
    work.add_reply(conn.context, reply);
    return;
  }
  auto fill = reply_later(self, conn, work);
  auto on_error = [fill](caf::error&) { fill("-ERR subscription broker unavailable\r\n"); };
  auto& broker = st.config.subscriptions;
  auto list_reply = [fill, resp_version](const std::vector<std::string>& names) {
    std::string resp;
    protocol::reply_writer out{resp, resp_version};
    out.array(names.size());
    for (auto& n : names)
      out.bulk(n);
    fill(resp);
  };
  // NUMSUB and SHARDNUMSUB: each name with its count, as a map.
  auto counts_reply = [fill, resp_version](std::vector<std::string> names) {
    return [fill, names = std::move(names),
            resp_version](const std::vector<std::int64_t>& counts) {
      std::string resp;
      protocol::reply_writer out{resp, resp_version};
      out.map(names.size());
      for (std::size_t i = 0; i < names.size(); ++i) {
        out.bulk(names[i]);
        out.integer(i < counts.size() ? counts[i] : 0);
      }
      fill(resp);
    };
  };
  std::string pattern = argv.size() == 3 ? std::string{argv[2]} : std::string{};
  std::vector<std::string> names(argv.begin() + 2, argv.end());
  if (shard_channels) {
    self->request(broker, caf::infinite, subscription_broker::shardchannels_atom::value,
                  pattern)
      .then(list_reply, on_error);
  } else if (channels) {
    self->request(broker, caf::infinite, subscription_broker::channels_atom::value, pattern)
      .then(list_reply, on_error);
  } else if (shard_numsub) {
    self->request(broker, caf::infinite, subscription_broker::shardnumsub_atom::value, names)
      .then(counts_reply(names), on_error);
  } else if (numsub) {
    self->request(broker, caf::infinite, subscription_broker::numsub_atom::value, names)
      .then(counts_reply(names), on_error);
  } else {
    self->request(broker, caf::infinite, subscription_broker::numpat_atom::value)
      .then(
        [fill](std::int64_t n) {
          std::string resp;
          protocol::reply_writer{resp}.integer(n);
          fill(resp);
        },
        on_error);
  }
}

bool refused_while_subscribed(connection& conn, const commands::command_spec* spec,
                              const std::vector<std::string_view>& argv,
                              commands::plan& work) {
  if (subscription_count(conn) == 0 || conn.context.resp_version >= 3)
    return false;
  if (spec == nullptr)
    return false; // unknown commands get the unknown-command error
  std::string_view name = spec->name;
  if (name == "subscribe" || name == "unsubscribe" || name == "psubscribe"
      || name == "punsubscribe" || name == "ssubscribe" || name == "sunsubscribe"
      || name == "quit" || name == "reset")
    return false;
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  if (name == "ping") {
    out.array(2);
    out.bulk("pong");
    out.bulk(argv.size() > 1 ? argv[1] : std::string_view{});
  } else {
    std::string msg = "ERR Can't execute '";
    msg.append(name);
    msg.append("': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
               "are allowed in this context");
    out.error(msg);
  }
  work.add_reply(conn.context, reply);
  return true;
}

} // namespace stairkv::gateway
