// Cluster mode on the client side: where each command runs (Redis's
// -MOVED / -ASK / -CROSSSLOT / -TRYAGAIN / -CLUSTERDOWN rules, from the view
// the cluster actor sends), CLUSTER, ASKING, READONLY, READWRITE, and MIGRATE,
// which hands keys to the importing node through the cluster actor.

#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "modules/cluster/messages.hpp"
#include "modules/cluster/slots.hpp"
#include "modules/cluster/view.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

namespace {

constexpr std::string_view disabled = "-ERR This instance has cluster support disabled\r\n";

// The words whose slots decide where a command runs: its keys, and the shard
// channels of the sharded pub/sub commands.
void routing_words(const commands::command_spec& spec, const args& argv,
                   std::vector<std::string_view>& words) {
  std::string_view name = spec.name;
  if (name == "spublish") {
    words.push_back(argv[1]);
    return;
  }
  if (name == "ssubscribe" || name == "sunsubscribe") {
    words.insert(words.end(), argv.begin() + 1, argv.end());
    return;
  }
  commands::collect_keys(spec, argv, words);
}

// The slot the words hash to (or that they span several), and whether they
// are more than one key.
cluster::key_slots slots_of(const std::vector<std::string_view>& words) {
  cluster::key_slots ks;
  for (auto w : words) {
    auto slot = cluster::key_slot(w);
    if (ks.slot < 0)
      ks.slot = slot;
    else if (ks.slot != slot)
      ks.cross = true;
    ks.multiple = ks.multiple || w != words.front();
  }
  return ks;
}

std::string redirect_reply(const cluster::view& v, const cluster::verdict& verdict) {
  using kind = cluster::verdict::kind;
  switch (verdict.what) {
    case kind::moved:
    case kind::ask:
      return std::string{verdict.what == kind::moved ? "-MOVED " : "-ASK "}
             + std::to_string(verdict.slot) + " " + v.endpoints.at(verdict.node) + "\r\n";
    case kind::crossslot:
      return "-CROSSSLOT Keys in request don't hash to the same slot\r\n";
    case kind::tryagain:
      return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
    case kind::down_unbound:
      return "-CLUSTERDOWN Hash slot not served\r\n";
    case kind::down_state:
      return "-CLUSTERDOWN The cluster is down\r\n";
    case kind::down_read_only:
      return "-CLUSTERDOWN The cluster is down and only accepts read commands\r\n";
    default:
      return {};
  }
}

// Learns how many of `keys` this node holds (the slot is open: migrating
// here, or importing), then parses the command again with the count known.
void check_presence(gateway_actor* self, connection& conn, std::vector<std::string> keys) {
  conn.waiting_for_step = true;
  auto tag = conn.context.tag;
  step_database = conn.context.db;
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& count = p.open(hidden_client(), commands::plan::merge::sum);
      for (const auto& key : keys)
        p.route(count, shard::op_code::exists, key);
    },
    [self, tag](commands::plan& p, std::size_t first) {
      auto count = p.count_of(first);
      auto it = find_client(self->state, tag);
      if (it == self->state.connections.end())
        return;
      it->second.presence = count.error.empty() ? count.total : 0;
      resume_input(self, tag);
      // The count is good for this one parse only: a key may move meanwhile.
      it = find_client(self->state, tag);
      if (it != self->state.connections.end())
        it->second.presence = -1;
    });
}

// A step's merged reply, decoded (its keys, counts and payloads are read
// from it).
protocol::reply decoded(const std::string& resp) {
  protocol::reply out;
  protocol::read_reply(resp, out);
  return out;
}

// Plans the keys of `slot` on every shard (at most `limit` per shard, 0: all)
// and hands `then` the merged array reply, decoded.
template <class Then>
void keys_in_slot(gateway_actor* self, std::uint16_t slot, std::uint32_t limit, Then then) {
  plan_step(
    self,
    [&](commands::plan& p) {
      auto& rec = p.open(hidden_client(), commands::plan::merge::concat);
      shard::origin_args scope;
      scope.slot = slot;
      scope.limit = limit;
      p.route_to_all(rec, shard::op_code::keys, "*", scope);
    },
    [then](commands::plan& p, std::size_t first) mutable {
      then(decoded(reply_of(p, first)));
    });
}

// Asks the cluster actor to run a CLUSTER subcommand (`keys_here`: the keys
// the subcommand's check needs, -1 when it needs none).
template <class Finish>
void ask_cluster(gateway_actor* self, const args& argv, std::int64_t keys_here, int resp,
                 Finish finish) {
  std::vector<std::string> words(argv.begin(), argv.end());
  self
    ->request(self->state.config.cluster, caf::infinite, cluster::request_atom::value,
              std::move(words), keys_here, static_cast<std::int32_t>(resp))
    .then([finish](std::string& reply) mutable { finish(reply); },
          [finish](caf::error&) mutable { finish("-ERR the cluster is not reachable\r\n"); });
}

