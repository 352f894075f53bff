#include "modules/cluster/cluster_actor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/cluster/messages.hpp"
#include "modules/commands/text.hpp"
#include "modules/cluster/node_table.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::cluster {

namespace {

using tick_atom = caf::atom_constant<caf::atom("cltick")>;

// How often the actor looks at its peers: pings due, links to make, failures.
constexpr std::chrono::milliseconds tick_interval{100};
// How long a forgotten node stays unwelcome in gossip (Redis: 60 s).
constexpr std::int64_t forget_ban_ms = 60000;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct peer_link {
  caf::actor handle;
  bool connecting = false;
  bool ping_in_flight = false;
  std::int64_t next_attempt = 0;
  std::int64_t last_ping = 0;
};

struct pending_meet {
  std::string ip;
  std::uint16_t port = 0;
  std::uint16_t cport = 0;
  std::int64_t started = 0;
};

// Messages counted for CLUSTER INFO, by Redis's names.
struct message_counts {
  std::map<std::string, std::int64_t> sent;
  std::map<std::string, std::int64_t> received;
};

struct cluster_state {
  cluster_config config;
  std::unique_ptr<node_table> table;
  std::map<std::string, peer_link> links; // by node name
  std::vector<pending_meet> meets;
  std::map<std::string, std::int64_t> banned; // forgotten: name -> until
  std::vector<caf::actor> gateways;
  view_ptr current;
  message_counts counts;
  caf::io::middleman_actor middleman;
  static inline const char* name = "stairkv.cluster";
};

using cluster_actor = caf::stateful_actor<cluster_state>;

void log(cluster_actor* self, const std::string& line) {
  if (self->state.config.log)
    self->state.config.log(line);
}

// -- the config file ------------------------------------------------------------

std::string save_config(cluster_state& st) {
  if (st.config.config_file.empty())
    return {};
  auto temporary = st.config.config_file + ".tmp";
  {
    std::ofstream out{temporary, std::ios::trunc};
    out << st.table->config_text();
    out.flush();
    if (!out)
      return "cannot write " + temporary;
  }
  if (std::rename(temporary.c_str(), st.config.config_file.c_str()) != 0)
    return "cannot rename " + temporary + " to " + st.config.config_file;
  return {};
}

// -- the view the gateways route with --------------------------------------------

// Calls `visit(slot, i)` for every slot, `i` its owner's index in `order`
// (view::none: no owner). Runs of slots share their owner, so its index is
// looked up once per run.
template <class Visit>
void for_each_owner(const node_table& table, const std::vector<const node*>& order,
                    Visit visit) {
  const node* last = nullptr;
  auto last_index = view::none;
  for (std::size_t s = 0; s < slot_count; ++s) {
    const auto* owner = table.owner(static_cast<std::uint16_t>(s));
    if (owner != last) {
      last = owner;
      auto it = std::find(order.begin(), order.end(), owner);
      last_index = owner == nullptr || it == order.end()
                     ? view::none
                     : static_cast<std::uint16_t>(it - order.begin());
    }
    visit(s, last_index);
  }
}

view_ptr make_view(const cluster_state& st) {
  auto v = std::make_shared<view>();
  const auto& table = *st.table;
  v->ok = table.state_ok(st.config.require_full_coverage);
  v->allow_reads_when_down = st.config.allow_reads_when_down;
  std::map<std::string_view, std::uint16_t> by_name;
  std::vector<const node*> order;
  for (const auto& [id, n] : table.nodes()) {
    auto i = static_cast<std::uint16_t>(v->endpoints.size());
    by_name[id] = i;
    order.push_back(&n);
    v->endpoints.push_back(n.endpoint());
    v->failed.push_back(n.failed());
    if (&n == &table.myself())
      v->me = i;
  }
  for_each_owner(table, order, [&](std::size_t s, std::uint16_t i) { v->owner[s] = i; });
  for (const auto& [slot, id] : table.migrating())
    if (auto it = by_name.find(id); it != by_name.end())
      v->migrating[slot] = it->second;
  for (const auto& [slot, id] : table.importing())
    if (auto it = by_name.find(id); it != by_name.end())
      v->importing[slot] = it->second;
  return v;
}

bool same_view(const view& a, const view& b) {
  return a.ok == b.ok && a.me == b.me && a.endpoints == b.endpoints && a.failed == b.failed
         && a.owner == b.owner && a.migrating == b.migrating && a.importing == b.importing
         && a.allow_reads_when_down == b.allow_reads_when_down;
}

// Saves the config (when `save`) and hands the gateways a new view if routing
// changed.
void commit(cluster_actor* self, bool save) {
  auto& st = self->state;
  if (save) {
    if (auto error = save_config(st); !error.empty())
      log(self, "cluster config: " + error);
  } else if (st.current) {
    // Nothing in the table changed but maybe the state or a node's failure:
    // looked at cheaply, as every tick does.
    bool same = st.current->ok == st.table->state_ok(st.config.require_full_coverage)
                && st.current->failed.size() == st.table->nodes().size();
    std::size_t i = 0;
    for (const auto& [id, n] : st.table->nodes())
      same = same && i < st.current->failed.size() && st.current->failed[i++] == n.failed();
    if (same)
      return;
  }
  auto next = make_view(st);
  if (st.current && same_view(*st.current, *next))
    return;
  if (st.current && st.current->ok != next->ok)
    log(self, std::string{"Cluster state changed: "} + (next->ok ? "ok" : "fail"));
  st.current = next;
  for (const auto& gw : st.gateways)
    self->send(gw, view_atom::value, st.current);
}

// -- peers -------------------------------------------------------------------

// The local address the system would use to reach `ip` (no packet is sent).
std::string local_address_towards(const std::string& ip) {
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(9);
  if (inet_pton(AF_INET, ip.c_str(), &target.sin_addr) != 1)
    return {};
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return {};
  std::string found;
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text)) != nullptr)
      found = text;
  }
  ::close(fd);
  return found;
}

