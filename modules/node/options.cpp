#include "modules/node/options.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "modules/commands/text.hpp"
#include "modules/engine/databases.hpp"
#include "modules/engine/staircase.hpp"
#include "modules/memory/policy.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/protocol/number.hpp"
#include "modules/shard/key_events.hpp"

namespace stairkv::node {

namespace {


bool parse_uint(const std::string& text, std::int64_t max, std::int64_t& out) {
  std::int64_t value = 0;
  if (!protocol::parse_int64(text, value) || value < 0 || value > max)
    return false;
  out = value;
  return true;
}

// list-max-listpack-size: an entry count, or -1..-5 (a chunk's bytes).
bool parse_list_size(const std::string& text, options& o) {
  std::int64_t value = 0;
  if (!protocol::parse_int64(text, value) || value < -5 || value == 0
      || value > std::numeric_limits<std::int32_t>::max())
    return false;
  o.list_max_listpack_size = value;
  return true;
}

bool one_of(const std::string& text, std::initializer_list<const char*> choices) {
  for (const auto* c : choices)
    if (text == c)
      return true;
  return false;
}

using setter = std::function<bool(options&, const std::string&)>;

struct option_spec {
  const char* name;
  const char* help;
  setter set;
};

const std::vector<option_spec>& specs() {
  static const std::vector<option_spec> table = {
    {"port", "TCP port of the Redis protocol (0: any free port)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 65535, n))
         return false;
       o.port = static_cast<std::uint16_t>(n);
       return true;
     }},
    {"bind", "address to listen on",
     [](options& o, const std::string& v) {
       o.bind = v;
       return !v.empty();
     }},
    {"requirepass", "password clients must AUTH with",
     [](options& o, const std::string& v) {
       o.limits.requirepass = v;
       return true;
     }},
    {"user", "an ACL user: \"<name> <rules...>\" (repeatable; not with aclfile)",
     [](options& o, const std::string& v) {
       if (v.find_first_not_of(" \t") == std::string::npos)
         return false;
       o.acl_users.push_back(v);
       return true;
     }},
    {"aclfile", "file of ACL users (loaded at start, written by ACL SAVE)",
     [](options& o, const std::string& v) {
       o.aclfile = v;
       return true;
     }},
    {"acl-pubsub-default", "channels of a new ACL user: resetchannels or allchannels",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"resetchannels", "allchannels"}))
         return false;
       o.limits.acl_pubsub_allchannels = p == "allchannels";
       return true;
     }},
    {"acllog-max-len", "entries ACL LOG keeps",
     [](options& o, const std::string& v) {
       return parse_uint(v, 1000000, o.limits.acllog_max_len);
     }},
    {"cluster-enabled", "yes: a node of a Redis Cluster (hash slots, redirects, CLUSTER)",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.cluster_enabled = p == "yes";
       return true;
     }},
    {"cluster-config-file", "the node's cluster state, kept by the node (in dir unless absolute)",
     [](options& o, const std::string& v) {
       o.cluster_config_file = v;
       return !v.empty();
     }},
    {"cluster-node-timeout", "milliseconds a peer may go unanswered before it is failing",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::int64_t{1} << 40, o.cluster_node_timeout)
              && o.cluster_node_timeout > 0;
     }},
    {"cluster-port", "port of the node-to-node link (0: port + 10000)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 65535, n))
         return false;
       o.cluster_port = static_cast<std::uint16_t>(n);
       return true;
     }},
    {"cluster-require-full-coverage", "yes: every slot answers -CLUSTERDOWN while any slot is down",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.cluster_require_full_coverage = p == "yes";
       return true;
     }},
    {"cluster-allow-reads-when-down", "yes: reads still served while the cluster is down",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.cluster_allow_reads_when_down = p == "yes";
       return true;
     }},
    {"cluster-announce-ip", "the address peers and clients are told to reach this node at",
     [](options& o, const std::string& v) {
       o.cluster_announce_ip = v;
       return true;
     }},
    {"protected-mode", "yes: refuse non-loopback clients while the default user has no password",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.limits.protected_mode = p == "yes";
       return true;
     }},
    {"tls-port", "port for TLS clients (0: none)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 65535, n))
         return false;
       o.tls_port = static_cast<std::uint16_t>(n);
       return true;
     }},
    {"caf-tls", "yes: the store on caf-port speaks TLS, with the tls-* files",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.caf_tls = p == "yes";
       return true;
     }},
    {"tls-cert-file", "the TLS port's certificate chain (PEM)",
     [](options& o, const std::string& v) {
       o.tls_cert_file = v;
       return true;
     }},
    {"tls-key-file", "the TLS port's private key (PEM)",
     [](options& o, const std::string& v) {
       o.tls_key_file = v;
       return true;
     }},
    {"tls-ca-cert-file", "CA certificates that client certificates must chain to (PEM)",
     [](options& o, const std::string& v) {
       o.tls_ca_cert_file = v;
       return true;
     }},
    {"tls-auth-clients", "yes: TLS clients need a certificate; optional: checked if sent; no",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no", "optional"}))
         return false;
       o.tls_auth_clients = p;
       return true;
     }},
    {"tls-protocols", "TLS versions allowed, e.g. \"TLSv1.2 TLSv1.3\"",
     [](options& o, const std::string& v) {
       o.tls_protocols = v;
       return true;
     }},
    {"tls-ciphersuites", "TLS 1.3 cipher suites (OpenSSL's names, ':'-separated)",
     [](options& o, const std::string& v) {
       o.tls_ciphersuites = v;
       return true;
     }},
    {"tls-ciphers", "TLS 1.2 cipher list (OpenSSL's syntax)",
     [](options& o, const std::string& v) {
       o.tls_ciphers = v;
       return true;
     }},
    {"maxclients", "most simultaneous clients",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 1000000, n) || n < 1)
         return false;
       o.limits.maxclients = n;
       return true;
     }},
    {"slowlog-log-slower-than",
     "microseconds a command must run to enter SLOWLOG (negative: none)",
     [](options& o, const std::string& v) {
       return protocol::parse_int64(v, o.limits.slowlog_log_slower_than);
     }},
    {"busy-reply-threshold",
     "milliseconds a script runs before other clients get -BUSY and SCRIPT KILL works",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int64_t>::max(),
                         o.limits.busy_reply_threshold_ms);
     }},
    {"lua-time-limit", "another name of busy-reply-threshold",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int64_t>::max(),
                         o.limits.busy_reply_threshold_ms);
     }},
    {"slowlog-max-len", "entries SLOWLOG keeps",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int64_t>::max(),
                         o.limits.slowlog_max_len);
     }},
    {"latency-tracking", "yes: INFO latencystats reports each command's call times",
     [](options& o, const std::string& v) {
       if (v != "yes" && v != "no")
         return false;
       o.limits.latency_tracking = v == "yes";
       return true;
     }},
    {"latency-tracking-info-percentiles",
     "the percentiles INFO latencystats reports, e.g. \"50 99 99.9\"",
     [](options& o, const std::string& v) {
       std::vector<double> wanted;
       std::istringstream in{v};
       std::string word;
       while (in >> word) {
         char* end = nullptr;
         double p = std::strtod(word.c_str(), &end);
         if (end == word.c_str() || *end != '\0' || !(p >= 0.0 && p <= 100.0))
           return false;
         wanted.push_back(p);
       }
       o.limits.latency_percentiles = std::move(wanted);
       return true;
     }},
    {"latency-monitor-threshold",
     "milliseconds an event must take for LATENCY to record it (0: none)",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int64_t>::max(),
                         o.latency_monitor_threshold);
     }},
    {"timeout", "seconds after which an idle client is closed (0: never)",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::int64_t{1} << 31, o.limits.timeout_seconds);
     }},
    {"maxmemory", "memory bound in bytes (kb/mb/gb accepted; 0: none)",
     [](options& o, const std::string& v) { return parse_memory(v, o.maxmemory); }},
    {"maxmemory-policy",
     "at the memory bound: noeviction (refuse writes) or evict, allkeys-lru, "
     "allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, "
     "volatile-ttl",
     [](options& o, const std::string& v) {
       memory::policy p;
       if (!memory::parse_policy(v, p))
         return false;
       o.maxmemory_policy = memory::to_string(p);
       return true;
     }},
    {"tracking-table-max-keys",
     "keys remembered for client-side caching (CLIENT TRACKING) at most; 0: no bound",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int64_t>::max(),
                         o.tracking_table_max_keys);
     }},
    {"hash-max-listpack-entries", "fields a hash keeps in its compact encoding",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.hash_max_listpack_entries);
     }},
    {"hash-max-ziplist-entries", "another name of hash-max-listpack-entries",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.hash_max_listpack_entries);
     }},
    {"hash-max-listpack-value", "bytes of a field or value a compact hash holds",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.hash_max_listpack_value);
     }},
    {"hash-max-ziplist-value", "another name of hash-max-listpack-value",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.hash_max_listpack_value);
     }},
    {"set-max-intset-entries", "integer members a set keeps in its compact encoding",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.set_max_intset_entries);
     }},
    {"set-max-listpack-entries", "members any set keeps in its compact encoding",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.set_max_listpack_entries);
     }},
    {"set-max-listpack-value", "bytes of a member a compact set holds",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.set_max_listpack_value);
     }},
    {"list-max-listpack-size",
     "entries of a list's chunk when positive; -1..-5: 4, 8, 16, 32 or 64 KB",
     [](options& o, const std::string& v) { return parse_list_size(v, o); }},
    {"list-max-ziplist-size", "another name of list-max-listpack-size",
     [](options& o, const std::string& v) { return parse_list_size(v, o); }},
    {"list-compress-depth",
     "accepted as Redis takes it; list chunks are not compressed",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(), o.list_compress_depth);
     }},
    {"zset-max-listpack-entries", "members a sorted set keeps in its compact encoding",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.zset_max_listpack_entries);
     }},
    {"zset-max-ziplist-entries", "another name of zset-max-listpack-entries",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.zset_max_listpack_entries);
     }},
    {"zset-max-listpack-value", "bytes of a member a compact sorted set holds",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.zset_max_listpack_value);
     }},
    {"zset-max-ziplist-value", "another name of zset-max-listpack-value",
     [](options& o, const std::string& v) {
       return parse_uint(v, std::numeric_limits<std::int32_t>::max(),
                         o.zset_max_listpack_value);
     }},
    {"maxmemory-samples", "keys an eviction compares (1-64)",
     [](options& o, const std::string& v) {
       std::int64_t n = 0;
       if (!parse_uint(v, 64, n) || n < 1)
         return false;
       o.maxmemory_samples = n;
       return true;
     }},
    {"notify-keyspace-events", "keyspace notification classes (Redis letters)",
     [](options& o, const std::string& v) {
       std::uint32_t flags = 0;
       if (!shard::parse_notify_flags(v, flags))
         return false;
       o.notify_keyspace_events = v;
       return true;
     }},
    {"client-output-buffer-limit",
     "output bounds per client class: <class> <hard> <soft> <seconds>...",
     [](options& o, const std::string& v) { return parse_output_limits(v, o.limits); }},
    {"dir", "working directory for persistence files",
     [](options& o, const std::string& v) {
       o.dir = v;
       return !v.empty();
     }},
    {"appendonly", "append-only file: yes or no",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.appendonly = p;
       return true;
     }},
    {"appendfilename", "name of the append-only file in dir",
     [](options& o, const std::string& v) {
       if (v.empty() || v.find('/') != std::string::npos)
         return false;
       o.appendfilename = v;
       return true;
     }},
    {"databases", "how many databases SELECT numbers (1-256)",
     [](options& o, const std::string& v) {
       std::int64_t n = 0;
       if (!parse_uint(v, engine::database_map::max_databases, n) || n < 1)
         return false;
       o.databases = n;
       return true;
     }},
    {"dbfilename", "name of the snapshot file in dir",
     [](options& o, const std::string& v) {
       if (v.empty() || v.find('/') != std::string::npos)
         return false;
       o.dbfilename = v;
       return true;
     }},
    {"save", "snapshot rules: \"<seconds> <changes> ...\" (\"\": none)",
     [](options& o, const std::string& v) {
       persistence::save_rules rules;
       if (!persistence::parse_save_rules(v, rules))
         return false;
       o.save = persistence::to_string(rules);
       return true;
     }},
    {"auto-aof-rewrite-percentage", "rewrite the AOF when it grew by this much (0: never)",
     [](options& o, const std::string& v) {
       return parse_uint(v, 1000000, o.auto_aof_rewrite_percentage);
     }},
    {"auto-aof-rewrite-min-size", "no automatic AOF rewrite below this size",
     [](options& o, const std::string& v) {
       return parse_memory(v, o.auto_aof_rewrite_min_size);
     }},
    {"appendfsync", "always, everysec or no",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"always", "everysec", "no"}))
         return false;
       o.appendfsync = p;
       return true;
     }},
    {"caf-port", "port publishing the store to remote CAF applications (0: off)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 65535, n))
         return false;
       o.caf_port = static_cast<std::uint16_t>(n);
       return true;
     }},
    {"resize", "yes: the staircase grows and shrinks with the load; no: fixed",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"yes", "no"}))
         return false;
       o.resize = p == "yes";
       return true;
     }},
    {"grow-keys-per-shard", "average keys per shard that make the engine grow",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, std::int64_t{1} << 40, n) || n < 4)
         return false;
       o.grow_keys_per_shard = n;
       return true;
     }},
    {"grow-backlog-per-shard",
     "average pending messages per shard that, sustained, make the engine grow",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, std::int64_t{1} << 30, n) || n < 1)
         return false;
       o.grow_backlog_per_shard = n;
       return true;
     }},
    {"min-stairs", "fewest stairs the engine shrinks to",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, engine::max_stairs, n) || n < 1)
         return false;
       o.min_stairs = static_cast<unsigned>(n);
       return true;
     }},
    {"max-stairs", "most stairs the engine grows to",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, engine::max_stairs, n) || n < 1)
         return false;
       o.max_stairs = static_cast<unsigned>(n);
       return true;
     }},
    {"resize-check-ms", "how often shard load is sampled, in milliseconds",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 60000, n) || n < 1)
         return false;
       o.resize_check_ms = n;
       return true;
     }},
    {"stairs", "stairs of the first engine (2^n - 1 shards)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, engine::max_stairs, n) || n < 1)
         return false;
       o.stairs = static_cast<unsigned>(n);
       return true;
     }},
    {"shard-placement", "io (shards on the I/O thread) or scheduler (on all cores)",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"io", "scheduler"}))
         return false;
       o.shard_placement = p;
       return true;
     }},
    {"threads", "CAF scheduler threads (0: one per core)",
     [](options& o, const std::string& v) {
       std::int64_t n;
       if (!parse_uint(v, 1024, n))
         return false;
       o.threads = static_cast<unsigned>(n);
       return true;
     }},
    {"loglevel", "debug, verbose, notice or warning",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"debug", "verbose", "notice", "warning"}))
         return false;
       o.loglevel = p;
       return true;
     }},
    {"daemonize", "no only: the node stays in the foreground (run it under a supervisor)",
     [](options&, const std::string& v) { return commands::to_lower(v) == "no"; }},
    {"enable-debug-command", "no, yes or local: who may run DEBUG (local: loopback clients)",
     [](options& o, const std::string& v) {
       auto p = commands::to_lower(v);
       if (!one_of(p, {"no", "yes", "local"}))
         return false;
       o.enable_debug_command = p;
       return true;
     }},
  };
  return table;
}

