#include "modules/gateway/resp_gateway.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/commands/command_table.hpp"
#include "modules/commands/glob.hpp"
#include "modules/commands/plan.hpp"
#include "modules/commands/text.hpp"
#include "modules/engine/routing_follower.hpp"
#include "modules/gateway/connection.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/gateway/info_report.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/protocol/request_parser.hpp"
#include "modules/shard/clock.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::gateway {

namespace {

using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// How often idle clients are looked for (the `timeout` option).
constexpr std::chrono::seconds tick_interval{1};

// Bytes asked of the socket per read. Small on purpose: CAF zero-fills its read
// buffer to this size on every read, and 64 KB reads cost ~30% of throughput.
constexpr std::size_t read_chunk = 4096;

// A client may hold at most this much unparsed input (Redis's
// client-query-buffer-limit default): enough for any legal argument (512 MB) plus
// its pipeline, small enough that one client cannot take the machine's memory.
constexpr std::size_t max_query_buffer = 1024ull * 1024 * 1024;


struct plan_in_flight {
  std::uint64_t id;
  commands::plan work;
  bool sent = false; // batches handed to the shards
};

struct gateway_state {
  gateway_config config;
  connection_map connections; // by handle id
  // The plan collecting this cycle's commands, dispatched by a message the broker
  // sends itself: it runs after every socket event of the current multiplexer round,
  // so all connections that had input in that round share one batch per shard.
  std::unique_ptr<commands::plan> building;
  // Dispatched plans, answered in this order. A plan waits unsent while plans on
  // another entry engine are out (routing_follower.hpp).
  std::deque<plan_in_flight> in_flight;
  engine::routing_follower follower{nullptr};
  std::uint64_t next_plan_id = 0;
  std::uint64_t building_id = 0;
  std::vector<std::uint64_t> touched; // connections with output this drain
  std::uint64_t last_serial = 0;      // client ids handed out so far
  // What to do once a plan's shards have answered, by plan id (the steps of
  // multi-step commands).
  std::unordered_map<std::uint64_t, std::vector<std::function<void()>>> after_shards;
  client_figures figures;