template <class Then, class Failed>
void connect(cluster_actor* self, const std::string& ip, std::uint16_t cport, Then then,
             Failed failed) {
  self
    ->request(self->state.middleman, std::chrono::seconds{5}, caf::connect_atom::value, ip,
              cport)
    .then(
      [self, then](const caf::node_id&, caf::strong_actor_ptr& peer,
                   const std::set<std::string>&) mutable {
        if (!peer) {
          return;
        }
        auto handle = caf::actor_cast<caf::actor>(peer);
        self->monitor(handle);
        then(handle);
      },
      [failed](caf::error&) mutable { failed(); });
}

void absorb_and_follow(cluster_actor* self, const heartbeat& hb, bool meet);

// Starts meeting the node at ip:port (cluster port cport), unless it is known
// or being met already.
void start_meet(cluster_actor* self, const std::string& ip, std::uint16_t port,
                std::uint16_t cport) {
  auto& st = self->state;
  for (const auto& m : st.meets)
    if (m.ip == ip && m.cport == cport)
      return;
  for (const auto& [id, n] : st.table->nodes())
    if (n.ip == ip && n.cport == cport && &n != &st.table->myself())
      return;
  auto& me = st.table->myself();
  if (me.ip == ip && me.cport == cport)
    return;
  if (me.ip.empty()) {
    auto mine = ip == "127.0.0.1" ? ip : local_address_towards(ip);
    if (!mine.empty()) {
      me.ip = mine;
      commit(self, true);
    }
  }
  st.meets.push_back(pending_meet{ip, port, cport, now_ms()});
  auto forget_meet = [self, ip, cport] {
    auto& meets = self->state.meets;
    meets.erase(std::remove_if(meets.begin(), meets.end(),
                               [&](const pending_meet& m) {
                                 return m.ip == ip && m.cport == cport;
                               }),
                meets.end());
  };
  connect(
    self, ip, cport,
    [self, ip, forget_meet](caf::actor peer) {
      auto hb = self->state.table->make_heartbeat();
      hb.your_ip = ip;
      ++self->state.counts.sent["meet"];
      self->request(peer, std::chrono::seconds{5}, meet_atom::value, std::move(hb))
        .then(
          [self, peer, forget_meet](heartbeat& reply) {
            forget_meet();
            ++self->state.counts.received["pong"];
            absorb_and_follow(self, reply, true);
            auto& st = self->state;
            if (auto* n = st.table->find(reply.sender.id)) {
              auto& link = st.links[n->id];
              if (!link.handle)
                link.handle = peer;
              n->connected = true;
              st.table->mark_reachable(*n, now_ms());
            }
            commit(self, true);
          },
          [forget_meet](caf::error&) { forget_meet(); });
    },
    forget_meet);
}

void send_ping(cluster_actor* self, const std::string& id) {
  auto& st = self->state;
  auto& link = st.links[id];
  auto now = now_ms();
  link.ping_in_flight = true;
  link.last_ping = now;
  if (auto* n = st.table->find(id); n != nullptr && n->ping_sent == 0)
    n->ping_sent = now;
  ++st.counts.sent["ping"];
  self
    ->request(link.handle, std::chrono::milliseconds{std::max<std::int64_t>(st.config.node_timeout_ms, 500)},
              ping_atom::value, st.table->make_heartbeat())
    .then(
      [self, id](heartbeat& reply) {
        auto& st = self->state;
        if (auto it = st.links.find(id); it != st.links.end())
          it->second.ping_in_flight = false;
        ++st.counts.received["pong"];
        auto* n = st.table->find(id);
        if (n == nullptr || reply.sender.id != id)
          return; // another node answers at that address now
        bool changed = st.table->mark_reachable(*n, now_ms());
        absorb_and_follow(self, reply, false);
        commit(self, changed);
      },
      [self, id](caf::error&) {
        if (auto it = self->state.links.find(id); it != self->state.links.end())
          it->second.ping_in_flight = false;
      });
}