bool apply(options& out, const std::string& raw_name, const std::string& value,
           std::string& error) {
  auto name = commands::to_lower(raw_name);
  for (const auto& spec : specs()) {
    if (name == spec.name) {
      if (spec.set(out, value))
        return true;
      error = "invalid value '" + value + "' for option '" + name + "'";
      return false;
    }
  }
  error = "unknown option '" + raw_name + "'";
  return false;
}

// Redis config file syntax: one `name value` per line, `#` starts a comment,
// values may be quoted.
bool read_config_file(const std::string& path, options& out, std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = "cannot open config file '" + path + "'";
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#')
      continue;
    auto name_end = line.find_first_of(" \t", first);
    auto name = line.substr(first, name_end - first);
    std::string value;
    if (name_end != std::string::npos) {
      auto value_begin = line.find_first_not_of(" \t", name_end);
      auto value_end = line.find_last_not_of(" \t\r");
      if (value_begin != std::string::npos)
        value = line.substr(value_begin, value_end - value_begin + 1);
    }
    if (value.size() >= 2
        && ((value.front() == '"' && value.back() == '"')
            || (value.front() == '\'' && value.back() == '\'')))
      value = value.substr(1, value.size() - 2);
    if (!apply(out, name, value, error)) {
      error = path + ":" + std::to_string(number) + ": " + error;
      return false;
    }
  }
  return true;
}

} // namespace

