#include "modules/gateway/info_report.hpp"

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/settings.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iterator>

namespace stairkv::gateway {

namespace {


void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out += ':';
  out.append(value);
  out.append("\r\n");
}

void field(std::string& out, std::string_view name, std::int64_t value) {
  field(out, name, std::to_string(value));
}

std::string human_bytes(std::int64_t n) {
  char buf[32];
  double d = static_cast<double>(n);
  if (n < 1024)
    std::snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(n));
  else if (n < 1024 * 1024)
    std::snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  else if (n < 1024LL * 1024 * 1024)
    std::snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  else
    std::snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  return buf;
}

void server_section(std::string& out, const info_inputs& in) {
  const auto& f = *in.facts;
  utsname uts{};
  uname(&uts);
  auto uptime = (in.now_ms - f.started_at_ms) / 1000;
  out.append("# Server\r\n");
  // Clients decide what they may send by this version: the protocol and command
  // behaviour follow Redis 7.0.
  field(out, "redis_version", "7.0.0");
  field(out, "stairkv_version", f.version);
  field(out, "redis_mode", "standalone");
  field(out, "os", std::string{uts.sysname} + " " + uts.release + " " + uts.machine);
  field(out, "arch_bits", static_cast<std::int64_t>(sizeof(void*) * 8));
  field(out, "multiplexing_api", "epoll");
  field(out, "process_id", static_cast<std::int64_t>(getpid()));
  field(out, "tcp_port", static_cast<std::int64_t>(f.tcp_port));
  field(out, "run_id", f.run_id);
  field(out, "server_time_usec", in.now_ms * 1000);
  field(out, "uptime_in_seconds", uptime);
  field(out, "uptime_in_days", uptime / 86400);
  field(out, "executable", f.executable);
  field(out, "config_file", f.config_file);
}

void clients_section(std::string& out, const info_inputs& in) {
  out.append("# Clients\r\n");
  field(out, "connected_clients", in.clients.connected);
  field(out, "client_recent_max_input_buffer", in.clients.max_input_buffer);
  field(out, "client_recent_max_output_buffer", in.clients.max_output_buffer);
  field(out, "maxclients", in.clients.maxclients);
  field(out, "blocked_clients", in.clients.blocked);
  field(out, "tracking_clients", in.clients.tracking_clients);
}

