#pragma once

// The broker's side of client-side caching: which gateway each tracking
// client is on, the broadcasting clients' prefixes, and how a shard's
// invalidations become one delivery per gateway (each client's keys in one
// message; a broadcasting client one message per prefix, as Redis sends them).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "modules/tracking/invalidations.hpp"
#include "modules/tracking/prefixes.hpp"
#include "modules/tracking/settings.hpp"

namespace stairkv::subscription_broker {

// (track_atom, uint64 client, bool on) from a gateway: its connection `client`
// tracks from now on (or no more: also drops its prefixes).
using track_atom = caf::atom_constant<caf::atom("track")>;
// (bcast_atom, uint64 client, vector<string> prefixes, bool noloop): the
// client hears of changes under these prefixes too ("" for every key).
using bcast_atom = caf::atom_constant<caf::atom("bcast")>;
// (flushed_atom): every key is gone (FLUSHALL, FLUSHDB): each tracking
// client hears one null invalidation.
using flushed_atom = caf::atom_constant<caf::atom("flushed")>;
// (invalidated_atom, invalidation_delivery) to a gateway.
using invalidated_atom = caf::atom_constant<caf::atom("invalidtd")>;

// What one gateway's tracking clients are told.
struct invalidation_delivery {
  struct message {
    std::uint64_t client;
    std::vector<std::string> keys; // empty with `flushed`: Redis's null
    bool flushed = false;
    // Keys under a BCAST prefix (else keys the client read: a client that has
    // switched to BCAST since hears nothing of those, as in Redis).
    bool broadcast = false;
  };
  std::vector<message> messages;
};

class tracking_routes {
public:
  explicit tracking_routes(tracking::settings_ptr shared = nullptr)
      : shared_(std::move(shared)) {}

  void track(const caf::actor& gateway, std::uint64_t client, bool on);
  void broadcast(std::uint64_t client, const std::vector<std::string>& prefixes,
                 bool noloop);
  // Drops every client of a gateway that went down.
  void forget_gateway(const caf::actor_addr& gateway);

  // Calls send(gateway, delivery) once per gateway with clients to tell.
  template <class Send>
  void route(const tracking::invalidations& log, Send send) {
    deliveries_.clear();
    build(log);
    for (auto& [gateway, delivery] : deliveries_)
      send(gateway, std::move(delivery));
    deliveries_.clear();
  }
  template <class Send>
  void route_flush(Send send) {
    deliveries_.clear();
    for (const auto& [client, gateway] : clients_)
      deliveries_[gateway].messages.push_back({client, {}, true, false});
    for (auto& [gateway, delivery] : deliveries_)
      send(gateway, std::move(delivery));
    deliveries_.clear();
  }

private:
  void build(const tracking::invalidations& log);
  void update_figures();

  tracking::settings_ptr shared_;
  std::unordered_map<std::uint64_t, caf::actor> clients_;
  // Each broadcasting client's prefixes (for the figures and for forgetting).
  std::unordered_map<std::uint64_t, std::vector<std::string>> broadcasting_;
  tracking::prefix_table prefixes_;
  std::unordered_map<caf::actor, invalidation_delivery> deliveries_;
};

} // namespace stairkv::subscription_broker

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(stairkv::subscription_broker::invalidation_delivery)