bool apply_option(options& out, const std::string& name, const std::string& value,
                  std::string& error) {
  return apply(out, name, value, error);
}

bool parse_output_limits(const std::string& text, gateway::client_limits& limits) {
  std::istringstream in{text};
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  if (words.empty() || words.size() % 4 != 0)
    return false;
  auto result = limits;
  for (std::size_t i = 0; i < words.size(); i += 4) {
    auto cls = commands::to_lower(words[i]);
    gateway::output_limit limit;
    std::int64_t seconds = 0;
    if (!parse_memory(words[i + 1], limit.hard_bytes)
        || !parse_memory(words[i + 2], limit.soft_bytes)
        || !parse_uint(words[i + 3], std::int64_t{1} << 31, seconds))
      return false;
    limit.soft_seconds = seconds;
    if (cls == "normal")
      result.normal = limit;
    else if (cls == "pubsub")
      result.pubsub = limit;
    else if (cls != "replica" && cls != "slave")
      return false;
  }
  limits = result;
  return true;
}

std::string output_limits_to_string(const gateway::client_limits& limits) {
  auto group = [](const char* cls, const gateway::output_limit& l) {
    return std::string{cls} + " " + std::to_string(l.hard_bytes) + " "
           + std::to_string(l.soft_bytes) + " " + std::to_string(l.soft_seconds);
  };
  // Replicas do not exist here; Redis's default for them is shown unchanged.
  return group("normal", limits.normal) + " slave 268435456 67108864 60 "
         + group("pubsub", limits.pubsub);
}

