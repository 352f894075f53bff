#include "modules/node/settings.hpp"

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <caf/send.hpp>

#include "modules/cluster/messages.hpp"
#include "modules/node/config_rewrite.hpp"
#include "modules/node/log.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/shard/key_events.hpp"

namespace stairkv::node {

namespace {

// Why CONFIG SET refuses a value, in Redis's words where Redis has them.
std::string refusal(const std::string& name) {
  if (name == "notify-keyspace-events")
    return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
  if (name == "maxclients" || name == "timeout" || name == "slowlog-log-slower-than"
      || name == "slowlog-max-len" || name == "latency-monitor-threshold"
      || name == "busy-reply-threshold" || name == "lua-time-limit")
    return "argument couldn't be parsed into an integer";
  if (name == "client-output-buffer-limit")
    return "Wrong number of arguments in buffer limit configuration.";
  if (name == "save")
    return "Invalid save parameters";
  if (name == "maxmemory")
    return "argument must be a memory value";
  if (name == "maxmemory-policy")
    return "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
           "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
           "noeviction";
  if (name == "maxmemory-samples")
    return "argument must be between 1 and 64 inclusive";
  if (name.rfind("hash-max-", 0) == 0 || name.rfind("set-max-", 0) == 0
      || name.rfind("list-", 0) == 0)
    return "argument couldn't be parsed into an integer";
  if (name == "latency-tracking")
    return "argument must be 'yes' or 'no'";
  if (name == "latency-tracking-info-percentiles")
    return "latency-tracking-info-percentiles must be a list of values between 0 and 100";
  return "argument is invalid";
}

} // namespace

gateway::node_settings_ptr make_settings(const options& initial,
                                         const store_handle& store,
                                         caf::actor cluster) {
  auto result = std::make_shared<gateway::node_settings>();
  auto opts = std::make_shared<options>(initial);
  result->limits = initial.limits;
  // The functions live inside `result`; a raw pointer to its limits does not
  // keep it alive in a cycle.
  auto* limits = &result->limits;
  auto notify = store.notify;
  auto memory = store.memory;
  for (const auto& entry : opts->as_config()) {
    gateway::setting s;
    s.name = entry.first;
    auto name = entry.first;
    s.get = [opts, name] {
      for (const auto& [n, v] : opts->as_config())
        if (n == name)
          return v;
      return std::string{};
    };
    std::function<void(const options&)> effect;
    if (name == "notify-keyspace-events") {
      effect = [notify](const options& o) {
        std::uint32_t flags = 0;
        if (notify && shard::parse_notify_flags(o.notify_keyspace_events, flags))
          notify->flags.store(flags, std::memory_order_relaxed);
      };
    } else if (name == "maxclients" || name == "client-output-buffer-limit"
               || name == "timeout" || name == "requirepass"
               || name == "protected-mode" || name == "acllog-max-len"
               || name == "acl-pubsub-default"
               || name == "slowlog-log-slower-than" || name == "slowlog-max-len"
               || name == "busy-reply-threshold" || name == "lua-time-limit"
               || name == "latency-tracking"
               || name == "latency-tracking-info-percentiles") {
      effect = [limits](const options& o) { *limits = o.limits; };
    } else if (name == "maxmemory" || name == "maxmemory-policy"
               || name == "maxmemory-samples") {
      effect = [memory](const options& o) {
        memory::policy policy;
        if (!memory || !memory::parse_policy(o.maxmemory_policy, policy))
          return;
        memory->set_policy(policy);
        memory->set_samples(static_cast<int>(o.maxmemory_samples));
        memory->set_limit(o.maxmemory);
      };
    } else if (name == "cluster-node-timeout" && cluster) {
      // The cluster actor's failure detection and ping rate follow it.
      effect = [cluster](const options& o) {
        caf::anon_send(cluster, cluster::timeout_atom::value, o.cluster_node_timeout);
      };
    } else if (name == "list-compress-depth") {
      effect = [](const options&) {}; // accepted, kept for CONFIG GET; nothing compresses
    } else if (name.rfind("hash-max-", 0) == 0 || name.rfind("set-max-", 0) == 0
               || name.rfind("list-max-", 0) == 0 || name.rfind("zset-max-", 0) == 0) {
      auto encodings = store.encodings;
      effect = [encodings](const options& o) {
        if (!encodings)
          return;
        encodings->hash_max_entries.store(o.hash_max_listpack_entries);
        encodings->hash_max_value.store(o.hash_max_listpack_value);
        encodings->set_max_intset_entries.store(o.set_max_intset_entries);
        encodings->set_max_entries.store(o.set_max_listpack_entries);
        encodings->set_max_value.store(o.set_max_listpack_value);
        encodings->list_max_listpack_size.store(o.list_max_listpack_size);
        encodings->zset_max_entries.store(o.zset_max_listpack_entries);
        encodings->zset_max_value.store(o.zset_max_listpack_value);
      };
    } else if (name == "tracking-table-max-keys") {
      // Shards trim to it at their next batch; the gateway sends every shard
      // one at once (config_command.cpp).
      auto tracking = store.tracking;
      effect = [tracking](const options& o) {
        if (tracking)
          tracking->max_keys.store(o.tracking_table_max_keys, std::memory_order_relaxed);
      };
    } else if (name == "save") {
      auto saver = store.saver;
      effect = [saver](const options& o) {
        if (saver)
          caf::anon_send(saver, persistence::save_rules_atom::value, o.save);
      };
    } else if (name == "latency-monitor-threshold") {
      auto latency = store.latency;
      effect = [latency](const options& o) {
        if (latency)
          latency->set_threshold_ms(o.latency_monitor_threshold);
      };
    } else if (name == "loglevel") {
      effect = [](const options& o) {
        log_level level;
        if (parse_log_level(o.loglevel, level))
          set_log_level(level);
      };
    }
    if (effect) {
      s.check = [opts, name](const std::string& value) {
        auto copy = *opts;
        std::string error;
        return apply_option(copy, name, value, error) ? std::string{} : refusal(name);
      };
      s.apply = [opts, name, effect](const std::string& value) {
        std::string error;
        if (apply_option(*opts, name, value, error))
          effect(*opts);
      };
    }
    result->entries.push_back(std::move(s));
  }
  if (!initial.config_file.empty()) {
    auto path = initial.config_file;
    result->rewrite = [opts, path]() -> std::string {
      // Only what a config file can say: every setting the option reader takes.
      auto real = [](const setting_values& all) {
        setting_values out;
        for (const auto& [name, value] : all) {
          options probe;
          std::string ignored;
          if (apply_option(probe, name, value, ignored))
            out.emplace_back(name, value);
        }
        return out;
      };
      std::ifstream in{path, std::ios::binary};
      if (!in)
        return "ERR Rewriting config file: cannot read " + path;
      std::string original{std::istreambuf_iterator<char>(in),
                           std::istreambuf_iterator<char>()};
      auto text = rewrite_config(original, real(opts->as_config()),
                                 real(options{}.as_config()));
      auto error = replace_file(path, text);
      if (!error.empty())
        return "ERR Rewriting config file: " + error;
      log_notice("CONFIG REWRITE executed with success.");
      return {};
    };
  }
  return result;
}

} // namespace stairkv::node