  static inline const char* name = "resp_gateway";
};

using gateway_actor = caf::io::stateful_broker<gateway_state>;

// The connection a plan or the broker means by `tag`, or end() if it is gone
// (even if another client now has the same socket number).
connection_map::iterator find_client(gateway_state& st, std::uint64_t tag) {
  auto it = st.connections.find(tag & 0xffffffffu);
  if (it != st.connections.end() && it->second.context.tag != tag)
    return st.connections.end();
  return it;
}

void render(gateway_actor* self, std::string& out, std::string_view section,
            const commands::keyspace_totals& totals) {
  auto& st = self->state;
  info_inputs in{st.config.facts.get(), st.follower.current().get(), st.figures,
                 totals, shard::unix_now_ms(), st.config.memory.get(),
                 st.config.persistence.get()};
  in.clients.connected = static_cast<std::int64_t>(st.connections.size());
  in.clients.maxclients = st.config.settings->limits.maxclients;
  if (const auto& subs = st.config.subscription_figures) {
    in.clients.pubsub_channels = subs->channels.load(std::memory_order_relaxed);
    in.clients.pubsub_patterns = subs->patterns.load(std::memory_order_relaxed);
  }
  render_info(out, section, in);
}

commands::plan& current_plan(gateway_actor* self) {
  auto& st = self->state;
  if (!st.building) {
    auto now = shard::unix_now_ms();
    st.building = std::make_unique<commands::plan>(st.follower.current(), now);
    if (st.config.memory)
      st.building->refuse_growth(st.config.memory->refuses_growth(now));
    if (st.config.persistence)
      st.building->refuse_writes(st.config.persistence->refusal());
    st.building_id = st.next_plan_id++;
    self->send(self, dispatch_atom::value);
  }
  return *st.building;
}

// Hands bytes to the connection's socket, counting them when output is tracked.
// Starts counting a connection's pending output: CAF reports each completed
// write from now on (a message per write, so only for connections that need it).
void track_output(gateway_actor* self, connection& conn) {
  if (conn.tracking_output)
    return;
  conn.tracking_output = true;
  self->ack_writes(conn.handle, true);
}

// A client that keeps its replies unread shows first in the kernel's send queue:
// after every stall_check_bytes written to an untracked connection, one ioctl
// looks, and a queue that deep starts exact tracking. Clients that read their
// replies never cost more than that ioctl.
constexpr std::int64_t stall_check_bytes = 64 * 1024;
constexpr int stalled_queue_bytes = 64 * 1024;

// A connection's buffers keep the capacity of their largest burst (a deep
// pipeline's replies to a client that read them late, a large value) and can
// reach megabytes. That memory counts against maxmemory, so a connection gives
// back whatever passes retained_buffer_bytes once a buffer is empty: Redis, too,
// frees reply buffers once they are written and shrinks idle query buffers.
constexpr std::size_t retained_buffer_bytes = 64 * 1024;

template <class Buffer>
void release_if_large(Buffer& buffer) {
  if (buffer.empty() && buffer.capacity() > retained_buffer_bytes)
    Buffer{}.swap(buffer);
}

// CAF's socket has two buffers: the one being written and the one being filled,
// swapped by a flush when the socket is idle. Each is empty, and can be let go,
// right after such a swap or once every byte is written.
void release_socket_buffer(gateway_actor* self, connection& conn) {
  release_if_large(self->wr_buf(conn.handle));
}

void write_out(gateway_actor* self, connection& conn, const std::string& bytes) {
  self->write(conn.handle, bytes.size(), bytes.data());
  self->flush(conn.handle);
  release_socket_buffer(self, conn);
  auto size = static_cast<std::int64_t>(bytes.size());
  if (conn.tracking_output) {
    conn.unsent += size;
    return;
  }
  conn.written_since_check += size;
  if (conn.written_since_check < stall_check_bytes)
    return;
  conn.written_since_check = 0;
  int queued = 0;
  if (::ioctl(static_cast<int>(conn.handle.id()), SIOCOUTQ, &queued) == 0
      && queued >= stalled_queue_bytes)
    track_output(self, conn);
}

// Back-pressure for clients without an output limit (Redis's default for normal
// clients is none): past pause_output_bytes of unwritten replies the gateway stops
// reading the client's requests, and reads again below resume_output_bytes. Its
// memory stays bounded, and it loses nothing: once it reads, everything comes.
constexpr std::int64_t pause_output_bytes = 1 << 20;
constexpr std::int64_t resume_output_bytes = 256 << 10;

// Redis's limit for a client that has not authenticated (requirepass).
constexpr std::int64_t unauthenticated_output_bytes = 1024;

// Forgets a connection: its subscriptions go, and so does the connection record.
void forget(gateway_actor* self,
            connection_map::iterator it) {
  auto& st = self->state;
  auto& conn = it->second;
  if (st.config.subscriptions) {
    // Sent with this gateway as the sender (the broker files subscribers under
    // it), and the broker's acknowledgement is not waited for.
    auto drop = [&](auto what) {
      self->request(st.config.subscriptions, caf::infinite, what, conn.context.tag,
                    std::vector<std::string>{})
        .then([](bool) {}, [](caf::error&) {});
    };
    if (!conn.channels.empty())
      drop(subscription_broker::unsubscribe_atom::value);
    if (!conn.patterns.empty())
      drop(subscription_broker::punsubscribe_atom::value);
  }
  st.connections.erase(it);
}

// Redis's client-output-buffer-limit: a connection whose pending output passes
// the hard limit, or stays above the soft one for its seconds, is cut off at once
// (its socket shut down, its unsent output dropped); nobody else notices. Returns
// true when the connection is gone.
bool enforce_output_limit(gateway_actor* self,
                          connection_map::iterator it) {
  auto& conn = it->second;
  if (!conn.tracking_output)
    return false;
  const auto& limits = self->state.config.settings->limits;
  const auto& limit = conn.subscribed() ? limits.pubsub : limits.normal;
  auto pending = conn.unsent + static_cast<std::int64_t>(conn.deferred_pushes.size());
  if (!conn.subscribed()) {
    if (!conn.reading_paused && pending > pause_output_bytes) {
      conn.reading_paused = true;
      self->halt(conn.handle);
    } else if (conn.reading_paused && pending < resume_output_bytes) {
      conn.reading_paused = false;
      self->trigger(conn.handle);
    }
  }
  bool cut = !conn.authenticated && pending > unauthenticated_output_bytes;
  if (!cut && !limit.enabled())
    return false;
  cut = cut || (limit.hard_bytes > 0 && pending > limit.hard_bytes);
  if (!cut && limit.soft_bytes > 0 && pending > limit.soft_bytes) {
    auto now = shard::unix_now_ms();
    if (conn.over_soft_since_ms == 0)
      conn.over_soft_since_ms = now;
    else if (now - conn.over_soft_since_ms >= limit.soft_seconds * 1000)
      cut = true;
  } else if (!cut) {
    conn.over_soft_since_ms = 0;
  }
  if (!cut)
    return false;
  if (self->state.config.log)
    self->state.config.log("Client id=" + std::to_string(conn.serial)
                           + " closed for overcoming of output buffer limits ("
                           + std::to_string(pending) + " bytes pending).");
  // CAF's close waits until everything queued is written, which a client that does
  // not read never allows; shutting the socket down makes the pending write fail
  // now. (With CAF's default multiplexer a connection handle is its socket.)
  ::shutdown(static_cast<int>(conn.handle.id()), SHUT_RDWR);
  self->close(conn.handle);
  ++self->state.figures.output_limit_disconnections;
  forget(self, it);
  return true;
}

// CONFIG GET pattern [pattern ...]: every setting whose name matches a pattern.
void config_get(const node_settings& settings,
                const std::vector<std::string_view>& argv,
                protocol::reply_writer& out) {
  std::vector<const setting*> hits;
  for (const auto& entry : settings.entries)
    for (std::size_t i = 2; i < argv.size(); ++i)
      if (commands::glob_match(argv[i], entry.name, true)) {
        hits.push_back(&entry);
        break;
      }
  out.map(hits.size());
  for (const auto* entry : hits) {
    out.bulk(entry->name);
    out.bulk(entry->get());
  }
}

// CONFIG SET name value [name value ...]: all pairs are checked before any is
// applied, so the command changes everything or nothing, as in Redis 7.
void config_set(node_settings& settings, const std::vector<std::string_view>& argv,
                protocol::reply_writer& out) {
  if (argv.size() < 4 || argv.size() % 2 != 0) {
    out.error("ERR wrong number of arguments for 'config|set' command");
    return;
  }
  auto failed = [&](const std::string& name, const std::string& why) {
    out.error("ERR CONFIG SET failed (possibly related to argument '" + name
              + "') - " + why);
  };
  std::vector<std::pair<const setting*, std::string>> changes;
  for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
    const auto* entry = settings.find(argv[i]);
    if (entry == nullptr) {
      std::string msg = "ERR Unknown option or number of arguments for CONFIG SET - '";
      msg.append(argv[i].substr(0, 128));
      msg.append("'");
      out.error(msg);
      return;
    }
    for (const auto& change : changes)
      if (change.first == entry) {
        failed(entry->name, "duplicate parameter");
        return;
      }
    if (!entry->apply) {
      failed(entry->name, "can't set immutable config");
      return;
    }
    std::string value{argv[i + 1]};
    if (auto why = entry->check(value); !why.empty()) {
      failed(entry->name, why);
      return;
    }
    changes.emplace_back(entry, std::move(value));
  }
  for (const auto& [entry, value] : changes)
    entry->apply(value);
  out.simple("OK");
}