bool parse_memory(const std::string& text, std::int64_t& bytes) {
  auto t = commands::to_lower(text);
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits])))
    ++digits;
  if (digits == 0)
    return false;
  std::int64_t number = 0;
  if (!protocol::parse_int64(t.substr(0, digits), number))
    return false;
  auto unit = t.substr(digits);
  std::int64_t multiplier = 1;
  if (unit.empty() || unit == "b")
    multiplier = 1;
  else if (unit == "k")
    multiplier = 1000;
  else if (unit == "kb")
    multiplier = 1024;
  else if (unit == "m")
    multiplier = 1000 * 1000;
  else if (unit == "mb")
    multiplier = 1024 * 1024;
  else if (unit == "g")
    multiplier = 1000LL * 1000 * 1000;
  else if (unit == "gb")
    multiplier = 1024LL * 1024 * 1024;
  else
    return false;
  if (number > std::numeric_limits<std::int64_t>::max() / multiplier)
    return false;
  bytes = number * multiplier;
  return true;
}

bool parse_options(int argc, char** argv, options& out, std::string& error) {
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') {
    out.config_file = argv[1];
    if (!read_config_file(out.config_file, out, error))
      return false;
    i = 2;
  }
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return true;
    }
    if (arg.rfind("--", 0) != 0) {
      error = "unexpected argument '" + arg + "'";
      return false;
    }
    auto eq = arg.find('=');
    std::string name, value;
    if (eq != std::string::npos) {
      name = arg.substr(2, eq - 2);
      value = arg.substr(eq + 1);
    } else {
      name = arg.substr(2);
      if (i + 1 >= argc) {
        error = "option '" + name + "' needs a value";
        return false;
      }
      value = argv[++i];
    }
    if (name.rfind("caf.", 0) == 0 && name.size() > 4) {
      out.caf_settings.emplace_back(name.substr(4), value);
      continue;
    }
    if (!apply(out, name, value, error))
      return false;
  }
  return true;
}

