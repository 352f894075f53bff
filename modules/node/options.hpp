#pragma once

// The node's options, named as Redis names them. They come from an optional config
// file (the first argument, Redis's `name value` lines) and from `--name=value` or
// `--name value` arguments, later ones winning. The same table answers CONFIG GET.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modules/gateway/settings.hpp"

namespace stairkv::node {

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 6379;
  // maxclients, timeout, requirepass and client-output-buffer-limit.
  gateway::client_limits limits;
  std::int64_t maxmemory = 0;
  std::string maxmemory_policy = "noeviction";
  std::int64_t maxmemory_samples = 5;
  // When a hash leaves its compact encoding (Redis's thresholds).
  std::int64_t hash_max_listpack_entries = 128;
  std::int64_t hash_max_listpack_value = 64;
  // When a set leaves its compact encoding (Redis 7.2's thresholds).
  std::int64_t set_max_intset_entries = 512;
  std::int64_t set_max_listpack_entries = 128;
  std::int64_t set_max_listpack_value = 64;
  // The size of a list's chunks: entries when positive, -1..-5 for 4 to 64 KB.
  std::int64_t list_max_listpack_size = -2;
  // Accepted for Redis's configurations; chunks are never compressed.
  std::int64_t list_compress_depth = 0;
  std::int64_t zset_max_listpack_entries = 128;
  std::int64_t zset_max_listpack_value = 64;
  std::string notify_keyspace_events = "Ex"; // letters as given (validated)
  std::string dir = ".";
  std::string appendonly = "no";
  std::string appendfsync = "everysec";
  std::string appendfilename = "appendonly.aof";
  std::int64_t databases = 16;
  std::int64_t tracking_table_max_keys = 1000000; // CLIENT TRACKING's bound (0: none)
  std::string dbfilename = "dump.stkv";
  std::string save;  // Redis's "seconds changes ..." rules; "" for none
  std::int64_t auto_aof_rewrite_percentage = 100;
  std::int64_t auto_aof_rewrite_min_size = 64 * 1024 * 1024;
  std::uint16_t caf_port = 0; // 0: the store is not published to CAF applications
  // Cluster mode (modules/cluster), fixed at start.
  bool cluster_enabled = false;
  std::string cluster_config_file = "nodes.conf"; // in dir, unless absolute
  std::int64_t cluster_node_timeout = 15000;      // ms
  std::uint16_t cluster_port = 0;                 // 0: port + 10000
  bool cluster_require_full_coverage = true;
  bool cluster_allow_reads_when_down = false;
  std::string cluster_announce_ip; // "": bind's address, or learned from the peers
  unsigned stairs = 1;          // of the first engine
  bool resize = true;           // grow and shrink with the load
  std::int64_t grow_keys_per_shard = 250000;
  std::int64_t grow_backlog_per_shard = 64;
  unsigned min_stairs = 1;
  unsigned max_stairs = 8;
  std::int64_t resize_check_ms = 100;
  std::string shard_placement; // "io" or "scheduler"; empty: chosen by core count
  unsigned threads = 0;        // CAF scheduler threads; 0: one per core
  std::string loglevel = "notice";
  // DEBUG: "no" (refused, Redis 7's default), "yes", or "local" (loopback
  // clients only). Fixed at start, as in Redis.
  std::string enable_debug_command = "no";
  // LATENCY: what takes at least this many milliseconds is recorded (0: nothing).
  std::int64_t latency_monitor_threshold = 0;
  // ACL users: `user <name> <rules>` lines (config file or --user), or an
  // aclfile (not both, as in Redis); what a new user may do with channels.
  // (ACL LOG's bound, acl-pubsub-default and protected-mode are in limits.)
  std::vector<std::string> acl_users;
  std::string aclfile;
  // TLS: a second port whose clients speak TLS (0: none), and its files and
  // rules (Redis's tls-* options; tls-auth-clients yes|no|optional).
  std::uint16_t tls_port = 0;
  // caf-tls yes: the store published on caf-port speaks TLS (CAF's openssl
  // module), with tls-cert-file, tls-key-file and tls-ca-cert-file.
  bool caf_tls = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_cert_file;
  std::string tls_auth_clients = "yes";
  std::string tls_protocols;
  std::string tls_ciphersuites;
  std::string tls_ciphers;
  std::string config_file;
  bool help = false;
  // `--caf.<key>=<value>`: passed to CAF's own configuration unchanged (for example
  // --caf.middleman.max-consecutive-reads=1); tuning knobs, not Redis options.
  std::vector<std::pair<std::string, std::string>> caf_settings;

  // name -> value of every option, for CONFIG GET.
  std::vector<std::pair<std::string, std::string>> as_config() const;
};

// Parses the command line; on failure returns false and sets `error` to a message
// that names the offending option.
bool parse_options(int argc, char** argv, options& out, std::string& error);

// The text printed for --help.
std::string usage();

// Parses a memory amount as Redis does: a number with an optional unit
// (b, k, kb, m, mb, g, gb; k = 1000, kb = 1024), case-insensitive.
bool parse_memory(const std::string& text, std::int64_t& bytes);

// Parses Redis's client-output-buffer-limit value: groups of four words,
// `<class> <hard> <soft> <seconds>`, class one of normal, replica (or slave) and
// pubsub, sizes with parse_memory's units. Replica limits are accepted and
// ignored (there are no replicas). Only the classes named change; false (and
// `limits` unchanged) on anything malformed.
bool parse_output_limits(const std::string& text, gateway::client_limits& limits);

// The value as CONFIG GET shows it: all three classes, sizes in bytes.
std::string output_limits_to_string(const gateway::client_limits& limits);

// Applies one option by name as the command line would; false with `error` set
// when the name is unknown or the value invalid.
bool apply_option(options& out, const std::string& name, const std::string& value,
                  std::string& error);

} // namespace stairkv::node
