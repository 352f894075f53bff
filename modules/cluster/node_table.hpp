#pragma once

// One node's view of the cluster, as Redis Cluster keeps it (its cluster.c's
// clusterState): the nodes it knows, who owns each of the 16,384 slots, the
// slots being migrated or imported, the epochs, and the failure reports. The
// rules of Redis's specification live here as plain functions on plain data,
// so they are tested without actors: how a heartbeat's slot claims win over
// older ones (config epochs), epoch collisions, PFAIL and FAIL, and the text
// of CLUSTER NODES and of nodes.conf. The cluster actor (cluster_actor.hpp)
// owns one table and applies what peers send to it.

#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "modules/cluster/messages.hpp"
#include "modules/cluster/slots.hpp"

namespace stairkv::cluster {

namespace node_flag {
inline constexpr std::uint16_t myself = 1;
inline constexpr std::uint16_t master = 2;
inline constexpr std::uint16_t replica = 4;
inline constexpr std::uint16_t pfail = 8;
inline constexpr std::uint16_t fail = 16;
inline constexpr std::uint16_t handshake = 32;
inline constexpr std::uint16_t noaddr = 64;
inline constexpr std::uint16_t nofailover = 128;
// What a node says about itself; the rest is each observer's own opinion.
inline constexpr std::uint16_t role_bits = master | replica | nofailover;
} // namespace node_flag

using slot_set = std::bitset<slot_count>;

// A new node's name: 40 random hex digits.
std::string random_node_id();

// The bitmap of a heartbeat (messages.hpp) and back.
std::string encode_slots(const slot_set& slots);
slot_set decode_slots(std::string_view bitmap);

struct node {
  std::string id;
  std::string ip;
  std::uint16_t port = 0;
  std::uint16_t cport = 0;
  std::uint16_t flags = node_flag::master;
  std::string master; // a replica's primary
  std::uint64_t config_epoch = 0;
  slot_set slots;
  // Milliseconds since the epoch: the PING waiting for its PONG (0: none),
  // the last PONG, when it was marked FAIL.
  std::int64_t ping_sent = 0;
  std::int64_t pong_received = 0;
  std::int64_t fail_time = 0;
  bool connected = false;
  // Primaries that reported it failing (PFAIL or FAIL in their gossip), and when.
  std::map<std::string, std::int64_t> failure_reports;

  bool is_master() const noexcept {
    return (flags & node_flag::replica) == 0;
  }
  bool failed() const noexcept {
    return (flags & node_flag::fail) != 0;
  }
  std::string endpoint() const {
    return ip + ":" + std::to_string(port);
  }
};

// What absorbing a heartbeat asks the caller to do.
struct absorb_result {
  bool accepted = false;   // the sender is known (or was just met)
  bool changed = false;    // the table changed: save the config, tell the gateways
  // Nodes the gossip named that this node does not know yet: meet them.
  std::vector<gossip_entry> unknown;
  // The sender claims slots whose owner here has a newer epoch: send it these
  // owners' headers (an UPDATE), so that it learns it lost them.
  std::vector<node_header> updates;
};

class node_table {
public:
  node_table(std::string my_id, std::string ip, std::uint16_t port, std::uint16_t cport);

  node_table(const node_table&) = delete;
  node_table& operator=(const node_table&) = delete;

  node& myself() noexcept {
    return *myself_;
  }
  const node& myself() const noexcept {
    return *myself_;
  }
  node* find(std::string_view id);
  const node* find(std::string_view id) const;
  // The node whose client endpoint is ip:port, or null.
  const node* find_endpoint(std::string_view ip, std::uint16_t port) const;
  const std::map<std::string, node, std::less<>>& nodes() const noexcept {
    return nodes_;
  }
  // Adds a node (met, or learned from gossip); returns the one kept.
  node& add(node n);
  // CLUSTER FORGET: drops the node and its slots.
  void forget(std::string_view id);
  // CLUSTER RESET: forgets every other node and every slot; a hard reset also
  // takes a new name and zeroes the epochs.
  void reset(bool hard);