bool read_slot(std::string_view text, std::uint16_t& slot, std::string& error) {
  std::int64_t n = 0;
  if (!protocol::parse_int64(text, n)) {
    error = protocol::errors::as_reply(protocol::errors::not_an_integer);
    return false;
  }
  if (n < 0 || n >= cluster::slot_count) {
    error = "-ERR Invalid slot\r\n";
    return false;
  }
  slot = static_cast<std::uint16_t>(n);
  return true;
}

} // namespace

cluster_route route_in_cluster(gateway_actor* self, connection& conn, const args& argv,
                               const commands::command_spec& spec, std::string& refusal) {
  static const auto* exec = commands::find_command("exec");
  static const auto* asking_spec = commands::find_command("asking");
  static const auto* restore_asking = commands::find_command("restore-asking");
  static const auto* migrate = commands::find_command("migrate");
  static const auto* multi = commands::find_command("multi");
  auto& st = self->state;
  bool asking = conn.asking || &spec == restore_asking;
  // ASKING is good for the next command, or for the transaction it starts.
  if (conn.asking && &spec != asking_spec && &spec != multi
      && (!conn.transaction.active || &spec == exec))
    conn.asking = false;
  // The words whose slots count, in a buffer kept from command to command.
  static thread_local std::vector<std::string_view> words;
  words.clear();
  bool write = (spec.flags & commands::flag::write) != 0;
  if (&spec == exec) {
    // A transaction runs where all its queued commands' keys are.
    for (const auto& queued : conn.transaction.queued) {
      const auto* s = commands::find_command(queued[0]);
      if (s == nullptr)
        continue;
      args call(queued.begin(), queued.end()); // views of the queued strings
      routing_words(*s, call, words);
      write = write || (s->flags & commands::flag::write) != 0;
    }
  } else if (spec.first_key > 0 && spec.first_key == spec.last_key
             && (spec.flags & commands::flag::movablekeys) == 0
             && static_cast<std::size_t>(spec.first_key) < argv.size()) {
    words.push_back(argv[static_cast<std::size_t>(spec.first_key)]); // one key: most commands
  } else {
    routing_words(spec, argv, words);
  }
  if (words.empty())
    return cluster_route::serve;
  const auto& v = st.cluster_view;
  if (!v) {
    refusal = "-CLUSTERDOWN The cluster is down\r\n";
    return cluster_route::refused;
  }
  auto ks = slots_of(words);
  cluster::route_flags flags{write, asking, &spec == migrate};
  auto present = static_cast<int>(conn.presence);
  conn.presence = -1;
  // How many distinct keys: only asked for on a slot that is open.
  auto distinct = [&] { return std::set<std::string_view>(words.begin(), words.end()); };
  auto verdict = cluster::route(*v, ks, flags, present,
                                present < 0 ? 0 : static_cast<int>(distinct().size()));
  if (verdict.what == cluster::verdict::kind::serve)
    return cluster_route::serve;
  if (verdict.what == cluster::verdict::kind::check_keys) {
    auto keys = distinct();
    check_presence(self, conn, std::vector<std::string>(keys.begin(), keys.end()));
    return cluster_route::wait;
  }
  refusal = redirect_reply(*v, verdict);
  return cluster_route::refused;
}

std::string front_cluster_refusal(gateway_actor* self, const commands::command_spec& spec,
                                  const args& argv) {
  std::vector<std::string_view> words;
  routing_words(spec, argv, words);
  if (words.empty())
    return {};
  const auto& v = self->state.cluster_view;
  if (!v)
    return "-CLUSTERDOWN The cluster is down\r\n";
  auto ks = slots_of(words);
  std::string_view name = spec.name;
  cluster::route_flags flags{(spec.flags & commands::flag::write) != 0,
                             name == "restore-asking", false};
  auto verdict = cluster::route(*v, ks, flags);
  if (verdict.what == cluster::verdict::kind::serve)
    return {};
  if (verdict.what == cluster::verdict::kind::check_keys)
    return "-TRYAGAIN Multiple keys request during rehashing of slot\r\n";
  return redirect_reply(*v, verdict);
}

// ASKING: the next command may run here on a slot this node is importing.
void asking_command(gateway_actor* self, connection& conn, const args&, commands::plan& work) {
  if (!self->state.config.cluster) {
    work.add_reply(conn.context, disabled);
    return;
  }
  conn.asking = true;
  work.add_reply(conn.context, "+OK\r\n");
}

