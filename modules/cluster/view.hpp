#pragma once

// What a gateway needs of the cluster to route one command, as an immutable
// snapshot the cluster actor hands to its node's gateways whenever the slot
// map, the open slots or the cluster's state change (rarely): who serves
// each slot, and where its clients reach it. The redirect rules of Redis's
// getNodeByQuery are the pure function `route` below.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "modules/cluster/slots.hpp"

namespace stairkv::cluster {

struct view {
  static constexpr std::uint16_t none = 0xffff;
  bool ok = false;                    // cluster_state
  bool allow_reads_when_down = false; // cluster-allow-reads-when-down
  std::uint16_t me = 0;               // this node's index in endpoints
  std::vector<std::string> endpoints; // "ip:port" of each node
  std::vector<bool> failed;           // the node is marked FAIL
  std::array<std::uint16_t, slot_count> owner{}; // endpoint index, or none
  std::map<std::uint16_t, std::uint16_t> migrating; // slot -> the node it goes to
  std::map<std::uint16_t, std::uint16_t> importing; // slot -> the node it comes from
};

using view_ptr = std::shared_ptr<const view>;

// What the keys of one command say about where it runs.
struct key_slots {
  int slot = -1;        // the slot of its keys; -1: it has none
  bool cross = false;   // its keys hash to different slots
  bool multiple = false; // it names more than one distinct key
};

// How one command is routed.
struct verdict {
  enum class kind : std::uint8_t {
    serve,      // run it here
    check_keys, // first learn whether its keys are here (an open slot): see below
    moved,
    ask,
    crossslot,
    tryagain,
    down_unbound,   // the slot has no owner
    down_state,     // the cluster is down
    down_read_only, // the cluster is down and this is a write
  };
  kind what = kind::serve;
  std::uint16_t slot = 0;
  std::uint16_t node = view::none; // moved / ask: where to
};

struct route_flags {
  bool write = false;    // the command writes
  bool asking = false;   // the client sent ASKING (or the command implies it)
  bool migrate = false;  // MIGRATE runs wherever its slot is open
};

// Redis's getNodeByQuery, first pass. `present`: when the slot is open, how
// many of the command's keys exist here (-1: not known yet, answer
// check_keys); `keys`: how many keys it names.
inline verdict route(const view& v, const key_slots& ks, route_flags flags, int present = -1,
                     int keys = 0) {
  verdict out;
  if (ks.slot < 0 && !ks.cross)
    return out; // no keys: served anywhere
  if (ks.cross) {
    out.what = verdict::kind::crossslot;
    return out;
  }
  out.slot = static_cast<std::uint16_t>(ks.slot);
  auto owner = v.owner[out.slot];
  if (owner == view::none) {
    out.what = verdict::kind::down_unbound;
    return out;
  }
  if (!v.ok) {
    if (!v.allow_reads_when_down) {
      out.what = verdict::kind::down_state;
      return out;
    }
    if (flags.write) {
      out.what = verdict::kind::down_read_only;
      return out;
    }
  }
  bool migrating = owner == v.me && v.migrating.count(out.slot) != 0;
  auto importing_it = v.importing.find(out.slot);
  bool importing = importing_it != v.importing.end() && owner != v.me;
  if ((migrating || importing) && flags.migrate)
    return out;
  if (importing && flags.asking && !ks.multiple)
    return out;
  if (migrating || (importing && flags.asking)) {
    if (present < 0) {
      out.what = verdict::kind::check_keys;
      return out;
    }
    bool missing = present < keys;
    if (migrating && missing) {
      out.what = present > 0 ? verdict::kind::tryagain : verdict::kind::ask;
      out.node = v.migrating.at(out.slot);
      return out;
    }
    if (importing) {
      if (ks.multiple && missing)
        out.what = verdict::kind::tryagain;
      return out;
    }
    return out;
  }
  if (owner != v.me) {
    // A slot whose owner failed (and no replica took it over) is down, rather
    // than a redirect to a node that does not answer.
    if (owner < v.failed.size() && v.failed[owner]) {
      out.what = verdict::kind::down_unbound;
      return out;
    }
    out.what = verdict::kind::moved;
    out.node = owner;
  }
  return out;
}

} // namespace stairkv::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::cluster::view_ptr)
