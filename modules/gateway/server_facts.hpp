#pragma once

// What a gateway knows about the node it serves: fixed at start, read by INFO.
// Owned by the node, shared read-only by every gateway. (What CONFIG GET and SET
// see is settings.hpp.)

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stairkv::gateway {

struct server_facts {
  std::string version;
  std::string executable;
  std::string config_file;
  std::string shard_placement;
  std::string bind;
  std::uint16_t tcp_port = 0;
  std::int64_t started_at_ms = 0; // Unix time
  std::string run_id;             // 40 random hex digits, new at every start
  bool cluster_enabled = false;   // --cluster-enabled
};

using server_facts_ptr = std::shared_ptr<const server_facts>;

} // namespace stairkv::gateway
