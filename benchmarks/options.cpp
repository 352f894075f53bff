#include "benchmarks/options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/protocol/limits.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::bench {

namespace {

// Bounds that keep a typo from asking for something absurd: every client is a socket
// and a buffer of `pipeline` requests.
constexpr std::uint64_t max_clients = 100'000;
constexpr unsigned max_threads = 256;
constexpr std::uint64_t max_pipeline = 100'000;

bool parse_unsigned(std::string_view text, std::uint64_t low, std::uint64_t high,
                    std::uint64_t& out) {
  std::int64_t value = 0;
  if (!protocol::parse_int64(text, value) || value < 0) return false;
  const auto v = static_cast<std::uint64_t>(value);
  if (v < low || v > high) return false;
  out = v;
  return true;
}

bool parse_seconds(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(value) ||
      value < 0) {
    return false;
  }
  out = value;
  return true;
}

bool parse_spread(std::string_view text, std::int64_t& from, std::int64_t& to) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  std::int64_t a = 0;
  std::int64_t b = 0;
  if (!protocol::parse_int64(text.substr(0, colon), a) ||
      !protocol::parse_int64(text.substr(colon + 1), b) || a < 0 || b < a ||
      b > 24 * 3600 * 1000) {
    return false;
  }
  from = a;
  to = b;
  return true;
}

struct option_spec {
  const char* name;
  bool takes_value;
  // Applies the value; false if it is invalid. `expect` then says what was wanted.
  std::function<bool(std::string_view, options&)> apply;
  const char* expect;
};

std::vector<option_spec> option_table() {
  return {
      {"host", true,
       [](std::string_view v, options& o) {
         o.host.assign(v);
         return !v.empty();
       },
       "a host name or address"},
      {"port", true,
       [](std::string_view v, options& o) {
         std::uint64_t port = 0;
         if (!parse_unsigned(v, 1, 65535, port)) return false;
         o.port = static_cast<std::uint16_t>(port);
         return true;
       },
       "a port number, 1-65535"},
      {"clients", true,
       [](std::string_view v, options& o) {
         return parse_unsigned(v, 1, max_clients, o.clients);
       },
       "a number of clients, 1-100000"},
      {"threads", true,
       [](std::string_view v, options& o) {
         std::uint64_t threads = 0;
         if (!parse_unsigned(v, 1, max_threads, threads)) return false;
         o.threads = static_cast<unsigned>(threads);
         return true;
       },
       "a number of threads, 1-256"},
      {"keys", true,
       [](std::string_view v, options& o) {
         return parse_unsigned(v, 1, max_keys, o.keys);
       },
       "a number of keys, 1-1000000000000"},
      {"requests", true,
       [](std::string_view v, options& o) {
         return parse_unsigned(v, 1, UINT64_MAX >> 2, o.requests);
       },
       "a positive number of requests"},
      {"ratio", true,
       [](std::string_view v, options& o) { return parse_ratio(v, o.ratio); },
       "SET:GET, two counts such as 1:1 or 1:10"},
      {"pipeline", true,
       [](std::string_view v, options& o) {
         return parse_unsigned(v, 1, max_pipeline, o.pipeline);
       },
       "requests in flight per client, 1-100000"},
      {"value-size", true,
       [](std::string_view v, options& o) {
         std::uint64_t size = 0;
         if (!parse_unsigned(v, 0, protocol::max_bulk_length, size)) return false;
         o.value_size = static_cast<std::size_t>(size);
         return true;
       },
       "a value size in bytes, at most 536870912"},
      {"duration", true,
       [](std::string_view v, options& o) { return parse_seconds(v, o.duration_seconds); },
       "seconds, 0 for no limit"},
      {"out", true,
       [](std::string_view v, options& o) {
         o.out_dir.assign(v);
         return !v.empty();
       },
       "a directory"},
      {"seed", true,
       [](std::string_view v, options& o) {
         return parse_unsigned(v, 0, INT64_MAX, o.seed);
       },
       "a non-negative integer"},
      {"expiry", true,
       [](std::string_view v, options& o) {
         o.mode = run_mode::expiry;
         return parse_unsigned(v, 1, 10'000'000, o.expiry_keys);
       },
       "a number of keys, 1-10000000"},
      {"expiry-spread-ms", true,
       [](std::string_view v, options& o) {
         return parse_spread(v, o.expiry_spread_from_ms, o.expiry_spread_to_ms);
       },
       "A:B milliseconds from now, 0 <= A <= B"},
      {"quick", false, [](std::string_view, options& o) { return o.quick = true; }, ""},
      {"fill", false,
       [](std::string_view, options& o) {
         o.mode = run_mode::fill;
         return true;
       },
       ""},
      {"help", false, [](std::string_view, options& o) { return o.help = true; }, ""},
  };
}

}  // namespace