void memory_section(std::string& out, const info_inputs& in) {
  auto figures = memory::read_allocator();
  auto used = figures.allocated;
  auto peak = used;
  std::int64_t dataset = 0;
  std::int64_t limit = 0;
  auto policy = memory::policy::noeviction;
  if (in.memory != nullptr) {
    used = in.memory->refresh(figures);
    peak = in.memory->peak();
    dataset = in.memory->dataset();
    limit = in.memory->limit();
    policy = in.memory->current_policy();
  }
  auto rss = figures.resident;
  out.append("# Memory\r\n");
  field(out, "used_memory", used);
  field(out, "used_memory_human", human_bytes(used));
  field(out, "used_memory_rss", rss);
  field(out, "used_memory_rss_human", human_bytes(rss));
  field(out, "used_memory_peak", peak);
  field(out, "used_memory_peak_human", human_bytes(peak));
  // The tables' own count: every key's block and the shards' arrays.
  field(out, "used_memory_dataset", dataset);
  // The script cache (scripting/): Lua's heap and the scripts' bodies.
  // Scripts and functions share one interpreter here (Redis 7 has one for
  // each): its heap is reported as the eval one, and the functions' as 0.
  std::int64_t lua = 0, scripts = 0, cached = 0, functions = 0, libraries = 0, code = 0;
  if (in.scripts != nullptr) {
    lua = in.scripts->lua_memory.load(std::memory_order_relaxed);
    scripts = in.scripts->scripts_memory.load(std::memory_order_relaxed);
    cached = in.scripts->cached.load(std::memory_order_relaxed);
    functions = in.scripts->functions.load(std::memory_order_relaxed);
    libraries = in.scripts->libraries.load(std::memory_order_relaxed);
    code = in.scripts->functions_memory.load(std::memory_order_relaxed);
  }
  field(out, "used_memory_lua", lua);
  field(out, "used_memory_vm_eval", lua);
  field(out, "used_memory_lua_human", human_bytes(lua));
  field(out, "used_memory_scripts_eval", scripts);
  field(out, "number_of_cached_scripts", cached);
  field(out, "number_of_functions", functions);
  field(out, "number_of_libraries", libraries);
  field(out, "used_memory_vm_functions", std::int64_t{0});
  field(out, "used_memory_vm_total", lua);
  field(out, "used_memory_vm_total_human", human_bytes(lua));
  field(out, "used_memory_functions", code);
  field(out, "used_memory_scripts", scripts + code);
  field(out, "used_memory_scripts_human", human_bytes(scripts + code));
  auto system_memory = static_cast<std::int64_t>(sysconf(_SC_PHYS_PAGES))
                       * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
  field(out, "total_system_memory", system_memory);
  field(out, "total_system_memory_human", human_bytes(system_memory));
  field(out, "maxmemory", limit);
  field(out, "maxmemory_human", human_bytes(limit));
  field(out, "maxmemory_policy", memory::to_string(policy));
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.2f",
                used > 0 ? static_cast<double>(rss) / static_cast<double>(used) : 0.0);
  field(out, "mem_fragmentation_ratio", ratio);
  field(out, "mem_allocator", figures.allocator);
}

void persistence_section(std::string& out, const info_inputs& in) {
  // Without the store's figures (the report on its own): a node that never saved.
  static const persistence::status none;
  const auto& p = in.persistence != nullptr ? *in.persistence : none;
  auto flag = [](const std::atomic<bool>& b) {
    return b.load(std::memory_order_relaxed) ? 1 : 0;
  };
  auto ok_or_err = [](const std::atomic<bool>& b) {
    return b.load(std::memory_order_relaxed) ? "ok" : "err";
  };
  auto number = [](const std::atomic<std::int64_t>& n) -> std::int64_t {
    return n.load(std::memory_order_relaxed);
  };
  out.append("# Persistence\r\n");
  field(out, "loading", flag(p.loading));
  field(out, "async_loading", 0);
  field(out, "rdb_changes_since_last_save", number(p.changes_since_save));
  field(out, "rdb_bgsave_in_progress", flag(p.bgsave_in_progress));
  field(out, "rdb_last_save_time", in.persistence != nullptr
                                     ? number(p.last_save_time)
                                     : in.facts->started_at_ms / 1000);
  field(out, "rdb_last_bgsave_status", ok_or_err(p.last_bgsave_ok));
  field(out, "rdb_last_bgsave_time_sec", number(p.last_bgsave_seconds));
  // Seconds the running snapshot or rewrite has taken so far (-1: none runs).
  auto running_for = [&](const std::atomic<bool>& running) -> std::int64_t {
    auto since = p.job_started_ms.load(std::memory_order_relaxed);
    if (!running.load(std::memory_order_relaxed) || since == 0)
      return -1;
    return std::max<std::int64_t>(0, (in.now_ms - since) / 1000);
  };
  field(out, "rdb_current_bgsave_time_sec", running_for(p.bgsave_in_progress));
  field(out, "aof_enabled", flag(p.aof_enabled));
  field(out, "aof_rewrite_in_progress", flag(p.aof_rewrite_in_progress));
  field(out, "aof_rewrite_scheduled", 0);
  field(out, "aof_last_rewrite_time_sec", number(p.last_rewrite_seconds));
  field(out, "aof_current_rewrite_time_sec", running_for(p.aof_rewrite_in_progress));
  field(out, "aof_last_bgrewrite_status", ok_or_err(p.last_rewrite_ok));
  field(out, "aof_last_write_status", ok_or_err(p.aof_write_ok));
  if (p.aof_enabled.load(std::memory_order_relaxed)) {
    field(out, "aof_current_size", number(p.aof_current_size));
    field(out, "aof_base_size", number(p.aof_base_size));
    field(out, "aof_delayed_fsync", number(p.aof_delayed_fsync));
    // stairkv's own: how many writes and fsyncs the group commit took.
    field(out, "aof_writes", number(p.aof_writes));
    field(out, "aof_fsyncs", number(p.aof_fsyncs));
  }
}