// Pings every peer now (after a change others must learn at once).
void broadcast(cluster_actor* self) {
  std::vector<std::string> ids;
  for (auto& [id, link] : self->state.links)
    if (link.handle && !link.ping_in_flight)
      ids.push_back(id);
  for (const auto& id : ids)
    send_ping(self, id);
}

void absorb_and_follow(cluster_actor* self, const heartbeat& hb, bool meet) {
  auto& st = self->state;
  auto result = st.table->absorb(hb, now_ms(), meet);
  if (!result.accepted)
    return;
  auto now = now_ms();
  for (const auto& g : result.unknown) {
    auto ban = st.banned.find(g.id);
    if (ban != st.banned.end() && ban->second > now)
      continue;
    start_meet(self, g.ip, g.port, g.cport);
  }
  if (!result.updates.empty()) {
    auto it = st.links.find(hb.sender.id);
    if (it != st.links.end() && it->second.handle)
      for (auto& owner : result.updates) {
        ++st.counts.sent["update"];
        self->send(it->second.handle, update_atom::value, std::move(owner));
      }
  }
  commit(self, result.changed);
}

void tick(cluster_actor* self) {
  auto& st = self->state;
  auto now = now_ms();
  auto timeout = st.config.node_timeout_ms;
  auto ping_every = std::clamp<std::int64_t>(timeout / 4, 100, 1000);
  for (auto& [id, n] : st.table->nodes()) {
    if (&n == &st.table->myself())
      continue;
    auto& link = st.links[id];
    if (!link.handle) {
      auto* known = st.table->find(id);
      if (known->ping_sent == 0)
        known->ping_sent = now;
      known->connected = false;
      if (!link.connecting && now >= link.next_attempt && !n.ip.empty()) {
        link.connecting = true;
        link.next_attempt = now + 1000;
        auto name = id;
        connect(
          self, n.ip, n.cport,
          [self, name](caf::actor peer) {
            auto& st = self->state;
            auto it = st.links.find(name);
            if (it == st.links.end() || st.table->find(name) == nullptr)
              return;
            it->second.connecting = false;
            it->second.handle = peer;
            st.table->find(name)->connected = true;
            send_ping(self, name);
          },
          [self, name] {
            if (auto it = self->state.links.find(name); it != self->state.links.end())
              it->second.connecting = false;
          });
      }
      continue;
    }
    if (!link.ping_in_flight && now - link.last_ping >= ping_every)
      send_ping(self, id);
  }
  auto failed = st.table->detect_failures(now, timeout);
  for (const auto& id : failed) {
    log(self, "Marking node " + id + " as failing (quorum reached).");
    for (auto& [peer, link] : st.links)
      if (link.handle) {
        ++st.counts.sent["fail"];
        self->send(link.handle, fail_atom::value, id);
      }
  }
  commit(self, !failed.empty());
}

// -- CLUSTER commands ---------------------------------------------------------

bool read_slot(std::string_view text, std::uint16_t& slot) {
  std::int64_t n = 0;
  if (!protocol::parse_int64(text, n) || n < 0 || n >= slot_count)
    return false;
  slot = static_cast<std::uint16_t>(n);
  return true;
}

std::string error_reply(std::string_view message) {
  std::string out;
  protocol::reply_writer{out}.error(message);
  return out;
}

std::string info_text(const cluster_state& st) {
  const auto& table = *st.table;
  std::size_t assigned = 0, ok = 0, pfail = 0, fail = 0;
  for (std::size_t s = 0; s < slot_count; ++s) {
    const auto* owner = table.owner(static_cast<std::uint16_t>(s));
    if (owner == nullptr)
      continue;
    ++assigned;
    if (owner->failed())
      ++fail;
    else if ((owner->flags & node_flag::pfail) != 0)
      ++pfail;
    else
      ++ok;
  }
  std::string out;
  auto line = [&](const std::string& name, const std::string& value) {
    out += name + ":" + value + "\r\n";
  };
  line("cluster_state", table.state_ok(st.config.require_full_coverage) ? "ok" : "fail");
  line("cluster_slots_assigned", std::to_string(assigned));
  line("cluster_slots_ok", std::to_string(ok));
  line("cluster_slots_pfail", std::to_string(pfail));
  line("cluster_slots_fail", std::to_string(fail));
  line("cluster_known_nodes", std::to_string(table.nodes().size()));
  line("cluster_size", std::to_string(table.size()));
  line("cluster_current_epoch", std::to_string(table.current_epoch));
  line("cluster_my_epoch", std::to_string(table.myself().config_epoch));
  std::int64_t sent = 0, received = 0;
  for (const auto& [type, count] : st.counts.sent) {
    line("cluster_stats_messages_" + type + "_sent", std::to_string(count));
    sent += count;
  }
  line("cluster_stats_messages_sent", std::to_string(sent));
  for (const auto& [type, count] : st.counts.received) {
    line("cluster_stats_messages_" + type + "_received", std::to_string(count));
    received += count;
  }
  line("cluster_stats_messages_received", std::to_string(received));
  line("total_cluster_links_buffer_limit_exceeded", "0");
  return out;
}

