#include "modules/cluster/node_table.hpp"

#include <algorithm>
#include <random>
#include <sstream>

namespace stairkv::cluster {

std::string random_node_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device entropy;
  std::mt19937_64 bits{(static_cast<std::uint64_t>(entropy()) << 32) ^ entropy()};
  std::string id(40, '0');
  for (auto& c : id)
    c = hex[bits() % 16];
  return id;
}

std::string encode_slots(const slot_set& slots) {
  std::string bitmap(slot_count / 8, '\0');
  for (std::size_t s = 0; s < slot_count; ++s)
    if (slots[s])
      bitmap[s / 8] = static_cast<char>(bitmap[s / 8] | (1 << (s % 8)));
  return bitmap;
}

slot_set decode_slots(std::string_view bitmap) {
  slot_set slots;
  auto bytes = std::min<std::size_t>(bitmap.size(), slot_count / 8);
  for (std::size_t b = 0; b < bytes; ++b) {
    auto byte = static_cast<unsigned char>(bitmap[b]);
    if (byte == 0)
      continue;
    for (int bit = 0; bit < 8; ++bit)
      if ((byte & (1u << bit)) != 0)
        slots.set(b * 8 + static_cast<std::size_t>(bit));
  }
  return slots;
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> slot_runs(const slot_set& slots) {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> runs;
  std::size_t s = 0;
  while (s < slot_count) {
    if (!slots[s]) {
      ++s;
      continue;
    }
    auto first = s;
    while (s + 1 < slot_count && slots[s + 1])
      ++s;
    runs.emplace_back(static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(s));
    ++s;
  }
  return runs;
}

std::string slot_ranges(const slot_set& slots) {
  std::string out;
  for (auto [first, last] : slot_runs(slots)) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(first);
    if (last != first) {
      out += '-';
      out += std::to_string(last);
    }
  }
  return out;
}

node_table::node_table(std::string my_id, std::string ip, std::uint16_t port,
                       std::uint16_t cport) {
  node me;
  me.id = std::move(my_id);
  me.ip = std::move(ip);
  me.port = port;
  me.cport = cport;
  me.flags = node_flag::myself | node_flag::master;
  me.connected = true;
  auto key = me.id;
  myself_ = &nodes_.emplace(key, std::move(me)).first->second;
}