void config_command(gateway_actor* self, connection& conn,
                    const std::vector<std::string_view>& argv,
                    commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& settings = *self->state.config.settings;
  auto sub = argv[1];
  if (commands::equals_ignoring_case(sub, "get") && argv.size() >= 3) {
    config_get(settings, argv, out);
  } else if (commands::equals_ignoring_case(sub, "get")) {
    out.error("ERR wrong number of arguments for 'config|get' command");
  } else if (commands::equals_ignoring_case(sub, "set")) {
    config_set(settings, argv, out);
  } else if (commands::equals_ignoring_case(sub, "resetstat") && argv.size() == 2) {
    auto& figures = self->state.figures;
    figures.connections_received = 0;
    figures.commands_processed = 0;
    figures.rejected_connections = 0;
    figures.output_limit_disconnections = 0;
    std::fill(figures.calls.begin(), figures.calls.end(), 0);
    std::fill(figures.rejected_calls.begin(), figures.rejected_calls.end(), 0);
    if (const auto& memory = self->state.config.memory)
      memory->reset_stats();
    work.add_reset_stats(conn.context);
    return;
  } else if (commands::equals_ignoring_case(sub, "resetstat")) {
    out.error("ERR wrong number of arguments for 'config|resetstat' command");
  } else {
    std::string msg = "ERR unknown subcommand '";
    msg.append(sub.substr(0, 128));
    msg.append("'. Try CONFIG HELP.");
    out.error(msg);
  }
  work.add_reply(conn.context, reply);
}

commands::plan* find_plan(gateway_actor* self, std::uint64_t id);
void resume_input(gateway_actor* self, std::uint64_t tag);
void plan_progressed(gateway_actor* self, std::uint64_t id, bool shards_done);

// What a (P)SUBSCRIBE / (P)UNSUBSCRIBE acts on.
struct subscription_kind {
  const char* subscribe_reply;   // "subscribe" or "psubscribe"
  const char* unsubscribe_reply; // "unsubscribe" or "punsubscribe"
  std::set<std::string> connection::*names;
  bool patterns;
};

constexpr subscription_kind channel_kind{"subscribe", "unsubscribe",
                                         &connection::channels, false};
constexpr subscription_kind pattern_kind{"psubscribe", "punsubscribe",
                                         &connection::patterns, true};

std::int64_t subscription_count(const connection& conn) {
  return static_cast<std::int64_t>(conn.channels.size() + conn.patterns.size());
}

// Reserves the reply of the command being planned for an answer that arrives
// later (from the subscription broker); the returned function puts it in place.
auto reply_later(gateway_actor* self, connection& conn, commands::plan& work) {
  auto index = work.add_external(conn.context);
  auto id = self->state.building_id;
  return [self, id, index](std::string_view resp) {
    auto* plan = find_plan(self, id);
    if (plan != nullptr && plan->fill_external(index, resp))
      plan_progressed(self, id, false);
  };
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
void subscribe_command(gateway_actor* self, connection& conn,
                       const std::vector<std::string_view>& argv,
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
    out.integer(subscription_count(conn));
  }
  auto& broker = self->state.config.subscriptions;
  if (added.empty() || !broker) {
    work.add_reply(conn.context, reply);
    return;
  }
  track_output(self, conn);
  if (kind.patterns)
    tell_broker(self, conn, work, std::move(reply), subscription_broker::psubscribe_atom::value,
                std::move(added));
  else
    tell_broker(self, conn, work, std::move(reply), subscription_broker::subscribe_atom::value,
                std::move(added));
}

// UNSUBSCRIBE [channel...] / PUNSUBSCRIBE [pattern...]: without names, all.
void unsubscribe_command(gateway_actor* self, connection& conn,
                         const std::vector<std::string_view>& argv,
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
    out.integer(subscription_count(conn));
  }
  for (const auto& name : names) {
    held.erase(name);
    out.push(3);
    out.bulk(kind.unsubscribe_reply);
    out.bulk(name);
    out.integer(subscription_count(conn));
  }
  auto& broker = self->state.config.subscriptions;
  if (names.empty() || !broker) {
    work.add_reply(conn.context, reply);
    return;
  }
  if (kind.patterns)
    tell_broker(self, conn, work, std::move(reply),
                subscription_broker::punsubscribe_atom::value, std::move(names));
  else
    tell_broker(self, conn, work, std::move(reply),
                subscription_broker::unsubscribe_atom::value, std::move(names));
}

// -- multi-step commands --------------------------------------------------------
//
// RENAME, RENAMENX and MSETNX read before they write, and their keys may live on
// different shards. Each runs as steps: operations planned for no connection (a
// hidden client) into the plan being built, and a function run once that plan's
// shards have answered, which plans the next step or fills in the client's reply.
// Meanwhile the client's later commands wait (waiting_for_step), so a pipeline
// sees the command's effect; other clients may act on the same keys between
// steps (the README says what that means for each command).

const commands::client_context hidden_client{0, 2};

// Plans a step into the plan being built: `build(plan)` adds its operations and
// `then(plan, first_record)` runs once that plan's shards have answered.
template <class Build, class Then>
void plan_step(gateway_actor* self, Build build, Then then) {
  auto& work = current_plan(self);
  auto first = work.size();
  build(work);
  auto id = self->state.building_id;
  self->state.after_shards[id].push_back([self, id, first, then]() mutable {
    if (auto* plan = find_plan(self, id))
      then(*plan, first);
  });
}

