#pragma once

// The node's settings as CONFIG GET and CONFIG SET see them: a table of named
// entries, each read by a function and, when it may change while the node runs,
// written by one, and the rules of CONFIG GET and SET over it. The node fills
// the table (it knows every option and what a change must reach); gateways only
// answer CONFIG with it. Gateways all run on the
// middleman's one I/O thread, and only they call these functions, so nothing here
// locks.

#include <cstdint>
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stairkv::gateway {

// Redis's client-output-buffer-limit for one class of clients: a client whose
// pending output passes `hard_bytes`, or stays above `soft_bytes` for
// `soft_seconds`, is disconnected. Zero turns a limit off.
struct output_limit {
  std::int64_t hard_bytes = 0;
  std::int64_t soft_bytes = 0;
  std::int64_t soft_seconds = 0;

  bool enabled() const noexcept {
    return hard_bytes > 0 || soft_bytes > 0;
  }
};

// What gateways enforce per client, changed by CONFIG SET.
struct client_limits {
  std::int64_t maxclients = 10000;
  std::int64_t timeout_seconds = 0; // idle clients are closed after it; 0: never
  // The default user's password; empty: connections start authenticated. A change
  // applies to connections made after it (as in Redis).
  std::string requirepass;
  // protected-mode: while the default user needs no password, clients from
  // outside loopback are refused (-DENIED) as they connect.
  bool protected_mode = true;
  std::int64_t acllog_max_len = 128; // ACL LOG's entries
  // acl-pubsub-default allchannels: new ACL users may use every channel.
  bool acl_pubsub_allchannels = false;
  output_limit normal;                                      // Redis: 0 0 0
  output_limit pubsub{32ll << 20, 8ll << 20, 60};           // Redis: 32mb 8mb 60
  // SLOWLOG: commands that ran at least this many microseconds are logged
  // (negative: none), and the log keeps this many (Redis's defaults).
  std::int64_t slowlog_log_slower_than = 10000;
  std::int64_t slowlog_max_len = 128;
  // A script that runs longer makes other clients get -BUSY (and may be
  // stopped with SCRIPT KILL); busy-reply-threshold, alias lua-time-limit.
  std::int64_t busy_reply_threshold_ms = 5000;
  // INFO latencystats: whether call times are tracked per command, and which
  // percentiles it reports (Redis's defaults).
  bool latency_tracking = true;
  std::vector<double> latency_percentiles{50.0, 99.0, 99.9};
};

// A percentile as Redis prints it: "%f" without trailing zeros ("50", "99.9").
inline std::string format_percentile(double p) {
  auto text = std::to_string(p);
  while (!text.empty() && text.back() == '0')
    text.pop_back();
  if (!text.empty() && text.back() == '.')
    text.pop_back();
  return text;
}

struct setting {
  std::string name;
  std::function<std::string()> get;
  // For settings that may change while the node runs (both empty otherwise):
  // `check` returns "" when a value is acceptable, otherwise why not (Redis's
  // wording after "CONFIG SET failed ... - "); `apply` then makes it current.
  // CONFIG SET checks every pair before applying any, so it changes all or none.
  std::function<std::string(const std::string&)> check;
  std::function<void(const std::string&)> apply;
};

struct node_settings {
  client_limits limits;
  std::vector<setting> entries;
  // CONFIG REWRITE: brings the config file the node started with up to date;
  // returns "" or Redis's error message. Null: there is no file to rewrite.
  std::function<std::string()> rewrite;

  const setting* find(std::string_view name) const {
    for (const auto& s : entries)
      if (s.name.size() == name.size()
          && std::equal(name.begin(), name.end(), s.name.begin(),
                        [](char a, char b) {
                          return (a | 0x20) == (b | 0x20);
                        }))
        return &s;
    return nullptr;
  }

  // CONFIG GET: every setting whose name matches one of `patterns` (globs, any
  // case), in table order.
  std::vector<const setting*> matching(const std::vector<std::string_view>& patterns) const;

  // CONFIG SET: every (name, value) pair is checked before any is applied, so
  // the command changes everything or nothing, as in Redis 7. A setting fixed
  // at start accepts only the value it already has (and nothing changes). Returns Redis's
  // error message for the first pair refused, or an empty string.
  std::string set_all(
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs);
};

using node_settings_ptr = std::shared_ptr<node_settings>;

} // namespace stairkv::gateway
