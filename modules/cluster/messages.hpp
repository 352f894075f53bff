#pragma once

// What cluster nodes tell each other, as CAF messages between their cluster
// actors (cluster_actor.hpp): CAF serialises these through their inspect()
// overloads when the peer is remote, so there is no wire format of our own.
// The rules applied to them are Redis Cluster's (node_table.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace stairkv::cluster {

using meet_atom = caf::atom_constant<caf::atom("clmeet")>;
using ping_atom = caf::atom_constant<caf::atom("clping")>;
using update_atom = caf::atom_constant<caf::atom("clupdate")>;
using fail_atom = caf::atom_constant<caf::atom("clfail")>;
using restore_atom = caf::atom_constant<caf::atom("clrestore")>;
using relay_atom = caf::atom_constant<caf::atom("clrelay")>;
// From cluster clients (cluster_client.hpp).
using routes_atom = caf::atom_constant<caf::atom("clroutes")>; // the slot map
using store_atom = caf::atom_constant<caf::atom("clstore")>;   // the node's store
// Between a node's gateway and its own cluster actor.
using request_atom = caf::atom_constant<caf::atom("clrequest")>; // a CLUSTER command
using watch_atom = caf::atom_constant<caf::atom("clwatch")>;     // send me every view
using view_atom = caf::atom_constant<caf::atom("clview")>;       // the new view
using migrate_atom = caf::atom_constant<caf::atom("clmigrate")>; // MIGRATE's keys
using publish_atom = caf::atom_constant<caf::atom("clpublish")>; // PUBLISH everywhere
using timeout_atom = caf::atom_constant<caf::atom("cltimeout")>; // CONFIG SET cluster-node-timeout

// One node as its heartbeat describes it: who it is, where its clients and its
// peers reach it, its role and the epoch its slot claims carry.
struct node_header {
  std::string id;       // 40 hex digits
  std::string ip;
  std::uint16_t port = 0;  // clients (RESP)
  std::uint16_t cport = 0; // peers (the published cluster actor)
  std::uint16_t flags = 0; // node_flag bits the sender reports about itself
  std::string master;      // a replica's primary; empty for a primary
  std::uint64_t config_epoch = 0;
  std::string slots;       // slot_count bits, slot s at byte s/8, bit s%8
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_header& x) {
  return f(caf::meta::type_name("stairkv::cluster::node_header"), x.id, x.ip, x.port,
           x.cport, x.flags, x.master, x.config_epoch, x.slots);
}

// What the sender knows of another node: enough to reach it, and whether the
// sender thinks it failing (a failure report when the sender is a primary).
struct gossip_entry {
  std::string id;
  std::string ip;
  std::uint16_t port = 0;
  std::uint16_t cport = 0;
  std::uint16_t flags = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gossip_entry& x) {
  return f(caf::meta::type_name("stairkv::cluster::gossip_entry"), x.id, x.ip, x.port,
           x.cport, x.flags);
}

// A heartbeat: sent as a PING (or MEET, the first time), answered by the
// receiver's own as its PONG.
struct heartbeat {
  node_header sender;
  std::uint64_t current_epoch = 0;
  std::vector<gossip_entry> gossip;
  // A MEET's: the address the sender reached the receiver at, so that a node
  // that does not know its own address learns it (Redis's "myip").
  std::string your_ip;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heartbeat& x) {
  return f(caf::meta::type_name("stairkv::cluster::heartbeat"), x.sender, x.current_epoch,
           x.gossip, x.your_ip);
}

// Keys handed from a migrating node to the importing one (MIGRATE): each key's
// DUMP payload and its time to live in milliseconds (0: none).
struct key_transfer {
  std::vector<std::string> keys;
  std::vector<std::string> payloads;
  std::vector<std::int64_t> ttls;
  bool replace = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_transfer& x) {
  return f(caf::meta::type_name("stairkv::cluster::key_transfer"), x.keys, x.payloads,
           x.ttls, x.replace);
}

// The slot map as a cluster client gets it: the nodes (name, where clients
// and peers reach them) and, for each slot, the index of its owner among them
// (0xffff: none).
struct slot_routes {
  std::vector<std::string> ids;
  std::vector<std::string> ips;
  std::vector<std::uint16_t> ports;
  std::vector<std::uint16_t> cports;
  std::vector<std::uint16_t> owners;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_routes& x) {
  return f(caf::meta::type_name("stairkv::cluster::slot_routes"), x.ids, x.ips, x.ports,
           x.cports, x.owners);
}

} // namespace stairkv::cluster