node* node_table::find(std::string_view id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const node* node_table::find(std::string_view id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const node* node_table::find_endpoint(std::string_view ip, std::uint16_t port) const {
  for (const auto& [id, n] : nodes_)
    if (n.port == port && n.ip == ip)
      return &n;
  return nullptr;
}

node& node_table::add(node n) {
  auto key = n.id;
  auto [it, added] = nodes_.emplace(key, std::move(n));
  return it->second;
}

void node_table::forget(std::string_view id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || &it->second == myself_)
    return;
  for (auto& owner : owner_)
    if (owner == &it->second)
      owner = nullptr;
  for (auto m = migrating_.begin(); m != migrating_.end();)
    m = m->second == id ? migrating_.erase(m) : std::next(m);
  for (auto m = importing_.begin(); m != importing_.end();)
    m = m->second == id ? importing_.erase(m) : std::next(m);
  for (auto& [other, n] : nodes_)
    n.failure_reports.erase(std::string{id});
  nodes_.erase(it);
}

void node_table::reset(bool hard) {
  std::vector<std::string> others;
  for (const auto& [id, n] : nodes_)
    if (&n != myself_)
      others.push_back(id);
  for (const auto& id : others)
    forget(id);
  for (std::size_t s = 0; s < slot_count; ++s)
    unassign(static_cast<std::uint16_t>(s));
  migrating_.clear();
  importing_.clear();
  myself_->flags = node_flag::myself | node_flag::master;
  myself_->master.clear();
  if (hard) {
    current_epoch = 0;
    last_vote_epoch = 0;
    myself_->config_epoch = 0;
    auto me = std::move(*myself_);
    nodes_.clear();
    me.id = random_node_id();
    auto key = me.id;
    myself_ = &nodes_.emplace(key, std::move(me)).first->second;
  }
}

void node_table::assign(std::uint16_t slot, node* to) {
  if (owner_[slot] != nullptr)
    owner_[slot]->slots.reset(slot);
  owner_[slot] = to;
  if (to != nullptr)
    to->slots.set(slot);
}

void node_table::unassign(std::uint16_t slot) {
  assign(slot, nullptr);
}

std::size_t node_table::slots_assigned() const noexcept {
  std::size_t count = 0;
  for (const auto* owner : owner_)
    count += owner != nullptr ? 1 : 0;
  return count;
}

std::uint64_t node_table::max_epoch() const {
  auto greatest = current_epoch;
  for (const auto& [id, n] : nodes_)
    greatest = std::max(greatest, n.config_epoch);
  return greatest;
}

bool node_table::bump_epoch_without_consensus() {
  auto greatest = max_epoch();
  if (myself_->config_epoch != 0 && myself_->config_epoch == greatest) {
    // Already the greatest; but it must also be nobody else's.
    bool shared = false;
    for (const auto& [id, n] : nodes_)
      shared = shared || (&n != myself_ && n.config_epoch == greatest);
    if (!shared)
      return false;
  }
  current_epoch = greatest + 1;
  myself_->config_epoch = current_epoch;
  return true;
}

heartbeat node_table::make_heartbeat() const {
  heartbeat hb;
  hb.sender.id = myself_->id;
  hb.sender.ip = myself_->ip;
  hb.sender.port = myself_->port;
  hb.sender.cport = myself_->cport;
  hb.sender.flags = myself_->flags & node_flag::role_bits;
  hb.sender.master = myself_->master;
  hb.sender.config_epoch = myself_->config_epoch;
  hb.sender.slots = encode_slots(myself_->slots);
  hb.current_epoch = current_epoch;
  for (const auto& [id, n] : nodes_) {
    if (&n == myself_ || (n.flags & (node_flag::handshake | node_flag::noaddr)) != 0)
      continue;
    hb.gossip.push_back(gossip_entry{n.id, n.ip, n.port, n.cport,
                                     static_cast<std::uint16_t>(n.flags & ~node_flag::myself)});
  }
  return hb;
}

absorb_result node_table::absorb(const heartbeat& hb, std::int64_t now, bool meet) {
  absorb_result out;
  const auto& h = hb.sender;
  if (h.id.size() != 40 || h.id == myself_->id)
    return out;
  auto* sender = find(h.id);
  if (sender == nullptr) {
    if (!meet)
      return out; // Redis ignores a PING from a node it has not met
    node n;
    n.id = h.id;
    n.ip = h.ip;
    n.port = h.port;
    n.cport = h.cport;
    sender = &add(std::move(n));
    out.changed = true;
  }
  out.accepted = true;
  if (sender->ip != h.ip || sender->port != h.port || sender->cport != h.cport) {
    sender->ip = h.ip;
    sender->port = h.port;
    sender->cport = h.cport;
    out.changed = true;
  }
  auto role = static_cast<std::uint16_t>(h.flags & node_flag::role_bits);
  if ((sender->flags & node_flag::role_bits) != role || sender->master != h.master) {
    sender->flags = static_cast<std::uint16_t>((sender->flags & ~node_flag::role_bits) | role);
    sender->master = h.master;
    out.changed = true;
  }
  if (hb.current_epoch > current_epoch) {
    current_epoch = hb.current_epoch;
    out.changed = true;
  }
  if (h.config_epoch > sender->config_epoch) {
    sender->config_epoch = h.config_epoch;
    out.changed = true;
  }
  if (sender->is_master())
    claim_slots(*sender, decode_slots(h.slots), out);
  auto before = myself_->config_epoch;
  handle_epoch_collision(*sender);
  out.changed = out.changed || before != myself_->config_epoch;
  // Gossip: failure reports from primaries, and nodes to meet.
  for (const auto& g : hb.gossip) {
    if (g.id == myself_->id)
      continue;
    auto* known = find(g.id);
    if (known == nullptr) {
      if ((g.flags & (node_flag::noaddr | node_flag::handshake | node_flag::fail)) == 0
          && g.id.size() == 40)
        out.unknown.push_back(g);
      continue;
    }
    if (!sender->is_master())
      continue;
    if ((g.flags & (node_flag::pfail | node_flag::fail)) != 0)
      known->failure_reports[sender->id] = now;
    else
      known->failure_reports.erase(sender->id);
  }
  return out;
}

void node_table::claim_slots(node& sender, const slot_set& claimed, absorb_result& out) {
  std::vector<const node*> newer;
  for (std::size_t i = 0; i < slot_count; ++i) {
    if (!claimed[i])
      continue;
    auto slot = static_cast<std::uint16_t>(i);
    auto* current = owner_[slot];
    if (current == &sender || importing_.count(slot) != 0)
      continue;
    if (current == nullptr || current->config_epoch < sender.config_epoch) {
      if (current == myself_)
        migrating_.erase(slot);
      assign(slot, &sender);
      out.changed = true;
    } else if (current->config_epoch > sender.config_epoch
               && std::find(newer.begin(), newer.end(), current) == newer.end()) {
      newer.push_back(current);
    }
  }
  for (const auto* owner : newer) {
    node_header h;
    h.id = owner->id;
    h.ip = owner->ip;
    h.port = owner->port;
    h.cport = owner->cport;
    h.flags = owner->flags & node_flag::role_bits;
    h.master = owner->master;
    h.config_epoch = owner->config_epoch;
    h.slots = encode_slots(owner->slots);
    out.updates.push_back(std::move(h));
  }
}

bool node_table::apply_update(const node_header& h) {
  auto* owner = find(h.id);
  if (owner == nullptr || owner->config_epoch > h.config_epoch)
    return false;
  owner->config_epoch = h.config_epoch;
  absorb_result out;
  claim_slots(*owner, decode_slots(h.slots), out);
  return true;
}

void node_table::handle_epoch_collision(const node& sender) {
  // Redis's clusterHandleConfigEpochCollision: of two primaries with the same
  // config epoch, the one with the smaller name takes a new one.
  if (&sender == myself_ || sender.config_epoch != myself_->config_epoch
      || !sender.is_master() || !myself_->is_master() || sender.id <= myself_->id)
    return;
  ++current_epoch;
  myself_->config_epoch = current_epoch;
}

int node_table::size() const {
  int count = 0;
  for (const auto& [id, n] : nodes_)
    count += n.is_master() && n.slots.any() ? 1 : 0;
  return count;
}

std::vector<std::string> node_table::detect_failures(std::int64_t now,
                                                     std::int64_t node_timeout) {
  std::vector<std::string> failed;
  int quorum = size() / 2 + 1;
  for (auto& [id, n] : nodes_) {
    if (&n == myself_ || (n.flags & node_flag::handshake) != 0)
      continue;
    if (n.ping_sent != 0 && now - n.ping_sent > node_timeout
        && (n.flags & (node_flag::pfail | node_flag::fail)) == 0)
      n.flags |= node_flag::pfail;
    for (auto r = n.failure_reports.begin(); r != n.failure_reports.end();) {
      const auto* reporter = find(r->first);
      bool valid = reporter != nullptr && reporter->is_master()
                   && now - r->second <= 2 * node_timeout;
      r = valid ? std::next(r) : n.failure_reports.erase(r);
    }
    if ((n.flags & node_flag::pfail) == 0 || (n.flags & node_flag::fail) != 0)
      continue;
    auto reports = static_cast<int>(n.failure_reports.size()) + (myself_->is_master() ? 1 : 0);
    if (reports < quorum)
      continue;
    n.flags = static_cast<std::uint16_t>((n.flags & ~node_flag::pfail) | node_flag::fail);
    n.fail_time = now;
    failed.push_back(id);
  }
  return failed;
}

bool node_table::mark_failed(std::string_view id, std::int64_t now) {
  auto* n = find(id);
  if (n == nullptr || n == myself_ || n->failed())
    return false;
  n->flags = static_cast<std::uint16_t>((n->flags & ~node_flag::pfail) | node_flag::fail);
  n->fail_time = now;
  return true;
}

bool node_table::mark_reachable(node& n, std::int64_t now) {
  n.ping_sent = 0;
  n.pong_received = now;
  bool changed = false;
  if ((n.flags & node_flag::pfail) != 0) {
    n.flags = static_cast<std::uint16_t>(n.flags & ~node_flag::pfail);
    changed = true;
  }
  if (n.failed()) {
    n.flags = static_cast<std::uint16_t>(n.flags & ~node_flag::fail);
    n.fail_time = 0;
    changed = true;
  }
  return changed;
}

bool node_table::state_ok(bool full_coverage) const {
  if (full_coverage)
    for (const auto* owner : owner_)
      if (owner == nullptr || owner->failed())
        return false;
  int reachable = 0;
  int serving = 0;
  for (const auto& [id, n] : nodes_) {
    if (!n.is_master() || !n.slots.any())
      continue;
    ++serving;
    if ((n.flags & (node_flag::pfail | node_flag::fail)) == 0)
      ++reachable;
  }
  return serving == 0 ? !full_coverage : reachable >= serving / 2 + 1;
}

namespace {

std::string flags_text(const node& n) {
  std::string out;
  auto add = [&](const char* word) {
    if (!out.empty())
      out += ',';
    out += word;
  };
  if ((n.flags & node_flag::myself) != 0)
    add("myself");
  add(n.is_master() ? "master" : "slave");
  if ((n.flags & node_flag::pfail) != 0)
    add("fail?");
  if ((n.flags & node_flag::fail) != 0)
    add("fail");
  if ((n.flags & node_flag::handshake) != 0)
    add("handshake");
  if ((n.flags & node_flag::noaddr) != 0)
    add("noaddr");
  if ((n.flags & node_flag::nofailover) != 0)
    add("nofailover");
  return out;
}

} // namespace

std::string node_table::nodes_text() const {
  std::string out;
  // Myself first is not required; Redis lists in its dictionary's order. A
  // stable order (by name) keeps redis-cli's config signatures comparable.
  for (const auto& [id, n] : nodes_) {
    out += n.id;
    out += ' ';
    out += n.ip + ":" + std::to_string(n.port) + "@" + std::to_string(n.cport);
    out += ' ';
    out += flags_text(n);
    out += ' ';
    out += n.master.empty() ? "-" : n.master;
    out += ' ';
    out += std::to_string(&n == myself_ ? 0 : n.ping_sent);
    out += ' ';
    out += std::to_string(&n == myself_ ? 0 : n.pong_received);
    out += ' ';
    out += std::to_string(n.config_epoch);
    out += ' ';
    out += &n == myself_ || n.connected ? "connected" : "disconnected";
    auto ranges = slot_ranges(n.slots);
    if (!ranges.empty()) {
      out += ' ';
      out += ranges;
    }
    if (&n == myself_) {
      for (const auto& [slot, to] : migrating_)
        out += " [" + std::to_string(slot) + "->-" + to + "]";
      for (const auto& [slot, from] : importing_)
        out += " [" + std::to_string(slot) + "-<-" + from + "]";
    }
    out += '\n';
  }
  return out;
}

std::string node_table::config_text() const {
  return nodes_text() + "vars currentEpoch " + std::to_string(current_epoch)
         + " lastVoteEpoch " + std::to_string(last_vote_epoch) + "\n";
}

namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty())
    return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = value;
  return true;
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ')
      ++i;
    auto start = i;
    while (i < line.size() && line[i] != ' ')
      ++i;
    if (i > start)
      words.push_back(line.substr(start, i - start));
  }
  return words;
}

} // namespace