void stats_section(std::string& out, const info_inputs& in) {
  out.append("# Stats\r\n");
  field(out, "total_connections_received", in.clients.connections_received);
  field(out, "total_commands_processed", in.clients.commands_processed);
  auto rate = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return std::string{buf};
  };
  field(out, "instantaneous_ops_per_sec",
        static_cast<std::int64_t>(in.clients.ops_per_sec + 0.5));
  field(out, "total_net_input_bytes", in.clients.net_input_bytes);
  field(out, "total_net_output_bytes", in.clients.net_output_bytes);
  field(out, "instantaneous_input_kbps", rate(in.clients.input_kbps));
  field(out, "instantaneous_output_kbps", rate(in.clients.output_kbps));
  field(out, "rejected_connections", in.clients.rejected_connections);
  field(out, "client_output_buffer_limit_disconnections",
        in.clients.output_limit_disconnections);
  field(out, "expired_keys", in.keyspace.expired);
  // Redis estimates, by sampling, how many keys with a TTL are past it but not yet
  // reclaimed; here the shards count them exactly (see table::stats).
  char stale[32];
  std::snprintf(stale, sizeof(stale), "%.2f",
                in.keyspace.keys_with_deadline > 0
                  ? 100.0 * static_cast<double>(in.keyspace.stale)
                      / static_cast<double>(in.keyspace.keys_with_deadline)
                  : 0.0);
  field(out, "expired_stale_perc", stale);
  field(out, "evicted_keys", in.memory != nullptr ? in.memory->evicted() : 0);
  field(out, "keyspace_hits", in.keyspace.hits);
  field(out, "keyspace_misses", in.keyspace.misses);
  field(out, "pubsub_channels", in.clients.pubsub_channels);
  field(out, "pubsub_patterns", in.clients.pubsub_patterns);
  field(out, "tracking_total_keys", in.clients.tracking_keys);
  field(out, "tracking_total_items", in.clients.tracking_items);
  field(out, "tracking_total_prefixes", in.clients.tracking_prefixes);
  field(out, "total_error_replies", in.clients.error_replies);
  field(out, "acl_access_denied_auth", in.clients.acl_denied_auth);
  field(out, "acl_access_denied_cmd", in.clients.acl_denied_commands);
  field(out, "acl_access_denied_key", in.clients.acl_denied_keys);
  field(out, "acl_access_denied_channel", in.clients.acl_denied_channels);
  field(out, "total_reads_processed", in.clients.reads_processed);
  field(out, "total_writes_processed", in.clients.writes_processed);
}

void cluster_section(std::string& out, const info_inputs& in) {
  out.append("# Cluster\r\n");
  field(out, "cluster_enabled", in.facts != nullptr && in.facts->cluster_enabled ? 1 : 0);
}

void keyspace_section(std::string& out, const info_inputs& in) {
  out.append("# Keyspace\r\n");
  // One line per database with keys, by the number clients SELECT.
  std::vector<std::pair<unsigned, const shard::database_keys*>> lines;
  for (const auto& d : in.keyspace.databases)
    if (d.keys > 0)
      lines.emplace_back(in.databases != nullptr ? in.databases->logical(d.db) : d.db, &d);
  std::sort(lines.begin(), lines.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [number, d] : lines) {
    out.append("db");
    out.append(std::to_string(number));
    out.append(":keys=");
    out.append(std::to_string(d->keys));
    out.append(",expires=");
    out.append(std::to_string(d->keys_with_deadline));
    out.append(",avg_ttl=");
    out.append(std::to_string(d->avg_ttl_ms(in.now_ms)));
    out.append("\r\n");
  }
}