// READONLY / READWRITE: whether this connection reads from a replica's slots.
void readonly_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  if (!self->state.config.cluster) {
    work.add_reply(conn.context, disabled);
    return;
  }
  conn.readonly = commands::equals_ignoring_case(argv[0], "readonly");
  work.add_reply(conn.context, "+OK\r\n");
}

// CLUSTER subcommand ...: the key space's own (KEYSLOT, COUNTKEYSINSLOT,
// GETKEYSINSLOT) here, the rest by the cluster actor, after counting the keys
// the checks of SETSLOT ... NODE, RESET and FLUSHSLOTS need.
void cluster_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  if (!self->state.config.cluster) {
    work.add_reply(conn.context, disabled);
    return;
  }
  auto sub = commands::to_lower(argv[1]);
  int resp = conn.context.resp_version;
  std::string error;
  step_database = conn.context.db;
  if (sub == "keyslot" && argv.size() == 3) {
    work.add_reply(conn.context, ":" + std::to_string(cluster::key_slot(argv[2])) + "\r\n");
    return;
  }
  if (sub == "countkeysinslot" && argv.size() == 3) {
    std::uint16_t slot = 0;
    if (!read_slot(argv[2], slot, error)) {
      work.add_reply(conn.context, error);
      return;
    }
    auto finish = begin_steps(self, conn, work);
    keys_in_slot(self, slot, 0, [finish](const protocol::reply& keys) mutable {
      finish(":" + std::to_string(keys.elements.size()) + "\r\n");
    });
    return;
  }
  if (sub == "getkeysinslot" && argv.size() == 4) {
    std::int64_t slot = 0;
    std::int64_t count = 0;
    if (!protocol::parse_int64(argv[2], slot) || !protocol::parse_int64(argv[3], count)) {
      work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::not_an_integer));
      return;
    }
    if (count < 0 || slot < 0 || slot >= cluster::slot_count) {
      work.add_reply(conn.context, "-ERR Invalid slot or number of keys\r\n");
      return;
    }
    auto finish = begin_steps(self, conn, work);
    if (count == 0) {
      finish("*0\r\n");
      return;
    }
    auto limit = static_cast<std::uint32_t>(std::min<std::int64_t>(count, 1 << 30));
    keys_in_slot(self, static_cast<std::uint16_t>(slot), limit,
                 [finish, limit, resp](const protocol::reply& keys) mutable {
                   // Each shard sent at most `limit`: the first `limit` of them all.
                   auto n = std::min<std::size_t>(keys.elements.size(), limit);
                   std::string out;
                   protocol::reply_writer writer{out, resp};
                   writer.array(n);
                   for (std::size_t i = 0; i < n; ++i)
                     writer.bulk(keys.elements[i].text);
                   finish(out);
                 });
    return;
  }
  auto finish = begin_steps(self, conn, work);
  std::vector<std::string> words(argv.begin(), argv.end());
  auto forward = [self, words, resp, finish](std::int64_t keys_here) mutable {
    args call(words.begin(), words.end());
    ask_cluster(self, call, keys_here, resp, finish);
  };
  std::uint16_t slot = 0;
  if (sub == "setslot" && argv.size() == 5 && commands::equals_ignoring_case(argv[3], "node")
      && read_slot(argv[2], slot, error)) {
    keys_in_slot(self, slot, 0, [forward](const protocol::reply& keys) mutable {
      forward(static_cast<std::int64_t>(keys.elements.size()));
    });
    return;
  }
  if (sub == "reset" || sub == "flushslots") {
    plan_step(
      self,
      [&](commands::plan& p) {
        static const args dbsize{"DBSIZE"};
        commands::execute_command(p, hidden_client(), dbsize);
      },
      [forward](commands::plan& p, std::size_t first) mutable {
        forward(decoded(reply_of(p, first)).integer);
      });
    return;
  }
  forward(-1);
}

// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
// [AUTH password] [AUTH2 username password] [KEYS key...]: the keys' DUMP
// payloads and deadlines go to the node at host:port through the cluster
// actors; the node's RESTORE replies say which arrived, and those are deleted
// here (unless COPY). The keys are held from the first step to the last, so
// no other client's command on them runs in between.
void migrate_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  auto& st = self->state;
  bool copy = false;
  bool replace = false;
  std::vector<std::string> keys;
  std::int64_t port = 0;
  std::int64_t db = 0;
  std::int64_t timeout = 0;
  if (!protocol::parse_int64(argv[4], db) || !protocol::parse_int64(argv[5], timeout)) {
    work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::not_an_integer));
    return;
  }
  for (std::size_t i = 6; i < argv.size(); ++i) {
    if (commands::equals_ignoring_case(argv[i], "copy")) {
      copy = true;
    } else if (commands::equals_ignoring_case(argv[i], "replace")) {
      replace = true;
    } else if (commands::equals_ignoring_case(argv[i], "auth") && i + 1 < argv.size()) {
      ++i; // the nodes of one cluster trust each other's cluster port
    } else if (commands::equals_ignoring_case(argv[i], "auth2") && i + 2 < argv.size()) {
      i += 2;
    } else if (commands::equals_ignoring_case(argv[i], "keys")) {
      if (!argv[3].empty()) {
        work.add_reply(conn.context, "-ERR When using MIGRATE KEYS option, the key argument "
                                     "must be set to the empty string\r\n");
        return;
      }
      keys.assign(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    } else {
      work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::syntax));
      return;
    }
  }
  if (keys.empty() && !argv[3].empty())
    keys.emplace_back(argv[3]);
  if (keys.empty()) {
    work.add_reply(conn.context, "+NOKEY\r\n");
    return;
  }
  if (!protocol::parse_int64(argv[2], port) || port <= 0 || port > 65535
      || !st.config.cluster) {
    // Keys move between the nodes of one cluster only (over its cluster port).
    work.add_reply(conn.context, "-IOERR error or timeout connecting to the client\r\n");
    return;
  }
  if (db != 0) {
    work.add_reply(conn.context, "-ERR Target instance replied with error: ERR SELECT is not "
                                 "allowed in cluster mode\r\n");
    return;
  }
  std::string host{argv[1]};
  auto finish = begin_holding_steps(self, conn, work, keys);
  auto database = conn.context.db;
  plan_step(
    self,
    [&](commands::plan& p) {
      for (const auto& key : keys) {
        commands::execute_command(p, hidden_client(), args{"DUMP", key});
        commands::execute_command(p, hidden_client(), args{"PTTL", key});
      }
    },
    [self, keys, host, port, timeout, copy, replace, database,
     finish](commands::plan& p, std::size_t first) mutable {
      cluster::key_transfer transfer;
      transfer.replace = replace;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        auto payload = decoded(reply_of(p, first + 2 * i));
        if (payload.type != protocol::reply::kind::bulk)
          continue; // gone (or expired) meanwhile
        auto ms = decoded(reply_of(p, first + 2 * i + 1)).integer; // PTTL: -1 for none
        transfer.keys.push_back(keys[i]);
        transfer.payloads.push_back(std::move(payload.text));
        transfer.ttls.push_back(ms > 0 ? ms : 0);
      }
      if (transfer.keys.empty()) {
        finish("+NOKEY\r\n");
        return;
      }
      auto sent = transfer.keys;
      self
        ->request(self->state.config.cluster, caf::infinite, cluster::migrate_atom::value, host,
                  static_cast<std::uint16_t>(port), timeout, std::move(transfer))
        .then(
          [self, sent, copy, database, finish](std::vector<std::string>& replies) mutable {
            std::vector<std::string> arrived;
            std::string error;
            for (std::size_t i = 0; i < sent.size() && i < replies.size(); ++i) {
              if (!replies[i].empty() && replies[i].front() == '+')
                arrived.push_back(sent[i]);
              else if (error.empty())
                error = replies[i].substr(1, replies[i].size() >= 3 ? replies[i].size() - 3 : 0);
            }
            std::string answer = "+OK\r\n";
            if (!error.empty())
              answer = error.rfind("IOERR", 0) == 0
                         ? "-" + error + "\r\n"
                         : "-ERR Target instance replied with error: " + error + "\r\n";
            if (copy || arrived.empty()) {
              finish(answer);
              return;
            }
            step_database = database;
            plan_step(
              self,
              [&](commands::plan& next) {
                auto from = next.operations();
                auto& del = next.open(hidden_client(), commands::plan::merge::sum);
                for (const auto& key : arrived)
                  next.route(del, shard::op_code::del, key);
                next.note_writes_since(from);
              },
              [finish, answer](commands::plan&, std::size_t) mutable { finish(answer); });
          },
          [finish](caf::error&) mutable {
            finish("-IOERR error or timeout writing to target instance\r\n");
          });
    });
}

// PUBLISH in a cluster reaches every node's subscribers: the cluster actor
// relays it to its peers (the reply counts this node's receivers, as Redis's).
void publish_to_cluster(gateway_actor* self, const std::string& channel,
                        const std::string& message) {
  if (self->state.config.cluster)
    self->send(self->state.config.cluster, cluster::publish_atom::value, channel, message);
}

} // namespace stairkv::gateway