std::string node_table::load_config(std::string_view text) {
  std::map<std::string, node, std::less<>> loaded;
  std::string me;
  std::map<std::uint16_t, std::string> migrating;
  std::map<std::uint16_t, std::string> importing;
  std::vector<std::pair<std::string, std::vector<std::pair<std::uint16_t, std::uint16_t>>>>
    claims;
  std::uint64_t epoch = 0;
  std::uint64_t vote = 0;
  std::size_t pos = 0;
  int line_number = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    auto words = words_of(line);
    if (words.empty())
      continue;
    auto bad = [&] { return "unrecoverable error in line " + std::to_string(line_number); };
    if (words[0] == "vars") {
      for (std::size_t i = 1; i + 1 < words.size(); i += 2) {
        if (words[i] == "currentEpoch" && !parse_u64(words[i + 1], epoch))
          return bad();
        if (words[i] == "lastVoteEpoch" && !parse_u64(words[i + 1], vote))
          return bad();
      }
      continue;
    }
    if (words.size() < 8 || words[0].size() != 40)
      return bad();
    node n;
    n.id = std::string{words[0]};
    auto address = words[1];
    if (auto comma = address.find(','); comma != std::string_view::npos)
      address = address.substr(0, comma);
    auto at = address.find('@');
    auto colon = address.rfind(':', at);
    if (colon == std::string_view::npos)
      return bad();
    n.ip = std::string{address.substr(0, colon)};
    std::uint64_t port = 0;
    std::uint64_t cport = 0;
    if (!parse_u64(address.substr(colon + 1, at == std::string_view::npos
                                               ? std::string_view::npos
                                               : at - colon - 1),
                   port))
      return bad();
    if (at != std::string_view::npos && !parse_u64(address.substr(at + 1), cport))
      return bad();
    n.port = static_cast<std::uint16_t>(port);
    n.cport = static_cast<std::uint16_t>(cport == 0 ? port + 10000 : cport);
    n.flags = 0;
    std::string_view flags = words[2];
    while (!flags.empty()) {
      auto comma = flags.find(',');
      auto flag = flags.substr(0, comma);
      if (flag == "myself") {
        n.flags |= node_flag::myself;
        me = n.id;
      } else if (flag == "master") {
        n.flags |= node_flag::master;
      } else if (flag == "slave") {
        n.flags |= node_flag::replica;
      } else if (flag == "fail?") {
        n.flags |= node_flag::pfail;
      } else if (flag == "fail") {
        n.flags |= node_flag::fail;
      } else if (flag == "noaddr") {
        n.flags |= node_flag::noaddr;
      } else if (flag == "nofailover") {
        n.flags |= node_flag::nofailover;
      }
      flags = comma == std::string_view::npos ? std::string_view{} : flags.substr(comma + 1);
    }
    if (words[3] != "-")
      n.master = std::string{words[3]};
    if (!parse_u64(words[6], n.config_epoch))
      return bad();
    std::vector<std::pair<std::uint16_t, std::uint16_t>> runs;
    for (std::size_t i = 8; i < words.size(); ++i) {
      auto w = words[i];
      if (w.front() == '[') {
        // [slot->-id] migrating, [slot-<-id] importing
        auto arrow = w.find("->-");
        auto back = w.find("-<-");
        std::uint64_t slot = 0;
        if (arrow != std::string_view::npos && parse_u64(w.substr(1, arrow - 1), slot)
            && slot < slot_count)
          migrating[static_cast<std::uint16_t>(slot)] =
            std::string{w.substr(arrow + 3, w.size() - arrow - 4)};
        else if (back != std::string_view::npos && parse_u64(w.substr(1, back - 1), slot)
                 && slot < slot_count)
          importing[static_cast<std::uint16_t>(slot)] =
            std::string{w.substr(back + 3, w.size() - back - 4)};
        else
          return bad();
        continue;
      }
      auto dash = w.find('-');
      std::uint64_t first = 0;
      std::uint64_t last = 0;
      if (!parse_u64(w.substr(0, dash), first))
        return bad();
      last = first;
      if (dash != std::string_view::npos && !parse_u64(w.substr(dash + 1), last))
        return bad();
      if (first > last || last >= slot_count)
        return bad();
      runs.emplace_back(static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last));
    }
    claims.emplace_back(n.id, std::move(runs));
    auto key = n.id;
    loaded.emplace(key, std::move(n));
  }
  if (me.empty())
    return "the cluster config file names no node as myself";
  // Keeps this node's current addresses: the file may come from another port.
  auto& self = loaded.at(me);
  self.ip = myself_->ip;
  self.port = myself_->port;
  self.cport = myself_->cport;
  self.connected = true;
  nodes_ = std::move(loaded);
  myself_ = &nodes_.at(me);
  owner_.fill(nullptr);
  for (const auto& [id, runs] : claims)
    for (auto [first, last] : runs)
      for (auto s = first; s <= last; ++s) {
        assign(s, &nodes_.at(id));
        if (s == slot_count - 1)
          break;
      }
  migrating_ = std::move(migrating);
  importing_ = std::move(importing);
  current_epoch = epoch;
  last_vote_epoch = vote;
  return {};
}

} // namespace stairkv::cluster