void engine_section(std::string& out, const info_inputs& in) {
  const auto& r = *in.routing;
  const auto& status = r.status;
  out.append("# Engine\r\n");
  field(out, "engine_generation", static_cast<std::int64_t>(status.generation));
  field(out, "engine_stairs", static_cast<std::int64_t>(r.entry->stairs));
  field(out, "engine_shards", static_cast<std::int64_t>(r.entry->shards.size()));
  field(out, "engine_migrating", status.migrating ? 1 : 0);
  field(out, "engine_next_stairs",
        static_cast<std::int64_t>(r.next ? r.next->stairs : 0));
  field(out, "engine_keys_migrated", static_cast<std::int64_t>(status.keys_migrated));
  field(out, "engine_resizes_up", static_cast<std::int64_t>(status.resizes_up));
  field(out, "engine_resizes_down", static_cast<std::int64_t>(status.resizes_down));
  field(out, "engine_last_resize_ms", status.last_resize_ms);
  field(out, "engine_shard_placement", in.facts->shard_placement);
}

// There is no replication: a master without replicas, as Redis reports one.
void replication_section(std::string& out, const info_inputs&) {
  out.append("# Replication\r\n");
  field(out, "role", "master");
  field(out, "connected_slaves", 0);
  field(out, "master_failover_state", "no-failover");
  field(out, "master_replid", std::string(40, '0'));
  field(out, "master_replid2", std::string(40, '0'));
  field(out, "master_repl_offset", 0);
  field(out, "second_repl_offset", -1);
  field(out, "repl_backlog_active", 0);
  field(out, "repl_backlog_size", 0);
  field(out, "repl_backlog_first_byte_offset", 0);
  field(out, "repl_backlog_histlen", 0);
}

void cpu_section(std::string& out, const info_inputs&) {
  auto seconds = [](const timeval& t) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(t.tv_sec),
                  static_cast<long>(t.tv_usec));
    return std::string{buf};
  };
  rusage self{};
  rusage children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  out.append("# CPU\r\n");
  field(out, "used_cpu_sys", seconds(self.ru_stime));
  field(out, "used_cpu_user", seconds(self.ru_utime));
  field(out, "used_cpu_sys_children", seconds(children.ru_stime));
  field(out, "used_cpu_user_children", seconds(children.ru_utime));
  // The thread INFO is rendered on: the network thread, which also runs the
  // shards under shard-placement io.
  rusage thread{};
  if (::getrusage(RUSAGE_THREAD, &thread) == 0) {
    field(out, "used_cpu_sys_main_thread", seconds(thread.ru_stime));
    field(out, "used_cpu_user_main_thread", seconds(thread.ru_utime));
  }
}

// Per command since the start (or CONFIG RESETSTAT), in Redis 7's format:
// calls, the microseconds they ran (in the shards, timed per operation; in the
// gateway for session commands), their mean, calls refused before running and
// calls that answered with an error.
void commandstats_section(std::string& out, const info_inputs& in) {
  out.append("# Commandstats\r\n");
  const auto& table = commands::stat_slots();
  auto at = [](const std::vector<std::int64_t>& v, std::size_t i) {
    return i < v.size() ? v[i] : 0;
  };
  for (std::size_t i = 0; i < table.size(); ++i) {
    auto calls = at(in.clients.calls, i);
    auto rejected = at(in.clients.rejected_calls, i);
    auto failed = at(in.clients.failed_calls, i);
    if (calls == 0 && rejected == 0 && failed == 0)
      continue;
    auto usec = at(in.clients.nanos, i) / 1000;
    char per_call[32];
    std::snprintf(per_call, sizeof per_call, "%.2f",
                  calls == 0 ? 0.0 : static_cast<double>(usec) / static_cast<double>(calls));
    out.append("cmdstat_");
    out.append(table[i].name);
    out.append(":calls=" + std::to_string(calls) + ",usec=" + std::to_string(usec)
               + ",usec_per_call=" + per_call + ",rejected_calls=" + std::to_string(rejected)
               + ",failed_calls=" + std::to_string(failed) + "\r\n");
  }
}

