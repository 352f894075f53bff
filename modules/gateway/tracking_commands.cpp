// Client-side caching, the gateway's side: CLIENT TRACKING, CACHING,
// GETREDIR and TRACKINGINFO, the notes each command of a tracking client
// carries to the shards, and the invalidations the broker routes back, written
// as Redis 7 writes them: a RESP3 push on the connection itself, or, with
// REDIRECT, a message on __redis__:invalidate to the client redirected to
// (a push if it speaks RESP3).

#include <algorithm>
#include <string>

#include "modules/commands/text.hpp"
#include "modules/gateway/gateway_state.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/subscription_broker/tracking_routes.hpp"
#include "modules/tracking/prefixes.hpp"

namespace stairkv::gateway {

namespace {

using commands::equals_ignoring_case;

std::string error(std::string_view message) {
  return protocol::errors::as_reply(std::string{message});
}

void count_broadcasting(gateway_actor* self, std::int64_t delta) {
  if (const auto& shared = self->state.config.tracking)
    shared->broadcasting.fetch_add(delta, std::memory_order_relaxed);
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT]
// [NOLOOP], checked as Redis 7.0 checks it.
std::string tracking_command(gateway_actor* self, connection& conn, const args& argv) {
  auto& st = self->state;
  std::uint64_t redirect = 0;
  bool bcast = false, optin = false, optout = false, noloop = false;
  std::vector<std::string> prefixes;
  for (std::size_t j = 3; j < argv.size(); ++j) {
    bool more = j + 1 < argv.size();
    if (equals_ignoring_case(argv[j], "redirect") && more) {
      ++j;
      if (redirect != 0)
        return error("ERR A client can only redirect to a single other client");
      std::int64_t id = 0;
      if (!protocol::parse_int64(argv[j], id))
        return error(protocol::errors::not_an_integer);
      if (id <= 0 || st.tags_by_serial.count(static_cast<std::uint64_t>(id)) == 0)
        return error("ERR The client ID you want redirect to does not exist");
      redirect = static_cast<std::uint64_t>(id);
    } else if (equals_ignoring_case(argv[j], "bcast")) {
      bcast = true;
    } else if (equals_ignoring_case(argv[j], "optin")) {
      optin = true;
    } else if (equals_ignoring_case(argv[j], "optout")) {
      optout = true;
    } else if (equals_ignoring_case(argv[j], "noloop")) {
      noloop = true;
    } else if (equals_ignoring_case(argv[j], "prefix") && more) {
      prefixes.emplace_back(argv[++j]);
    } else {
      return error("ERR syntax error");
    }
  }
  auto& t = conn.tracking;
  if (equals_ignoring_case(argv[2], "off")) {
    stop_tracking(self, conn);
    return "+OK\r\n";
  }
  if (!equals_ignoring_case(argv[2], "on"))
    return error("ERR syntax error");
  if (!bcast && !prefixes.empty())
    return error("ERR PREFIX option requires BCAST mode to be enabled");
  if (t.on && t.bcast != bcast)
    return error("ERR You can't switch BCAST mode on/off before disabling tracking for "
                 "this client, and then re-enabling it with a different mode.");
  if (bcast && (optin || optout))
    return error("ERR OPTIN and OPTOUT are not compatible with BCAST");
  if (optin && optout)
    return error("ERR You can't specify both OPTIN mode and OPTOUT mode");
  if ((optin && t.optout) || (optout && t.optin))
    return error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                 "this client, and then re-enabling it with a different mode.");
  if (bcast) {
    auto overlap = tracking::prefix_overlap_error(t.prefixes, prefixes);
    if (!overlap.empty())
      return error(overlap);
  }
  bool was_on = t.on;
  if (!was_on)
    self->send(st.config.subscriptions, subscription_broker::track_atom::value,
               conn.context.tag, true);
  t.on = true;
  t.optin = optin;
  t.optout = optout;
  t.noloop = noloop;
  t.redirect = redirect;
  t.broken_redirect = false;
  t.caching = false;
  if (bcast) {
    if (prefixes.empty())
      prefixes.emplace_back();
    if (!t.bcast)
      count_broadcasting(self, 1);
    t.bcast = true;
    for (const auto& p : prefixes)
      if (std::find(t.prefixes.begin(), t.prefixes.end(), p) == t.prefixes.end())
        t.prefixes.push_back(p);
    self->send(st.config.subscriptions, subscription_broker::bcast_atom::value,
               conn.context.tag, prefixes, noloop);
  }
  return "+OK\r\n";
}

std::string caching_command(connection& conn, const args& argv) {
  auto& t = conn.tracking;
  if (!t.on)
    return error("ERR CLIENT CACHING can be called only when the client is in tracking "
                 "mode with OPTIN or OPTOUT mode enabled");
  if (equals_ignoring_case(argv[2], "yes")) {
    if (!t.optin)
      return error("ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                   "OPTIN mode.");
  } else if (equals_ignoring_case(argv[2], "no")) {
    if (!t.optout)
      return error("ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                   "OPTOUT mode.");
  } else {
    return error("ERR syntax error");
  }
  t.caching = true;
  return "+OK\r\n";
}

std::string trackinginfo_command(const connection& conn) {
  const auto& t = conn.tracking;
  std::string out;
  protocol::reply_writer reply{out, conn.context.resp_version};
  std::vector<const char*> flags{t.on ? "on" : "off"};
  if (t.bcast)
    flags.push_back("bcast");
  if (t.optin) {
    flags.push_back("optin");
    if (t.caching)
      flags.push_back("caching-yes");
  }
  if (t.optout) {
    flags.push_back("optout");
    if (t.caching)
      flags.push_back("caching-no");
  }
  if (t.noloop)
    flags.push_back("noloop");
  if (t.broken_redirect)
    flags.push_back("broken_redirect");
  reply.map(3);
  reply.bulk("flags");
  reply.set(flags.size());
  for (auto* f : flags)
    reply.bulk(f);
  reply.bulk("redirect");
  reply.integer(t.on ? static_cast<std::int64_t>(t.redirect) : -1);
  reply.bulk("prefixes");
  reply.array(t.prefixes.size());
  for (const auto& p : t.prefixes)
    reply.bulk(p);
  return out;
}

// Writes `bytes` to the client after the replies it is still owed.
void push_to(gateway_actor* self, connection_map::iterator it, const std::string& bytes) {
  write_when_answered(self, it->second, bytes);
}

} // namespace

bool tracking_subcommand(gateway_actor* self, connection& conn, const args& argv,
                         commands::plan& work) {
  auto sub = argv[1];
  std::string reply;
  if (equals_ignoring_case(sub, "tracking") && argv.size() >= 3)
    reply = tracking_command(self, conn, argv);
  else if (equals_ignoring_case(sub, "caching") && argv.size() >= 3)
    reply = caching_command(conn, argv);
  else if (equals_ignoring_case(sub, "getredir") && argv.size() == 2)
    reply = ":" + std::to_string(conn.tracking.on ? static_cast<std::int64_t>(conn.tracking.redirect)
                                                  : -1)
            + "\r\n";
  else if (equals_ignoring_case(sub, "trackinginfo") && argv.size() == 2)
    reply = trackinginfo_command(conn);
  else
    return false;
  work.add_reply(conn.context, reply);
  return true;
}

void stop_tracking(gateway_actor* self, connection& conn) {
  auto& t = conn.tracking;
  if (!t.on)
    return;
  if (t.bcast)
    count_broadcasting(self, -1);
  self->send(self->state.config.subscriptions, subscription_broker::track_atom::value,
             conn.context.tag, false);
  t = {};
  conn.context.tracking_client = 0;
  conn.context.tracking_what = 0;
}

void note_tracking(connection& conn, const commands::command_spec* spec) {
  const auto& t = conn.tracking;
  auto& c = conn.context;
  std::uint8_t what = t.noloop ? shard::tracking_note::noloop : 0;
  // Keys are remembered in the default mode unless OPTIN waits for CACHING
  // YES or OPTOUT was told CACHING NO.
  bool remember = !t.bcast && (t.optin ? t.caching : !(t.optout && t.caching));
  if (remember)
    what |= shard::tracking_note::remember;
  c.tracking_client = what != 0 ? c.tag : 0;
  c.tracking_what = what;
  // CACHING covers the next command only (all of a transaction's: EXEC's).
  if (spec != nullptr && std::string_view{spec->name} != "client" && !conn.transaction.active
      && !conn.exec.active)
    conn.tracking.caching = false;
}

void announce_flush(gateway_actor* self) {
  auto& st = self->state;
  auto broker = st.config.subscriptions;
  if (!broker)
    return;
  // Once the shards have flushed, so that nobody caches a value read before.
  current_plan(self);
  st.after_shards[st.building_id].push_back(
    [broker] { caf::anon_send(broker, subscription_broker::flushed_atom::value); });
}

void deliver_invalidations(gateway_actor* self,
                           subscription_broker::invalidation_delivery& delivery) {
  auto& st = self->state;
  for (auto& m : delivery.messages) {
    auto tracker = find_client(st, m.client);
    if (tracker == st.connections.end() || !tracker->second.tracking.on)
      continue;
    auto& t = tracker->second.tracking;
    if (!m.flushed && m.broadcast != t.bcast)
      continue; // keys read before a switch to BCAST, or prefixes since gone
    auto target = tracker;
    if (t.redirect != 0) {
      auto found = st.tags_by_serial.find(t.redirect);
      target = found == st.tags_by_serial.end() ? st.connections.end()
                                                : find_client(st, found->second);
      if (target == st.connections.end()) {
        // Redis tells a RESP3 client that its invalidations have nowhere to go.
        t.broken_redirect = true;
        if (tracker->second.context.resp_version >= 3) {
          std::string push;
          protocol::reply_writer out{push, 3};
          out.push(2);
          out.bulk("tracking-redir-broken");
          out.integer(static_cast<std::int64_t>(t.redirect));
          push_to(self, tracker, push);
        }
        continue;
      }
    }
    auto& to = target->second;
    bool resp3 = to.context.resp_version >= 3;
    if (!resp3 && (target == tracker || !to.subscribed()))
      continue; // RESP2 on the connection itself: nowhere to say it
    std::string push;
    protocol::reply_writer out{push, to.context.resp_version};
    auto open_message = [&] {
      if (resp3) {
        out.push(2);
        out.bulk("invalidate");
      } else {
        out.array(3);
        out.bulk("message");
        out.bulk("__redis__:invalidate");
      }
    };
    if (m.flushed) {
      open_message();
      out.null();
    } else if (m.broadcast) {
      // BCAST: the keys of one prefix changed since the last delivery, together.
      open_message();
      out.array(m.keys.size());
      for (const auto& key : m.keys)
        out.bulk(key);
    } else {
      // Default mode: one message per key, as Redis sends them (clients and
      // Redis's own tests count the messages of a trim).
      for (const auto& key : m.keys) {
        open_message();
        out.array(1);
        out.bulk(key);
      }
    }
    push_to(self, target, push);
  }
}

} // namespace stairkv::gateway