void write_node_entry(protocol::reply_writer& out, const node& n) {
  out.array(4);
  out.bulk(n.ip);
  out.integer(n.port);
  out.bulk(n.id);
  out.map(0);
}

std::string slots_reply(const cluster_state& st, int resp) {
  const auto& table = *st.table;
  struct run {
    std::uint16_t first, last;
    const node* owner;
  };
  std::vector<run> runs;
  for (std::size_t s = 0; s < slot_count; ++s) {
    const auto* owner = table.owner(static_cast<std::uint16_t>(s));
    if (owner == nullptr)
      continue;
    if (!runs.empty() && runs.back().owner == owner && runs.back().last + 1 == s)
      runs.back().last = static_cast<std::uint16_t>(s);
    else
      runs.push_back(run{static_cast<std::uint16_t>(s), static_cast<std::uint16_t>(s), owner});
  }
  std::string bytes;
  protocol::reply_writer out{bytes, resp};
  out.array(runs.size());
  for (const auto& r : runs) {
    out.array(3);
    out.integer(r.first);
    out.integer(r.last);
    write_node_entry(out, *r.owner);
  }
  return bytes;
}

std::string shards_reply(const cluster_state& st, int resp) {
  std::string bytes;
  protocol::reply_writer out{bytes, resp};
  std::vector<const node*> primaries;
  for (const auto& [id, n] : st.table->nodes())
    if (n.is_master())
      primaries.push_back(&n);
  out.array(primaries.size());
  for (const auto* n : primaries) {
    out.map(2);
    out.bulk("slots");
    auto runs = slot_runs(n->slots);
    out.array(runs.size() * 2);
    for (auto [first, last] : runs) {
      out.integer(first);
      out.integer(last);
    }
    out.bulk("nodes");
    out.array(1);
    out.map(8);
    out.bulk("id");
    out.bulk(n->id);
    out.bulk("port");
    out.integer(n->port);
    out.bulk("ip");
    out.bulk(n->ip);
    out.bulk("endpoint");
    out.bulk(n->ip);
    out.bulk("hostname");
    out.bulk("");
    out.bulk("role");
    out.bulk("master");
    out.bulk("replication-offset");
    out.integer(0);
    out.bulk("health");
    out.bulk(n->failed() ? "fail" : "online");
  }
  return bytes;
}

constexpr const char* help_lines[] = {
  "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ADDSLOTS <slot> [<slot> ...]",
  "    Assign slots to current node.",
  "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "    Assign slots which are between <start-slot> and <end-slot> to current node.",
  "BUMPEPOCH",
  "    Advance the cluster config epoch.",
  "COUNT-FAILURE-REPORTS <node-id>",
  "    Return number of failure reports for <node-id>.",
  "COUNTKEYSINSLOT <slot>",
  "    Return the number of keys in <slot>.",
  "DELSLOTS <slot> [<slot> ...]",
  "    Delete slots information from current node.",
  "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
  "FAILOVER [FORCE|TAKEOVER]",
  "    Promote current replica node to being a master.",
  "FORGET <node-id>",
  "    Remove a node from the cluster.",
  "GETKEYSINSLOT <slot> <count>",
  "    Return key names stored by current node in a slot.",
  "FLUSHSLOTS",
  "    Delete current node own slots information.",
  "INFO",
  "    Return information about the cluster.",
  "KEYSLOT <key>",
  "    Return the hash slot for <key>.",
  "MEET <ip> <port> [<bus-port>]",
  "    Connect nodes into a working cluster.",
  "MYID",
  "    Return the node id.",
  "NODES",
  "    Return cluster configuration seen by node. Output format:",
  "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
  "REPLICATE <node-id>",
  "    Configure current node as replica to <node-id>.",
  "RESET [HARD|SOFT]",
  "    Reset current node (default: soft).",
  "SET-CONFIG-EPOCH <epoch>",
  "    Set config epoch of current node.",
  "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
  "    Set slot state.",
  "SAVECONFIG",
  "    Force saving cluster configuration on disk.",
  "SHARDS",
  "    Return information about slot range mappings and the nodes associated with them.",
  "SLOTS",
  "    Return information about slots range mappings. Each range is made of:",
  "    start, end, master and replicas IP addresses, ports and ids",
  "HELP",
  "    Print this help.",
};

std::string ok_reply() {
  return "+OK\r\n";
}