  // -- slots ------------------------------------------------------------------
  const node* owner(std::uint16_t slot) const noexcept {
    return owner_[slot];
  }
  void assign(std::uint16_t slot, node* to);
  void unassign(std::uint16_t slot);
  const std::map<std::uint16_t, std::string>& migrating() const noexcept {
    return migrating_;
  }
  const std::map<std::uint16_t, std::string>& importing() const noexcept {
    return importing_;
  }
  void set_migrating(std::uint16_t slot, std::string to) {
    migrating_[slot] = std::move(to);
  }
  void set_importing(std::uint16_t slot, std::string from) {
    importing_[slot] = std::move(from);
  }
  void set_stable(std::uint16_t slot) {
    migrating_.erase(slot);
    importing_.erase(slot);
  }
  std::size_t slots_assigned() const noexcept;

  // -- epochs -----------------------------------------------------------------
  std::uint64_t current_epoch = 0;
  std::uint64_t last_vote_epoch = 0;
  // The greatest epoch known: the current one or any node's config epoch.
  std::uint64_t max_epoch() const;
  // clusterBumpConfigEpochWithoutConsensus: takes a new config epoch unless
  // this node's is already the unique greatest. Returns whether it did.
  bool bump_epoch_without_consensus();

  // -- heartbeats -------------------------------------------------------------
  heartbeat make_heartbeat() const;
  // Applies a peer's PING, PONG or MEET (`meet`: an unknown sender is added).
  absorb_result absorb(const heartbeat& hb, std::int64_t now, bool meet);
  // An UPDATE: `owner`'s slot claims, from a node that knows them newer.
  bool apply_update(const node_header& owner);

  // -- failures -----------------------------------------------------------------
  // Marks PFAIL every node whose PING has waited past `node_timeout`, and FAIL
  // each PFAIL node a majority of the slot-serving primaries reports failing
  // (within twice the timeout). Returns the names newly marked FAIL.
  std::vector<std::string> detect_failures(std::int64_t now, std::int64_t node_timeout);
  // A FAIL announcement from a peer.
  bool mark_failed(std::string_view id, std::int64_t now);
  // A PONG from `n`: no longer PFAIL, and no longer FAIL (there are no
  // replicas to have taken its slots over).
  bool mark_reachable(node& n, std::int64_t now);

  // Primaries serving at least one slot (cluster_size).
  int size() const;
  // Whether the cluster is up, by Redis's rule: every slot served by a node
  // not FAIL (with `full_coverage`), and this node in the majority.
  bool state_ok(bool full_coverage) const;

  // -- text -------------------------------------------------------------------
  // CLUSTER NODES: one line per node (the open slots on this node's own line).
  std::string nodes_text() const;
  // nodes.conf: the same lines and Redis's last one, "vars currentEpoch N
  // lastVoteEpoch M".
  std::string config_text() const;
  // Reads nodes.conf text into this table (replacing what it held, myself
  // included: the file names this node). Returns an error message, or empty.
  std::string load_config(std::string_view text);

private:
  node* myself_;
  std::map<std::string, node, std::less<>> nodes_;
  std::array<node*, slot_count> owner_{};
  std::map<std::uint16_t, std::string> migrating_;
  std::map<std::uint16_t, std::string> importing_;

  void claim_slots(node& sender, const slot_set& claimed, absorb_result& out);
  void handle_epoch_collision(const node& sender);
};

// "0-5460 5462 ..." : the slot set as CLUSTER NODES writes it.
std::string slot_ranges(const slot_set& slots);
// [first, last] runs of the set.
std::vector<std::pair<std::uint16_t, std::uint16_t>> slot_runs(const slot_set& slots);

} // namespace stairkv::cluster