// The merged reply of record `index` of a plan whose shards have answered.
std::string reply_of(const commands::plan& plan, std::size_t index) {
  std::string out;
  plan.write_reply(index, out, {});
  return out;
}

// A multi-step command's reply slot and the client's paused input, together.
auto begin_steps(gateway_actor* self, connection& conn, commands::plan& work) {
  auto fill = reply_later(self, conn, work);
  conn.waiting_for_step = true;
  auto tag = conn.context.tag;
  return [self, fill, tag](std::string_view resp) mutable {
    fill(resp);
    resume_input(self, tag);
  };
}

// RENAME key newkey / RENAMENX key newkey: step 1 reads the source (value and
// deadline) and, for RENAMENX, whether the target exists; step 2 deletes the
// source and writes the target with the same deadline.
void rename_command(gateway_actor* self, connection& conn,
                    const std::vector<std::string_view>& argv, commands::plan& work,
                    bool only_if_new) {
  auto finish = begin_steps(self, conn, work);
  std::string src{argv[1]};
  std::string dst{argv[2]};
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& peek = p.open(hidden_client, commands::plan::merge::single);
      p.route(peek, shard::op_code::peek, src);
      auto& exists = p.open(hidden_client, commands::plan::merge::sum);
      p.route(exists, shard::op_code::exists, dst);
    },
    [self, finish, src, dst, only_if_new](commands::plan& p, std::size_t first) mutable {
      protocol::reply source;
      auto peeked = reply_of(p, first);
      if (protocol::read_reply(peeked, source).status != protocol::read_status::complete
          || source.type != protocol::reply::kind::array || source.elements.size() != 2) {
        finish(source.type == protocol::reply::kind::error ? peeked
                                                           : "-ERR no such key\r\n");
        return;
      }
      bool target_exists = reply_of(p, first + 1) != ":0\r\n";
      if (src == dst) {
        finish(only_if_new ? ":0\r\n" : "+OK\r\n");
        return;
      }
      if (only_if_new && target_exists) {
        finish(":0\r\n");
        return;
      }
      auto value = source.elements[0].text;
      auto deadline = source.elements[1].integer;
      plan_step(
        self,
        [&](commands::plan& next) {
          auto& out = next.open(hidden_client, commands::plan::merge::single);
          next.route(out, shard::op_code::rename_from, src);
          auto& in = next.open(hidden_client, commands::plan::merge::single);
          next.route(in, shard::op_code::rename_to, dst, value, deadline);
        },
        [finish, only_if_new](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, second + 1);
          if (written.front() == '-')
            finish(written);
          else
            finish(only_if_new ? ":1\r\n" : "+OK\r\n");
        });
    });
}

// MSETNX key value [key value ...]: step 1 counts the keys that exist; step 2,
// if none does, sets them all.
void msetnx_command(gateway_actor* self, connection& conn,
                    const std::vector<std::string_view>& argv, commands::plan& work) {
  if (argv.size() % 2 == 0) {
    work.add_reply(conn.context, "-ERR wrong number of arguments for 'msetnx' command\r\n");
    return;
  }
  auto finish = begin_steps(self, conn, work);
  std::vector<std::string> pairs(argv.begin() + 1, argv.end());
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& count = p.open(hidden_client, commands::plan::merge::sum);
      for (std::size_t i = 0; i < pairs.size(); i += 2)
        p.route(count, shard::op_code::exists, pairs[i]);
    },
    [self, finish, pairs](commands::plan& p, std::size_t first) mutable {
      auto existing = reply_of(p, first);
      if (existing != ":0\r\n") {
        finish(existing.front() == '-' ? existing : ":0\r\n");
        return;
      }
      plan_step(
        self,
        [&](commands::plan& next) {
          auto& set = next.open(hidden_client, commands::plan::merge::all_ok);
          for (std::size_t i = 0; i < pairs.size(); i += 2)
            next.route(set, shard::op_code::set, pairs[i], pairs[i + 1]);
        },
        [finish](commands::plan& next, std::size_t second) mutable {
          auto written = reply_of(next, second);
          finish(written.front() == '-' ? written : ":1\r\n");
        });
    });
}

// PUBLISH channel message: the broker counts the receivers; the reply takes its
// place in the plan when that count arrives.
void publish_command(gateway_actor* self, connection& conn,
                     const std::vector<std::string_view>& argv,
                     commands::plan& work) {
  auto& st = self->state;
  if (!st.config.subscriptions) {
    work.add_reply(conn.context, ":0\r\n");
    return;
  }
  auto fill = reply_later(self, conn, work);
  self->request(st.config.subscriptions, caf::infinite,
                subscription_broker::publish_atom::value, std::string{argv[1]},
                std::string{argv[2]})
    .then(
      [fill](std::int64_t receivers) mutable {
        std::string resp;
        protocol::reply_writer{resp}.integer(receivers);
        fill(resp);
      },
      [fill](caf::error&) mutable { fill(":0\r\n"); });
}