// Per command, its calls' times at the latency-tracking-info-percentiles, in
// microseconds, as Redis 7 (empty with latency-tracking no).
void latencystats_section(std::string& out, const info_inputs& in) {
  out.append("# Latencystats\r\n");
  const auto& table = commands::stat_slots();
  for (std::size_t i = 0; i < table.size() && i < in.clients.latency.size(); ++i) {
    const auto& h = in.clients.latency[i];
    if (!h || h->empty())
      continue;
    out.append("latency_percentiles_usec_");
    out.append(table[i].name);
    out.append(":");
    const auto& wanted = in.clients.latency_percentiles;
    for (std::size_t j = 0; j < wanted.size(); ++j) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%sp%s=%.3f", j == 0 ? "" : ",",
                    format_percentile(wanted[j]).c_str(),
                    static_cast<double>(h->percentile(wanted[j])) / 1000.0);
      out.append(buf);
    }
    out.append("\r\n");
  }
}

// Error replies by kind since the start (or CONFIG RESETSTAT), as Redis 7.
void errorstats_section(std::string& out, const info_inputs& in) {
  out.append("# Errorstats\r\n");
  for (const auto& [kind, count] : in.clients.errors)
    out.append("errorstat_" + kind + ":count=" + std::to_string(count) + "\r\n");
}

using section_fn = void (*)(std::string&, const info_inputs&);

struct section {
  const char* name;
  section_fn render;
  bool by_default; // in INFO without arguments and INFO default
};

// Redis's order, then this system's own section.
constexpr section sections[] = {
  {"server", server_section, true},
  {"clients", clients_section, true},
  {"memory", memory_section, true},
  {"persistence", persistence_section, true},
  {"stats", stats_section, true},
  {"replication", replication_section, true},
  {"cpu", cpu_section, true},
  {"commandstats", commandstats_section, false},
  {"errorstats", errorstats_section, true},
  {"latencystats", latencystats_section, false},
  {"cluster", cluster_section, true},
  {"keyspace", keyspace_section, true},
  {"engine", engine_section, true},
};

} // namespace

void render_info(std::string& out, std::string_view selector,
                 const info_inputs& in) {
  // Each word adds sections: a name, `default` (the usual ones), `all` and
  // `everything` (every one); a section asked for twice comes once.
  auto wanted = commands::to_lower(selector);
  bool chosen[std::size(sections)] = {};
  bool any_word = false;
  std::size_t pos = 0;
  while (pos <= wanted.size()) {
    auto end = wanted.find(' ', pos);
    if (end == std::string::npos)
      end = wanted.size();
    auto word = std::string_view{wanted}.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty())
      continue;
    any_word = true;
    for (std::size_t i = 0; i < std::size(sections); ++i) {
      if (word == "all" || word == "everything"
          || (word == "default" && sections[i].by_default) || word == sections[i].name)
        chosen[i] = true;
    }
  }
  if (!any_word)
    for (std::size_t i = 0; i < std::size(sections); ++i)
      chosen[i] = sections[i].by_default;
  bool first = true;
  for (std::size_t i = 0; i < std::size(sections); ++i) {
    const auto& s = sections[i];
    if (!chosen[i])
      continue;
    if (!first)
      out.append("\r\n");
    first = false;
    s.render(out, in);
  }
}

} // namespace stairkv::gateway