// The slots ADDSLOTS/DELSLOTS (pairs: the *RANGE forms) name, or an error.
std::string read_slot_list(const std::vector<std::string>& argv, bool ranges,
                           std::vector<std::uint16_t>& slots) {
  if (ranges && (argv.size() - 2) % 2 != 0)
    return protocol::errors::wrong_arity("cluster|" + commands::to_lower(argv[1]));
  for (std::size_t i = 2; i < argv.size(); i += ranges ? 2 : 1) {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    if (!read_slot(argv[i], first) || (ranges && !read_slot(argv[i + 1], last)))
      return "ERR Invalid or out of range slot";
    if (!ranges)
      last = first;
    if (first > last)
      return "ERR start slot number " + std::to_string(first)
             + " is greater than end slot number " + std::to_string(last);
    for (std::uint32_t s = first; s <= last; ++s)
      slots.push_back(static_cast<std::uint16_t>(s));
  }
  return {};
}

bool valid_ip(const std::string& ip) {
  in6_addr any{};
  return inet_pton(AF_INET, ip.c_str(), &any) == 1 || inet_pton(AF_INET6, ip.c_str(), &any) == 1;
}

std::string cluster_command(cluster_actor* self, const std::vector<std::string>& argv,
                            std::int64_t keys_here, int resp) {
  auto& st = self->state;
  auto& table = *st.table;
  auto sub = commands::to_lower(argv.size() > 1 ? argv[1] : std::string{});
  auto arity = [&](std::size_t n, bool at_least = false) {
    return at_least ? argv.size() >= n : argv.size() == n;
  };
  auto wrong = [&] {
    return error_reply("ERR unknown subcommand or wrong number of arguments for '" + argv[1]
                       + "'. Try CLUSTER HELP.");
  };
  if (sub == "help" && arity(2)) {
    std::string bytes;
    protocol::reply_writer{bytes, resp}.help(help_lines);
    return bytes;
  }
  if (sub == "myid" && arity(2)) {
    std::string bytes;
    protocol::reply_writer{bytes, resp}.bulk(table.myself().id);
    return bytes;
  }
  if (sub == "nodes" && arity(2)) {
    std::string bytes;
    protocol::reply_writer{bytes, resp}.verbatim(table.nodes_text());
    return bytes;
  }
  if (sub == "info" && arity(2)) {
    std::string bytes;
    protocol::reply_writer{bytes, resp}.verbatim(info_text(st));
    return bytes;
  }
  if (sub == "slots" && arity(2))
    return slots_reply(st, resp);
  if (sub == "shards" && arity(2))
    return shards_reply(st, resp);
  if (sub == "meet" && (arity(4) || arity(5))) {
    std::int64_t port = 0;
    std::int64_t cport = 0;
    if (!protocol::parse_int64(argv[3], port) || port <= 0 || port > 65535)
      return error_reply("ERR Invalid TCP base port specified: " + argv[3]);
    if (argv.size() == 5) {
      if (!protocol::parse_int64(argv[4], cport) || cport <= 0 || cport > 65535)
        return error_reply("ERR Invalid TCP bus port specified: " + argv[4]);
    } else {
      cport = port + 10000;
      if (cport > 65535)
        return error_reply("ERR Invalid TCP bus port specified: " + std::to_string(cport));
    }
    if (!valid_ip(argv[2]))
      return error_reply("ERR Invalid node address specified: " + argv[2] + ":" + argv[3]);
    start_meet(self, argv[2], static_cast<std::uint16_t>(port), static_cast<std::uint16_t>(cport));
    return ok_reply();
  }
  bool add = sub == "addslots" || sub == "addslotsrange";
  bool del = sub == "delslots" || sub == "delslotsrange";
  if ((add || del) && arity(3, true)) {
    std::vector<std::uint16_t> slots;
    auto error = read_slot_list(argv, sub.size() > 8, slots);
    if (!error.empty())
      return error_reply(error);
    std::set<std::uint16_t> seen;
    for (auto s : slots) {
      if (!seen.insert(s).second)
        return error_reply("ERR Slot " + std::to_string(s) + " specified multiple times");
      if (add && table.owner(s) != nullptr)
        return error_reply("ERR Slot " + std::to_string(s) + " is already busy");
      if (del && table.owner(s) == nullptr)
        return error_reply("ERR Slot " + std::to_string(s) + " is already unassigned");
    }
    for (auto s : slots) {
      if (add) {
        table.set_stable(s);
        table.assign(s, &table.myself());
      } else {
        table.unassign(s);
      }
    }
    commit(self, true);
    return ok_reply();
  }
  if (sub == "flushslots" && arity(2)) {
    if (keys_here > 0)
      return error_reply("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
    for (std::size_t s = 0; s < slot_count; ++s)
      if (table.owner(static_cast<std::uint16_t>(s)) == &table.myself())
        table.unassign(static_cast<std::uint16_t>(s));
    commit(self, true);
    return ok_reply();
  }
  if (sub == "setslot" && arity(4, true)) {
    if (!table.myself().is_master())
      return error_reply("ERR Please use SETSLOT only with masters.");
    std::uint16_t slot = 0;
    if (!read_slot(argv[2], slot))
      return error_reply("ERR Invalid or out of range slot");
    auto action = commands::to_lower(argv[3]);
    if (action == "stable" && arity(4)) {
      table.set_stable(slot);
      commit(self, true);
      return ok_reply();
    }
    if (!arity(5))
      return error_reply(
        "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    auto* target = table.find(commands::to_lower(argv[4]));
    if (action == "migrating") {
      if (table.owner(slot) != &table.myself())
        return error_reply("ERR I'm not the owner of hash slot " + std::to_string(slot));
      if (target == nullptr)
        return error_reply("ERR I don't know about node " + argv[4]);
      if (!target->is_master())
        return error_reply("ERR Target node is not a master");
      table.set_migrating(slot, target->id);
    } else if (action == "importing") {
      if (table.owner(slot) == &table.myself())
        return error_reply("ERR I'm already the owner of hash slot " + std::to_string(slot));
      if (target == nullptr)
        return error_reply("ERR I don't know about node " + argv[4]);
      if (!target->is_master())
        return error_reply("ERR Target node is not a master");
      table.set_importing(slot, target->id);
    } else if (action == "node") {
      if (target == nullptr)
        return error_reply("ERR Unknown node " + argv[4]);
      if (!target->is_master())
        return error_reply("ERR Target node is not a master");
      bool mine = table.owner(slot) == &table.myself();
      if (mine && target != &table.myself() && keys_here > 0)
        return error_reply("ERR Can't assign hashslot " + std::to_string(slot)
                           + " to a different node while I still hold keys for this hash slot.");
      if (mine && keys_here == 0 && table.migrating().count(slot) != 0)
        table.set_stable(slot);
      bool bump = target == &table.myself() && table.importing().count(slot) != 0;
      if (bump)
        table.set_stable(slot);
      table.assign(slot, target);
      if (bump && table.bump_epoch_without_consensus())
        log(self, "configEpoch updated after importing slot " + std::to_string(slot));
      commit(self, true);
      if (bump)
        broadcast(self);
      return ok_reply();
    } else {
      return error_reply(
        "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
    }
    commit(self, true);
    return ok_reply();
  }
  if (sub == "forget" && arity(3)) {
    auto id = commands::to_lower(argv[2]);
    auto* n = table.find(id);
    if (n == nullptr)
      return error_reply("ERR Unknown node " + argv[2]);
    if (n == &table.myself())
      return error_reply("ERR I tried hard but I can't forget myself...");
    table.forget(id);
    st.links.erase(id);
    st.banned[id] = now_ms() + forget_ban_ms;
    commit(self, true);
    return ok_reply();
  }
  if (sub == "reset" && (arity(2) || arity(3))) {
    bool hard = false;
    if (argv.size() == 3) {
      auto how = commands::to_lower(argv[2]);
      if (how == "hard")
        hard = true;
      else if (how != "soft")
        return error_reply(protocol::errors::syntax);
    }
    if (keys_here > 0)
      return error_reply("ERR CLUSTER RESET can't be called with master nodes containing keys");
    table.reset(hard);
    st.links.clear();
    st.meets.clear();
    commit(self, true);
    return ok_reply();
  }
  if (sub == "set-config-epoch" && arity(3)) {
    std::int64_t epoch = 0;
    if (!protocol::parse_int64(argv[2], epoch) || epoch < 0)
      return error_reply("ERR Invalid config epoch specified: " + argv[2]);
    if (table.nodes().size() > 1)
      return error_reply("ERR The user can assign a config epoch only when the node does not "
                         "know any other node.");
    if (table.myself().config_epoch != 0)
      return error_reply("ERR Node config epoch is already non-zero");
    table.myself().config_epoch = static_cast<std::uint64_t>(epoch);
    table.current_epoch = std::max(table.current_epoch, static_cast<std::uint64_t>(epoch));
    commit(self, true);
    return ok_reply();
  }
  if (sub == "bumpepoch" && arity(2)) {
    bool bumped = table.bump_epoch_without_consensus();
    commit(self, true);
    if (bumped)
      broadcast(self);
    return std::string{bumped ? "+BUMPED " : "+STILL "}
           + std::to_string(table.myself().config_epoch) + "\r\n";
  }
  if (sub == "saveconfig" && arity(2)) {
    if (auto error = save_config(st); !error.empty())
      return error_reply("ERR error saving the cluster node config: " + error);
    return ok_reply();
  }
  if (sub == "count-failure-reports" && arity(3)) {
    const auto* n = table.find(commands::to_lower(argv[2]));
    if (n == nullptr)
      return error_reply("ERR Unknown node " + argv[2]);
    return ":" + std::to_string(n->failure_reports.size()) + "\r\n";
  }
  if (sub == "replicate" && arity(3)) {
    const auto* n = table.find(commands::to_lower(argv[2]));
    if (n == nullptr)
      return error_reply("ERR Unknown node " + argv[2]);
    if (n == &table.myself())
      return error_reply("ERR Can't replicate myself");
    return error_reply("ERR This node has no replication: CLUSTER REPLICATE is not available");
  }
  if (sub == "failover" && (arity(2) || arity(3)))
    return error_reply("ERR You should send CLUSTER FAILOVER to a replica");
  if (argv.size() >= 2) {
    static const std::set<std::string> known = {
      "help", "myid", "nodes", "info", "slots", "shards", "meet", "addslots", "addslotsrange",
      "delslots", "delslotsrange", "flushslots", "setslot", "forget", "reset",
      "set-config-epoch", "bumpepoch", "saveconfig", "count-failure-reports", "replicate",
      "failover", "keyslot", "countkeysinslot", "getkeysinslot"};
    if (known.count(sub) != 0)
      return wrong();
  }
  return error_reply("ERR unknown subcommand '" + (argv.size() > 1 ? argv[1] : "")
                     + "'. Try CLUSTER HELP.");
}

caf::behavior cluster_behavior(cluster_actor* self, cluster_config config,
                               std::unique_ptr<node_table> table) {
  auto& st = self->state;
  st.config = std::move(config);
  st.table = std::move(table);
  st.middleman = self->home_system().middleman().actor_handle();
  st.current = make_view(st);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    for (auto& [id, link] : st.links)
      if (link.handle && link.handle.address() == down.source) {
        link.handle = nullptr;
        link.ping_in_flight = false;
        link.next_attempt = 0;
        if (auto* n = st.table->find(id)) {
          n->connected = false;
          if (n->ping_sent == 0)
            n->ping_sent = now_ms();
        }
      }
  });
  self->send(self, tick_atom::value);
  return {
    [self](tick_atom) {
      tick(self);
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
    [self](timeout_atom, std::int64_t ms) {
      if (ms > 0)
        self->state.config.node_timeout_ms = ms;
    },
    [self](watch_atom, caf::actor gateway) {
      self->state.gateways.push_back(gateway);
      self->send(gateway, view_atom::value, self->state.current);
    },
    [self](request_atom, std::vector<std::string>& argv, std::int64_t keys_here,
           std::int32_t resp) -> std::string {
      return cluster_command(self, argv, keys_here, resp);
    },
    [self](meet_atom, heartbeat& hb) -> heartbeat {
      auto& st = self->state;
      ++st.counts.received["meet"];
      if (st.table->myself().ip.empty() && !hb.your_ip.empty()) {
        st.table->myself().ip = hb.your_ip;
        commit(self, true);
      }
      absorb_and_follow(self, hb, true);
      ++st.counts.sent["pong"];
      return st.table->make_heartbeat();
    },
    [self](ping_atom, heartbeat& hb) -> heartbeat {
      auto& st = self->state;
      ++st.counts.received["ping"];
      absorb_and_follow(self, hb, false);
      ++st.counts.sent["pong"];
      return st.table->make_heartbeat();
    },
    [self](update_atom, node_header& owner) {
      ++self->state.counts.received["update"];
      bool changed = self->state.table->apply_update(owner);
      commit(self, changed);
    },
    [self](fail_atom, std::string& id) {
      ++self->state.counts.received["fail"];
      bool changed = self->state.table->mark_failed(id, now_ms());
      if (changed)
        log(self, "FAIL message received about " + id);
      commit(self, changed);
    },
    // From a peer: keys MIGRATE hands over. Each RESTORE's reply, in order.
    [self](restore_atom, key_transfer& transfer) -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      std::vector<std::vector<std::string>> restores;
      for (std::size_t i = 0; i < transfer.keys.size(); ++i) {
        std::vector<std::string> call{"RESTORE-ASKING", transfer.keys[i],
                                      std::to_string(transfer.ttls[i]), transfer.payloads[i]};
        if (transfer.replace)
          call.emplace_back("REPLACE");
        restores.push_back(std::move(call));
      }
      auto count = restores.size();
      auto promise = self->make_response_promise<std::vector<std::string>>();
      self->request(st.config.store, caf::infinite, transaction_atom::value, std::move(restores))
        .then([promise](std::vector<std::string>& replies) mutable { promise.deliver(replies); },
              [promise, count, self](caf::error& e) mutable {
                promise.deliver(std::vector<std::string>(
                  count, error_reply("ERR " + self->home_system().render(e))));
              });
      return promise;
    },
    // From this node's gateway: MIGRATE's keys, to the node at ip:port.
    [self](migrate_atom, const std::string& ip, std::uint16_t port, std::int64_t timeout_ms,
           key_transfer& transfer) -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      const auto* target = st.table->find_endpoint(ip, port);
      auto count = transfer.keys.size();
      auto refused = std::vector<std::string>(
        count, error_reply("IOERR error or timeout connecting to the client"));
      if (target == nullptr || target == &st.table->myself())
        return refused;
      auto promise = self->make_response_promise<std::vector<std::string>>();
      auto send = [self, promise, count, timeout_ms,
                   transfer = std::move(transfer)](caf::actor handle) mutable {
        self
          ->request(handle, std::chrono::milliseconds{std::max<std::int64_t>(timeout_ms, 1000)},
                    restore_atom::value, std::move(transfer))
          .then(
            [promise](std::vector<std::string>& replies) mutable { promise.deliver(replies); },
            [promise, count](caf::error&) mutable {
              promise.deliver(std::vector<std::string>(
                count, error_reply("IOERR error or timeout reading to target instance")));
            });
      };
      if (auto it = st.links.find(target->id); it != st.links.end() && it->second.handle) {
        send(it->second.handle);
        return promise;
      }
      // Known, but not linked yet (just met): link now.
      auto id = target->id;
      connect(
        self, target->ip, target->cport,
        [self, id, send](caf::actor peer) mutable {
          auto& link = self->state.links[id];
          if (!link.handle)
            link.handle = peer;
          send(peer);
        },
        [promise, refused]() mutable { promise.deliver(refused); });
      return promise;
    },
    // From a cluster client (cluster_client.hpp): who serves which slot.
    [self](routes_atom) -> slot_routes {
      auto& st = self->state;
      slot_routes routes;
      std::vector<const node*> order;
      for (const auto& [id, n] : st.table->nodes()) {
        order.push_back(&n);
        routes.ids.push_back(n.id);
        routes.ips.push_back(n.ip);
        routes.ports.push_back(n.port);
        routes.cports.push_back(n.cport);
      }
      routes.owners.assign(slot_count, view::none);
      for_each_owner(*st.table, order,
                     [&](std::size_t s, std::uint16_t i) { routes.owners[s] = i; });
      return routes;
    },
    // From a cluster client: this node's store, to send its commands to.
    [self](store_atom) -> caf::actor {
      return caf::actor_cast<caf::actor>(self->state.config.store);
    },
    [self](publish_atom, const std::string& channel, const std::string& message) {
      auto& st = self->state;
      for (auto& [id, link] : st.links)
        if (link.handle) {
          ++st.counts.sent["publish"];
          self->send(link.handle, relay_atom::value, channel, message);
        }
    },
    [self](relay_atom, const std::string& channel, const std::string& message) {
      auto& st = self->state;
      ++st.counts.received["publish"];
      self
        ->request(st.config.store, caf::infinite, command_atom::value,
                  std::vector<std::string>{"PUBLISH", channel, message})
        .then([](std::string&) {}, [](caf::error&) {});
    },
  };
}

} // namespace

