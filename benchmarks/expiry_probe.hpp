#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/connection.hpp"

// How promptly a server announces expired keys. One connection subscribes to
// __keyevent@0__:expired; another SETs N keys with absolute PXAT deadlines spread over
// [now+A, now+B]; every `expired` message for one of those keys is timed against its
// deadline on the wall clock (the clock PXAT is defined on).
namespace stairkv::bench {

inline constexpr std::string_view expired_channel = "__keyevent@0__:expired";
// Probe keys are "exp:" and twelve digits, 16 bytes like the load's keys but apart
// from them.
inline constexpr std::string_view expiry_key_prefix = "exp:";
// After the last deadline the subscriber keeps listening this long for stragglers.
inline constexpr std::int64_t expiry_grace_ms = 5000;

struct expiry_config {
  server_address server;
  std::uint64_t keys = 0;
  std::int64_t spread_from_ms = 1000;
  std::int64_t spread_to_ms = 3000;
  std::size_t value_size = 16;
  std::uint64_t seed = 1;
};

struct lateness_summary {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double min_ms = 0;
  double mean_ms = 0;
};

// Nearest-rank percentiles of exact lateness values (milliseconds, negative when an
// event came before its deadline); all zero for none.
lateness_summary summarize_lateness(std::vector<double> lateness_ms);

// The key index an expired event's payload names, if it is one of the probe's keys
// (below `keys`).
bool probe_key_index(std::string_view payload, std::uint64_t keys, std::uint64_t& index);

struct expiry_report {
  // False when the server answered SUBSCRIBE with an error: it has no notifications,
  // which is a finding, not a failure of the probe.
  bool supported = true;
  std::string subscribe_error;
  // The server's notify-keyspace-events as the probe left it; empty if unknown.
  std::string notify_keyspace_events;
  std::uint64_t keys = 0;
  std::uint64_t heard = 0;       // keys whose expired event arrived
  std::uint64_t missing = 0;     // keys never heard of
  std::uint64_t duplicates = 0;  // events for a key already heard (watched for 250 ms
                                 // past the last new key)
  std::uint64_t early = 0;       // events that came before the key's deadline
  std::uint64_t foreign = 0;     // expired events for other keys
  std::uint64_t set_errors = 0;
  std::string first_set_error;
  double set_seconds = 0;   // how long setting the keys took
  double wait_seconds = 0;  // from the first SET to the last event or giving up
  lateness_summary lateness;
};

// Runs the probe; throws connection_error when the server cannot be reached or closes a
// connection.
expiry_report run_expiry_probe(const expiry_config& config);

}  // namespace stairkv::bench