bool parse_options(int argc, const char* const* argv, options& out, std::string& error) {
  const std::vector<option_spec> table = option_table();
  // Flags first, then values: --quick and --fill change defaults, and an explicit
  // option must win over them wherever it stands on the line.
  std::vector<std::pair<const option_spec*, std::string_view>> given;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      error = "unexpected argument '" + std::string(arg) + "' (options are --name=value)";
      return false;
    }
    arg.remove_prefix(2);
    const auto equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const option_spec* spec = nullptr;
    for (const auto& candidate : table) {
      if (name == candidate.name) spec = &candidate;
    }
    if (spec == nullptr) {
      error = "unknown option --" + std::string(name) + " (see --help)";
      return false;
    }
    std::string_view value;
    if (equals != std::string_view::npos) {
      if (!spec->takes_value) {
        error = "--" + std::string(name) + " takes no value";
        return false;
      }
      value = arg.substr(equals + 1);
    } else if (spec->takes_value) {
      if (i + 1 == argc) {
        error = "--" + std::string(name) + " needs a value: " + spec->expect;
        return false;
      }
      value = argv[++i];
    }
    given.emplace_back(spec, value);
  }

  options result;
  for (const auto& [spec, value] : given) {
    if (!spec->takes_value) spec->apply(value, result);
  }
  const bool filling = result.mode == run_mode::fill;
  if (result.quick) {
    result.keys = quick_keys;
    result.clients = quick_clients;
    result.requests = quick_requests;
    // A fill cut short would leave keys missing, which defeats its purpose.
    if (!filling) result.duration_seconds = quick_duration_seconds;
  }
  if (filling) result.pipeline = fill_pipeline;
  for (const auto& [spec, value] : given) {
    if (spec->takes_value && !spec->apply(value, result)) {
      error = "invalid --" + std::string(spec->name) + "=" + std::string(value) +
              ": expected " + spec->expect;
      return false;
    }
  }
  if (filling && result.mode == run_mode::expiry) {
    error = "--fill and --expiry are different runs; give one of them";
    return false;
  }
  out = std::move(result);
  return true;
}

std::string usage() {
  return R"(stairkv-bench: load generator for Redis-protocol servers (stairkv, Redis)

Usage: stairkv-bench [--name=value ...]

Load (the default): closed loop per client, SET and GET on random keys.
  --host=H              server address (127.0.0.1)
  --port=N              server port (6379)
  --clients=N           concurrent connections (100)
  --threads=N           event-loop threads the clients are spread over (2)
  --keys=N              distinct keys, key:%012d, uniform per request (1000000)
  --requests=N          requests in total (21000000)
  --ratio=SET:GET       command mix (1:1)
  --pipeline=N          requests in flight per client (1)
  --value-size=N        bytes per SET value (16)
  --duration=SECONDS    stop after this long even if requests remain (0: no limit)
  --quick               smaller defaults: 100000 keys, 50 clients, 1000000 requests,
                        8 s at most; explicit options still win
  --seed=N              seed of the per-client generators (1)
  --out=DIR             results directory (bench-results/<UTC timestamp>)
  Writes DIR/summary.json, DIR/timeline.csv (per 100 ms), DIR/engine_events.csv
  (INFO engine once a second) and DIR/throughput.png (with gnuplot).

Fill: --fill SETs every key 0..keys-1 once, pipelined (--pipeline, default 64),
  then prints ops and seconds and writes DIR/fill.json.

Expiry: --expiry=N [--expiry-spread-ms=A:B] (1000:3000) subscribes to
  __keyevent@0__:expired, SETs N keys with PXAT deadlines spread over
  [now+A, now+B] ms and reports how late each expired event arrives
  (DIR/expiry.json). The server must send keyspace events for expiry
  (notify-keyspace-events Ex; the tool asks for it with CONFIG SET).

Exit status: 0 when the run completed (error replies are counted, not fatal),
1 when the server could not be reached or closed a connection, 2 for bad options.
)";
}

}  // namespace stairkv::bench