caf::actor spawn_cluster(caf::actor_system& system, cluster_config config, std::string& error) {
  auto ip = config.ip;
  auto table = std::make_unique<node_table>(random_node_id(), ip, config.port, config.cport);
  bool loaded = false;
  if (!config.config_file.empty()) {
    std::ifstream in{config.config_file};
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      if (!text.str().empty()) {
        auto problem = table->load_config(text.str());
        if (!problem.empty()) {
          error = "Unrecoverable error: corrupted cluster config file \"" + config.config_file
                  + "\": " + problem;
          return {};
        }
        loaded = true;
        if (!ip.empty())
          table->myself().ip = ip;
        table->current_epoch = std::max(table->current_epoch, table->max_epoch());
      }
    }
  }
  if (config.log)
    config.log(loaded ? "Node configuration loaded, I'm " + table->myself().id.substr(0, 8)
                      : "No cluster configuration found, I'm " + table->myself().id.substr(0, 8));
  auto bind = config.bind;
  auto cport = config.cport;
  cluster_state probe;
  probe.config = config;
  probe.table = std::move(table);
  if (auto problem = save_config(probe); !problem.empty()) {
    error = "cannot save the cluster config: " + problem;
    return {};
  }
  // On a thread of its own, sleeping on its mailbox: on the scheduler, its
  // ticks would wake the work-stealing workers, whose polling after each job
  // costs the I/O thread a tenth of its throughput on two cores (measured).
  auto actor = system.spawn<caf::detached>(cluster_behavior, std::move(config),
                                           std::move(probe.table));
  auto published = system.middleman().publish(actor, cport, bind.c_str(), true);
  if (!published) {
    error = "cannot listen on the cluster port " + std::to_string(cport) + ": "
            + system.render(published.error());
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return {};
  }
  return actor;
}

void add_cluster_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<node_header>("stairkv::cluster::node_header");
  cfg.add_message_type<gossip_entry>("stairkv::cluster::gossip_entry");
  cfg.add_message_type<std::vector<gossip_entry>>("stairkv::cluster::gossip_list");
  cfg.add_message_type<heartbeat>("stairkv::cluster::heartbeat");
  cfg.add_message_type<key_transfer>("stairkv::cluster::key_transfer");
  cfg.add_message_type<slot_routes>("stairkv::cluster::slot_routes");
  cfg.add_message_type<std::vector<std::uint16_t>>("stairkv::uint16_list");
  cfg.add_message_type<std::vector<std::int64_t>>("stairkv::int64_list");
}

} // namespace stairkv::cluster