// PUBSUB CHANNELS [pattern] | NUMSUB [channel...] | NUMPAT: answered by the broker.
void pubsub_command(gateway_actor* self, connection& conn,
                    const std::vector<std::string_view>& argv,
                    commands::plan& work) {
  auto& st = self->state;
  auto sub = argv[1];
  int resp_version = conn.context.resp_version;
  bool is_channels = commands::equals_ignoring_case(sub, "channels");
  bool is_numpat = commands::equals_ignoring_case(sub, "numpat");
  bool numsub = commands::equals_ignoring_case(sub, "numsub");
  bool channels = is_channels && argv.size() <= 3;
  bool numpat = is_numpat && argv.size() == 2;
  if (!channels && !numsub && !numpat) {
    std::string reply;
    std::string msg;
    if (is_channels || is_numpat) {
      msg = is_channels ? "ERR wrong number of arguments for 'pubsub|channels' command"
                        : "ERR wrong number of arguments for 'pubsub|numpat' command";
    } else {
      msg = "ERR unknown subcommand '";
      msg.append(sub.substr(0, 128));
      msg.append("'. Try PUBSUB HELP.");
    }
    protocol::reply_writer{reply, resp_version}.error(msg);
    work.add_reply(conn.context, reply);
    return;
  }
  auto fill = reply_later(self, conn, work);
  auto on_error = [fill](caf::error&) { fill("-ERR subscription broker unavailable\r\n"); };
  auto& broker = st.config.subscriptions;
  if (channels) {
    std::string pattern = argv.size() == 3 ? std::string{argv[2]} : std::string{};
    self->request(broker, caf::infinite, subscription_broker::channels_atom::value, pattern)
      .then(
        [fill, resp_version](const std::vector<std::string>& names) {
          std::string resp;
          protocol::reply_writer out{resp, resp_version};
          out.array(names.size());
          for (auto& n : names)
            out.bulk(n);
          fill(resp);
        },
        on_error);
  } else if (numsub) {
    std::vector<std::string> names(argv.begin() + 2, argv.end());
    self->request(broker, caf::infinite, subscription_broker::numsub_atom::value, names)
      .then(
        [fill, names, resp_version](const std::vector<std::int64_t>& counts) {
          std::string resp;
          protocol::reply_writer out{resp, resp_version};
          out.map(names.size());
          for (std::size_t i = 0; i < names.size(); ++i) {
            out.bulk(names[i]);
            out.integer(i < counts.size() ? counts[i] : 0);
          }
          fill(resp);
        },
        on_error);
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

// In RESP2 a subscribed connection may only manage its subscriptions, PING and
// QUIT; anything else gets Redis's error and runs nowhere.
bool refused_while_subscribed(connection& conn, const commands::command_spec* spec,
                              const std::vector<std::string_view>& argv,
                              commands::plan& work) {
  if (subscription_count(conn) == 0 || conn.context.resp_version >= 3)
    return false;
  if (spec == nullptr)
    return false; // unknown commands get the unknown-command error
  std::string_view name = spec->name;
  if (name == "subscribe" || name == "unsubscribe" || name == "psubscribe"
      || name == "punsubscribe" || name == "quit")
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

// SAVE, BGSAVE and BGREWRITEAOF: the saver answers (SAVE once the snapshot is
// on disk; the other clients are served meanwhile).
template <class Atom>
void ask_saver(gateway_actor* self, connection& conn, commands::plan& work, Atom what) {
  const auto& saver = self->state.config.saver;
  if (!saver) {
    work.add_reply(conn.context, "-ERR this node has no persistence\r\n");
    return;
  }
  auto fill = reply_later(self, conn, work);
  self->request(saver, caf::infinite, what)
    .then([fill](std::string& reply) mutable { fill(reply); },
          [fill](caf::error&) mutable { fill("-ERR the saver did not answer\r\n"); });
}

// Commands that need the connection or the node: QUIT, INFO, CONFIG, pub/sub.
void gateway_command(gateway_actor* self, connection& conn,
                     const std::vector<std::string_view>& argv,
                     commands::plan& work) {
  auto name = argv[0];
  if (commands::equals_ignoring_case(name, "quit")) {
    work.add_reply(conn.context, "+OK\r\n");
    conn.closing = true;
  } else if (commands::equals_ignoring_case(name, "info")) {
    std::string section;
    for (std::size_t i = 1; i < argv.size(); ++i) {
      if (i > 1)
        section += ' ';
      section.append(argv[i]);
    }
    work.add_info(conn.context, section);
  } else if (commands::equals_ignoring_case(name, "config")) {
    config_command(self, conn, argv, work);
  } else if (commands::equals_ignoring_case(name, "rename")) {
    rename_command(self, conn, argv, work, false);
  } else if (commands::equals_ignoring_case(name, "renamenx")) {
    rename_command(self, conn, argv, work, true);
  } else if (commands::equals_ignoring_case(name, "msetnx")) {
    msetnx_command(self, conn, argv, work);
  } else if (commands::equals_ignoring_case(name, "auth")) {
    work.add_reply(conn.context, auth_command(conn, self->state.config.settings->limits,
                                              argv));
  } else if (commands::equals_ignoring_case(name, "hello")) {
    // The reply is already in the dialect HELLO switched to.
    auto reply = hello_command(conn, self->state.config.settings->limits, argv);
    work.add_reply(conn.context, reply);
  } else if (commands::equals_ignoring_case(name, "client")) {
    work.add_reply(conn.context, client_command(conn, self->state.connections, argv,
                                                shard::unix_now_ms()));
  } else if (commands::equals_ignoring_case(name, "subscribe")) {
    subscribe_command(self, conn, argv, work, channel_kind);
  } else if (commands::equals_ignoring_case(name, "psubscribe")) {
    subscribe_command(self, conn, argv, work, pattern_kind);
  } else if (commands::equals_ignoring_case(name, "unsubscribe")) {
    unsubscribe_command(self, conn, argv, work, channel_kind);
  } else if (commands::equals_ignoring_case(name, "punsubscribe")) {
    unsubscribe_command(self, conn, argv, work, pattern_kind);
  } else if (commands::equals_ignoring_case(name, "publish")) {
    publish_command(self, conn, argv, work);
  } else if (commands::equals_ignoring_case(name, "pubsub")) {
    pubsub_command(self, conn, argv, work);
  } else if (commands::equals_ignoring_case(name, "save")) {
    ask_saver(self, conn, work, persistence::save_atom::value);
  } else if (commands::equals_ignoring_case(name, "bgsave")) {
    if (argv.size() > 2
        || (argv.size() == 2 && !commands::equals_ignoring_case(argv[1], "schedule")))
      work.add_reply(conn.context, "-ERR syntax error\r\n");
    else
      ask_saver(self, conn, work, persistence::bgsave_atom::value);
  } else if (commands::equals_ignoring_case(name, "bgrewriteaof")) {
    ask_saver(self, conn, work, persistence::bgrewrite_atom::value);
  } else if (commands::equals_ignoring_case(name, "lastsave")) {
    const auto& p = self->state.config.persistence;
    work.add_reply(conn.context,
                   ":" + std::to_string(p ? p->last_save_time.load(std::memory_order_relaxed)
                                          : 0)
                     + "\r\n");
  }
}

// Parses every complete command in `data`, plans it, and returns how many bytes
// were consumed. Stops at a protocol error after planning its error reply.
std::size_t consume(gateway_actor* self, connection& conn, const char* data,
                    std::size_t size) {
  std::size_t pos = 0;
  while (!conn.closing && !conn.waiting_for_step) {
    auto status = conn.parser.parse(data + pos, size - pos);
    if (status == protocol::request_parser::status::error) {
      std::string reply;
      protocol::reply_writer out{reply, conn.context.resp_version};
      std::string msg = "ERR ";
      msg.append(conn.parser.error());
      out.error(msg);
      current_plan(self).add_reply(conn.context, reply);
      ++conn.unanswered;
      conn.closing = true;
      return size;
    }
    pos += conn.parser.consumed();
    if (status == protocol::request_parser::status::need_more)
      break;
    auto& work = current_plan(self);
    ++conn.unanswered;
    ++self->state.figures.commands_processed;
    const auto& argv = conn.parser.args();
    const auto* spec = commands::find_command(argv[0]);
    auto& figures = self->state.figures;
    auto command_index = spec != nullptr ? static_cast<std::size_t>(
                                             spec - commands::all_commands().data())
                                         : 0;
    if (!conn.authenticated) {
      std::string refusal;
      if (!allowed_before_auth(conn, argv, refusal)) {
        if (spec != nullptr)
          ++figures.rejected_calls[command_index];
        work.add_reply(conn.context, refusal);
        continue;
      }
    }
    if (spec != nullptr) {
      conn.last_command = spec;
      conn.last_subcommand.clear();
      std::string_view name = spec->name;
      if (argv.size() > 1 && (name == "client" || name == "config"))
        conn.last_subcommand = commands::to_lower(argv[1].substr(0, 32));
    }
    // CLIENT REPLY: subscription confirmations always go out (they are pushes),
    // and CLIENT REPLY itself decides about its own reply.
    bool silent = false;
    if ((conn.replies_off || conn.skip_next_reply) && spec != nullptr) {
      std::string_view name = spec->name;
      bool exempt = name == "subscribe" || name == "psubscribe" || name == "unsubscribe"
                    || name == "punsubscribe"
                    || (name == "client" && argv.size() > 1
                        && commands::equals_ignoring_case(argv[1], "reply"));
      silent = !exempt;
      if (!exempt)
        conn.skip_next_reply = false;
    }
    auto first_record = work.size();
    bool refused = refused_while_subscribed(conn, spec, argv, work);
    if (spec != nullptr) {
      if (refused || !commands::arity_ok(*spec, argv.size()))
        ++figures.rejected_calls[command_index];
      else
        ++figures.calls[command_index];
    }
    if (!refused
        && commands::execute_command(work, conn.context, argv, spec)
             == commands::outcome::gateway)
      gateway_command(self, conn, argv, work);
    if (silent)
      work.silence_from(first_record);
  }
  return pos;
}

// Parses what a client sent while one of its multi-step commands ran.
void resume_input(gateway_actor* self, std::uint64_t tag) {
  auto& st = self->state;
  auto it = find_client(st, tag);
  if (it == st.connections.end())
    return;
  auto& conn = it->second;
  conn.waiting_for_step = false;
  if (conn.input.empty() || conn.closing)
    return;
  auto used = consume(self, conn, conn.input.data(), conn.input.size());
  conn.input.erase(0, used);
}

void on_data(gateway_actor* self, caf::io::new_data_msg& msg) {
  auto& st = self->state;
  auto it = st.connections.find(msg.handle.id());
  if (it == st.connections.end())
    return;
  auto& conn = it->second;
  if (conn.closing)
    return; // nothing more is read from a client that is being closed
  conn.last_active_ms = shard::unix_now_ms();
  if (conn.input.empty()) {
    // Common case: parse straight from CAF's buffer, keep only an incomplete tail.
    auto used = consume(self, conn, msg.buf.data(), msg.buf.size());
    if (used < msg.buf.size() && !conn.closing)
      conn.input.assign(msg.buf.data() + used, msg.buf.size() - used);
  } else {
    conn.input.append(msg.buf.data(), msg.buf.size());
    auto used = consume(self, conn, conn.input.data(), conn.input.size());
    conn.input.erase(0, used);
    release_if_large(conn.input); // after a large value, as Redis's query buffer
  }
  if (conn.input.size() > max_query_buffer) {
    // Redis's behaviour: the client is closed, nobody else notices.
    conn.input.clear();
    conn.input.shrink_to_fit();
    conn.closing = true;
    if (conn.unanswered == 0) {
      self->close(conn.handle);
      forget(self, it);
    }
  }
}

// Writes the replies of every finished plan at the head of the queue, in order.
void drain(gateway_actor* self) {
  auto& st = self->state;
  auto renderer = [self](std::string& out, std::string_view section,
                         const commands::keyspace_totals& totals) {
    render(self, out, section, totals);
  };
  commands::info_renderer info{renderer};
  while (!st.in_flight.empty() && st.in_flight.front().work.complete()) {
    auto& work = st.in_flight.front().work;
    std::uint64_t last_client = ~std::uint64_t{0};
    connection* conn = nullptr;
    for (std::size_t i = 0; i < work.size(); ++i) {
      auto client = work.client_of(i);
      if (client != last_client) {
        auto it = find_client(st, client);
        conn = it == st.connections.end() ? nullptr : &it->second;
        last_client = client;
        if (conn != nullptr && conn->output.empty())
          st.touched.push_back(client);
      }
      if (conn == nullptr)
        continue; // the client left; its replies go nowhere
      work.write_reply(i, conn->output, info);
      --conn->unanswered;
    }
    st.in_flight.pop_front();
  }
  for (auto client : st.touched) {
    auto it = find_client(st, client);
    if (it == st.connections.end())
      continue;
    auto& conn = it->second;
    if (conn.unanswered == 0 && !conn.deferred_pushes.empty()) {
      conn.output += conn.deferred_pushes;
      conn.deferred_pushes.clear();
    }
    if (!conn.output.empty()) {
      write_out(self, conn, conn.output);
      conn.output.clear();
      release_if_large(conn.output);
      if (enforce_output_limit(self, it))
        continue;
    }
    if (conn.closing && conn.unanswered == 0) {
      self->close(conn.handle);
      forget(self, it);
    }
  }
  st.touched.clear();
}

// Tells the engine manager this gateway has switched to the new entry engine,
// once nothing of it can still reach the old one. A plan already built on the old
// engine but not sent yet counts as well: acknowledging before it went out would
// let the manager retire the old shards while that plan is on its way to them,
// and a shard that ends with a request in hand never answers it.
void acknowledge_switch(gateway_actor* self) {
  auto& st = self->state;
  const auto* current = st.follower.current()->entry.get();
  if (st.building && st.building->entry() != current)
    return;
  for (const auto& entry : st.in_flight)
    if (!entry.sent && entry.work.entry() != current)
      return;
  if (auto generation = st.follower.take_acknowledgement())
    self->send(st.config.manager, engine_manager::applied_atom::value, generation);
}

void send_batches(gateway_actor* self, plan_in_flight& entry);

// Hands the batches of queued plans to their shards, oldest first, as far as the
// switching discipline allows.
void pump(gateway_actor* self) {
  auto& st = self->state;
  for (auto& entry : st.in_flight) {
    if (entry.sent)
      continue;
    if (!st.follower.may_send(entry.work.entry()))
      break;
    send_batches(self, entry);
  }
}

// After a plan's last shard answered, or its last external reply arrived.
void plan_progressed(gateway_actor* self, std::uint64_t id, bool shards_done) {
  auto& st = self->state;
  if (shards_done)
    st.follower.answered();
  if (!st.in_flight.empty() && id == st.in_flight.front().id)
    drain(self);
  pump(self);
  acknowledge_switch(self);
}

// Finds a dispatched plan by id; nullptr if it was answered already.
commands::plan* find_plan(gateway_actor* self, std::uint64_t id) {
  auto& queue = self->state.in_flight;
  if (queue.empty() || id < queue.front().id || id - queue.front().id >= queue.size())
    return nullptr;
  return &queue[id - queue.front().id].work;
}

// Runs the steps waiting for plan `id`'s shards (before its replies are written).
void run_after_shards(gateway_actor* self, std::uint64_t id) {
  auto& pending = self->state.after_shards;
  auto it = pending.find(id);
  if (it == pending.end())
    return;
  auto steps = std::move(it->second);
  pending.erase(it);
  for (auto& step : steps)
    step();
}

void send_batches(gateway_actor* self, plan_in_flight& entry) {
  entry.sent = true;
  auto& work = entry.work;
  if (work.busy_shards().empty()) {
    run_after_shards(self, entry.id);
    return;
  }
  auto id = entry.id;
  self->state.follower.sent(work.entry());
  for (auto shard : work.busy_shards()) {
    auto on_reply = [self, id, shard](shard::batch_result& result) {
      auto* work = find_plan(self, id);
      if (work == nullptr || work->shards_answered())
        return; // the plan was already answered (a shard failed earlier)
      work->deliver(shard, std::move(result));
      if (work->shards_answered()) {
        run_after_shards(self, id);
        plan_progressed(self, id, true);
      }
    };
    auto on_error = [self, id](caf::error&) {
      auto* work = find_plan(self, id);
      if (work == nullptr || work->shards_answered())
        return;
      work->fail_pending("-ERR shard unavailable\r\n");
      run_after_shards(self, id);
      plan_progressed(self, id, true);
    };
    self->request(work.routing().shard(shard), caf::infinite,
                  work.take_batch(shard))
      .then(on_reply, on_error);
  }
}

void dispatch(gateway_actor* self) {
  auto& st = self->state;
  if (!st.building)
    return;
  auto id = st.building_id;
  st.in_flight.push_back(plan_in_flight{id, std::move(*st.building)});
  st.building.reset();
  pump(self);
  drain(self); // plans without shard work (PING, errors) are complete already
  acknowledge_switch(self);
}

// Writes a published message to each target connection: `message` for channel
// subscribers, `pmessage` (with the pattern) for pattern subscribers.
void deliver(gateway_actor* self, const std::vector<std::uint64_t>& targets,
             const std::string* pattern, const std::string& channel,
             const std::string& message) {
  auto& st = self->state;
  for (auto tag : targets) {
    auto it = find_client(st, tag);
    if (it == st.connections.end())
      continue;
    auto& conn = it->second;
    std::string push;
    protocol::reply_writer out{push, conn.context.resp_version};
    out.push(pattern ? 4 : 3);
    out.bulk(pattern ? "pmessage" : "message");
    if (pattern)
      out.bulk(*pattern);
    out.bulk(channel);
    out.bulk(message);
    if (conn.unanswered > 0)
      conn.deferred_pushes += push;
    else
      write_out(self, conn, push);
    enforce_output_limit(self, it);
  }
}

// Redis's `timeout`: a client idle that long is closed, unless it is subscribed
// or still owed replies.
void close_idle(gateway_actor* self) {
  auto& st = self->state;
  auto timeout = st.config.settings->limits.timeout_seconds;
  if (timeout <= 0)
    return;
  auto now = shard::unix_now_ms();
  std::vector<std::uint64_t> idle; // map keys (handle ids)
  for (const auto& [key, conn] : st.connections)
    if (!conn.subscribed() && conn.unanswered == 0 && !conn.closing
        && now - conn.last_active_ms >= timeout * 1000)
      idle.push_back(key);
  for (auto key : idle) {
    auto it = st.connections.find(key);
    self->close(it->second.handle);
    forget(self, it);
  }
}

caf::behavior resp_gateway(gateway_actor* self, gateway_config config,
                           caf::io::doorman_ptr listener) {
  auto& st = self->state;
  st.figures.calls.assign(commands::all_commands().size(), 0);
  st.figures.rejected_calls.assign(commands::all_commands().size(), 0);
  self->delayed_send(self, tick_interval, tick_atom::value);
  st.config = std::move(config);
  st.follower = engine::routing_follower{st.config.routing};
  // Clients are accepted only once the engine manager knows this router: it must
  // not retire an engine this gateway might still send to. Until then they wait
  // in the listen backlog.
  self->request(st.config.manager, caf::infinite,
                engine_manager::subscribe_atom::value,
                caf::actor_cast<caf::actor>(self))
    .then([self, listener](engine::routing_ptr& snapshot) mutable {
      self->state.follower.update(std::move(snapshot));
      acknowledge_switch(self);
      self->add_doorman(std::move(listener));
    });
  return {
    [self](engine_manager::routing_atom, engine::routing_ptr& snapshot) {
      self->state.follower.update(std::move(snapshot));
      acknowledge_switch(self);
    },
    [self](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      if (static_cast<std::int64_t>(st.connections.size())
          >= st.config.settings->limits.maxclients) {
        // Redis's answer to one client too many: an error, then the door.
        static constexpr std::string_view refusal
          = "-ERR max number of clients reached\r\n";
        self->write(msg.handle, refusal.size(), refusal.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        ++st.figures.rejected_connections;
        return;
      }
      auto id = msg.handle.id();
      auto& conn = st.connections[id];
      conn.handle = msg.handle;
      conn.serial = ++st.last_serial;
      conn.context.tag = (conn.serial << 32) | static_cast<std::uint32_t>(id);
      conn.authenticated = st.config.settings->limits.requirepass.empty();
      conn.parser.set_unauthenticated(!conn.authenticated);
      if (!conn.authenticated)
        track_output(self, conn);
      conn.created_ms = conn.last_active_ms = shard::unix_now_ms();
      conn.addr = self->remote_addr(msg.handle) + ":"
                  + std::to_string(self->remote_port(msg.handle));
      conn.laddr = st.config.facts->bind + ":" + std::to_string(st.config.facts->tcp_port);
      ++st.figures.connections_received;
      self->configure_read(msg.handle,
                           caf::io::receive_policy::at_most(read_chunk));
    },
    [self](caf::io::new_data_msg& msg) { on_data(self, msg); },
    [self](const caf::io::connection_closed_msg& msg) {
      // Replies still in flight for this client are dropped when they arrive.
      auto& st = self->state;
      auto it = st.connections.find(msg.handle.id());
      if (it != st.connections.end())
        forget(self, it);
    },
    [self](const caf::io::data_transferred_msg& msg) {
      auto& st = self->state;
      auto it = st.connections.find(msg.handle.id());
      if (it == st.connections.end())
        return;
      auto& conn = it->second;
      conn.unsent -= static_cast<std::int64_t>(msg.written);
      if (conn.unsent < 0)
        conn.unsent = 0; // writes queued before tracking began
      if (enforce_output_limit(self, it))
        return;
      if (conn.unsent == 0)
        release_socket_buffer(self, conn);
      // Drained: a normal client goes back to the untracked fast path.
      if (conn.unsent == 0 && conn.authenticated && !conn.subscribed()
          && !conn.reading_paused) {
        conn.tracking_output = false;
        self->ack_writes(conn.handle, false);
      }
    },
    [self](subscription_broker::deliver_atom, const std::vector<std::uint64_t>& targets,
           const std::string& channel, const std::string& message) {
      deliver(self, targets, {}, channel, message);
    },
    [self](subscription_broker::pdeliver_atom, const std::vector<std::uint64_t>& targets,
           const std::string& pattern, const std::string& channel,
           const std::string& message) {
      deliver(self, targets, &pattern, channel, message);
    },
    [self](const caf::io::acceptor_closed_msg&) {
      // The listener is gone; serve the open connections until they leave.
    },
    [self](dispatch_atom) { dispatch(self); },
    [self](tick_atom) {
      close_idle(self);
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
  };
}

} // namespace

caf::expected<listener> listen(caf::actor_system& system, const std::string& bind,
                               std::uint16_t port) {
  auto socket = system.middleman().backend().new_tcp_doorman(port, bind.c_str(), true);
  if (!socket)
    return std::move(socket.error());
  auto bound = (*socket)->port();
  return listener{std::move(*socket), bound};
}

caf::actor spawn_gateway(caf::actor_system& system, gateway_config config,
                         listener socket) {
  return system.middleman().spawn_broker(resp_gateway, std::move(config),
                                         std::move(socket.socket));
}

} // namespace stairkv::gateway