std::string usage() {
  std::ostringstream out;
  out << "usage: stairkv-server [config-file] [--name=value ...]\n\noptions:\n";
  for (const auto& spec : specs())
    out << "  --" << spec.name << "=...\n      " << spec.help << "\n";
  return out.str();
}

std::vector<std::pair<std::string, std::string>> options::as_config() const {
  return {
    {"bind", bind},
    {"port", std::to_string(port)},
    {"requirepass", limits.requirepass},
    {"maxclients", std::to_string(limits.maxclients)},
    {"aclfile", aclfile},
    {"tls-port", std::to_string(tls_port)},
    {"caf-tls", caf_tls ? "yes" : "no"},
    {"tls-cert-file", tls_cert_file},
    {"tls-key-file", tls_key_file},
    {"tls-ca-cert-file", tls_ca_cert_file},
    {"tls-auth-clients", tls_auth_clients},
    {"tls-protocols", tls_protocols},
    {"tls-ciphersuites", tls_ciphersuites},
    {"tls-ciphers", tls_ciphers},
    {"acl-pubsub-default", limits.acl_pubsub_allchannels ? "allchannels" : "resetchannels"},
    {"acllog-max-len", std::to_string(limits.acllog_max_len)},
    {"protected-mode", limits.protected_mode ? "yes" : "no"},
    {"cluster-enabled", cluster_enabled ? "yes" : "no"},
    {"cluster-config-file", cluster_config_file},
    {"cluster-node-timeout", std::to_string(cluster_node_timeout)},
    {"cluster-port", std::to_string(cluster_port)},
    {"cluster-require-full-coverage", cluster_require_full_coverage ? "yes" : "no"},
    {"cluster-allow-reads-when-down", cluster_allow_reads_when_down ? "yes" : "no"},
    {"cluster-announce-ip", cluster_announce_ip},
    {"client-output-buffer-limit", output_limits_to_string(limits)},
    {"maxmemory", std::to_string(maxmemory)},
    {"maxmemory-policy", maxmemory_policy},
    {"maxmemory-samples", std::to_string(maxmemory_samples)},
    {"tracking-table-max-keys", std::to_string(tracking_table_max_keys)},
    {"hash-max-listpack-entries", std::to_string(hash_max_listpack_entries)},
    {"hash-max-ziplist-entries", std::to_string(hash_max_listpack_entries)},
    {"hash-max-listpack-value", std::to_string(hash_max_listpack_value)},
    {"hash-max-ziplist-value", std::to_string(hash_max_listpack_value)},
    {"set-max-intset-entries", std::to_string(set_max_intset_entries)},
    {"set-max-listpack-entries", std::to_string(set_max_listpack_entries)},
    {"set-max-listpack-value", std::to_string(set_max_listpack_value)},
    {"list-max-listpack-size", std::to_string(list_max_listpack_size)},
    {"list-max-ziplist-size", std::to_string(list_max_listpack_size)},
    {"list-compress-depth", std::to_string(list_compress_depth)},
    {"zset-max-listpack-entries", std::to_string(zset_max_listpack_entries)},
    {"zset-max-ziplist-entries", std::to_string(zset_max_listpack_entries)},
    {"zset-max-listpack-value", std::to_string(zset_max_listpack_value)},
    {"zset-max-ziplist-value", std::to_string(zset_max_listpack_value)},
    {"notify-keyspace-events", [this] {
       std::uint32_t flags = 0;
       shard::parse_notify_flags(notify_keyspace_events, flags);
       return shard::notify_flags_to_string(flags);
     }()},
    {"dir", dir},
    {"appendonly", appendonly},
    {"appendfsync", appendfsync},
    {"appendfilename", appendfilename},
    {"save", save},
    {"dbfilename", dbfilename},
    {"auto-aof-rewrite-percentage", std::to_string(auto_aof_rewrite_percentage)},
    {"auto-aof-rewrite-min-size", std::to_string(auto_aof_rewrite_min_size)},
    {"databases", std::to_string(databases)},
    {"timeout", std::to_string(limits.timeout_seconds)},
    {"slowlog-log-slower-than", std::to_string(limits.slowlog_log_slower_than)},
    {"slowlog-max-len", std::to_string(limits.slowlog_max_len)},
    {"busy-reply-threshold", std::to_string(limits.busy_reply_threshold_ms)},
    {"lua-time-limit", std::to_string(limits.busy_reply_threshold_ms)},
    {"latency-tracking", limits.latency_tracking ? "yes" : "no"},
    {"latency-monitor-threshold", std::to_string(latency_monitor_threshold)},
    {"latency-tracking-info-percentiles",
     [&] {
       std::string text;
       for (auto p : limits.latency_percentiles)
         text += (text.empty() ? "" : " ") + gateway::format_percentile(p);
       return text;
     }()},
    {"caf-port", std::to_string(caf_port)},
    {"stairs", std::to_string(stairs)},
    {"resize", resize ? "yes" : "no"},
    {"grow-keys-per-shard", std::to_string(grow_keys_per_shard)},
    {"grow-backlog-per-shard", std::to_string(grow_backlog_per_shard)},
    {"min-stairs", std::to_string(min_stairs)},
    {"max-stairs", std::to_string(max_stairs)},
    {"resize-check-ms", std::to_string(resize_check_ms)},
    {"shard-placement", shard_placement},
    {"threads", std::to_string(threads)},
    {"loglevel", loglevel},
    {"enable-debug-command", enable_debug_command},
    {"daemonize", "no"},
  };
}

} // namespace stairkv::node
