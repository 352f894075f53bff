#pragma once

// What a gateway knows about the node it serves: fixed at start, read by INFO and
// CONFIG GET. Owned by the node, shared read-only by every gateway.

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
  std::uint16_t tcp_port = 0;
  std::int64_t started_at_ms = 0; // Unix time
  std::int64_t maxclients = 10000;
  // CONFIG GET answers from this list: option name -> current value.
  std::vector<std::pair<std::string, std::string>> config;
};

using server_facts_ptr = std::shared_ptr<const server_facts>;

} // namespace stairkv::gateway
