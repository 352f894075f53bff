#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "benchmarks/workload.hpp"

// The load generator's command line: `--name=value` (or `--name value`) options and
// the flags --quick, --fill and --help.
namespace stairkv::bench {

enum class run_mode {
  load,    // closed-loop SET/GET traffic, the default
  fill,    // SET every key once, then stop (--fill)
  expiry,  // keys with deadlines, timed against their expired notifications (--expiry=N)
};

struct options {
  run_mode mode = run_mode::load;
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::uint64_t clients = 100;
  unsigned threads = 2;
  std::uint64_t keys = 1'000'000;
  std::uint64_t requests = 21'000'000;
  command_ratio ratio;
  std::uint64_t pipeline = 1;  // requests in flight per client
  std::size_t value_size = 16;
  double duration_seconds = 0;  // 0: no limit
  bool quick = false;
  std::string out_dir;  // empty: bench-results/<UTC timestamp>
  std::uint64_t seed = 1;
  bool help = false;
  // --expiry=N --expiry-spread-ms=A:B
  std::uint64_t expiry_keys = 0;
  std::int64_t expiry_spread_from_ms = 1000;
  std::int64_t expiry_spread_to_ms = 3000;
};

// Defaults of the reference run, and what --quick shrinks them to (a run that ends in
// well under 20 seconds on a small machine).
inline constexpr std::uint64_t quick_keys = 100'000;
inline constexpr std::uint64_t quick_clients = 50;
inline constexpr std::uint64_t quick_requests = 1'000'000;
inline constexpr double quick_duration_seconds = 8;
// --fill pipelines this deep unless --pipeline says otherwise: it is a bulk load.
inline constexpr std::uint64_t fill_pipeline = 64;

// Parses the command line (argv[0] is skipped). On failure returns false and sets
// `error` to a message naming the offending argument. Explicit options win over what
// --quick and --fill imply, whatever the order.
bool parse_options(int argc, const char* const* argv, options& out, std::string& error);

// The text printed for --help.
std::string usage();

}  // namespace stairkv::bench
