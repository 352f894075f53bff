// stairkv-server: the networked node. Options, the actor system, the store, the
// gateway, optional publishing for remote CAF applications, and a clean shutdown
// on SIGINT or SIGTERM.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <optional>
#include <random>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "modules/acl/registry.hpp"
#include "modules/cluster/cluster_actor.hpp"
#include "modules/gateway/resp_gateway.hpp"
#include "modules/tls/tls.hpp"
#include "modules/memory/budget.hpp"
#include "modules/node/log.hpp"
#include "modules/node/options.hpp"
#include "modules/node/settings.hpp"
#include "modules/protocol/number.hpp"
#include "modules/shard/clock.hpp"
#include "modules/scripting/script_runner.hpp"
#include "modules/store/store.hpp"

namespace {

constexpr const char* version = "0.1.0";

std::string executable_path() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}


// Every client is a file descriptor: like Redis, ask for maxclients plus a margin
// for listeners and internal pipes, and say so when the system grants less.
void raise_open_file_limit(std::int64_t maxclients) {
  constexpr rlim_t reserved = 32;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return;
  auto wanted = static_cast<rlim_t>(maxclients) + reserved;
  if (limit.rlim_cur >= wanted)
    return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted)
    stairkv::node::log_warning(
      "open file limit is " + std::to_string(limit.rlim_cur)
      + ", below maxclients + " + std::to_string(reserved)
      + "; raise it (ulimit -n) to serve maxclients clients");
}

// The ACL users a node starts with: its `user` lines or its aclfile (not
// both, as in Redis). False, with the reason, when they cannot be read.
bool read_users(const stairkv::node::options& opts, stairkv::acl::registry& users,
                std::string& error) {
  if (!opts.aclfile.empty() && !opts.acl_users.empty()) {
    error = "Configuring Redis with users defined in redis.conf and at the same setting "
            "an ACL file path is invalid. This setup is very likely to lead to "
            "configuration errors and security holes, please define either an ACL file "
            "or declare users directly in your redis.conf, but not both.";
    return false;
  }
  std::vector<std::string> named;
  for (const auto& line : opts.acl_users) {
    std::vector<std::string> words;
    stairkv::acl::split_rules(line, words);
    if (words.empty())
      continue;
    if (std::find(named.begin(), named.end(), words[0]) != named.end()) {
      error = "Duplicate user '" + words[0]
              + "' found. A user can only be defined once in config files";
      return false;
    }
    named.push_back(words[0]);
    std::vector<std::string_view> raw(words.begin() + 1, words.end());
    std::vector<std::string> rules;
    std::string unmatched;
    if (!stairkv::acl::merge_selector_args(raw, rules, unmatched)) {
      error = "Error in user declaration '" + words[0] + "': Unmatched parenthesis";
      return false;
    }
    // As in Redis, a `user` line describes the user from scratch (the
    // default user too).
    rules.insert(rules.begin(), "reset");
    auto failed = users.set_user(words[0], rules);
    if (!failed.empty()) {
      error = "Error in user declaration '" + words[0] + "': " + failed;
      return false;
    }
  }
  if (opts.aclfile.empty())
    return true;
  std::ifstream in{opts.aclfile, std::ios::binary};
  if (!in) {
    error = "Error loading ACLs, opening file '" + opts.aclfile + "': "
            + std::strerror(errno);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  error = users.load(text.str(), opts.aclfile);
  return error.empty();
}

} // namespace

int main(int argc, char** argv) {
  using namespace stairkv;
  node::options opts;
  std::string error;
  if (!node::parse_options(argc, argv, opts, error)) {
    std::cerr << "stairkv-server: " << error << "\n\n" << node::usage();
    return 1;
  }
  if (opts.help) {
    std::cout << node::usage();
    return 0;
  }
  node::log_level level;
  if (node::parse_log_level(opts.loglevel, level))
    node::set_log_level(level);
  // As in Redis, a relative aclfile is a file in dir.
  if (!opts.aclfile.empty() && opts.aclfile.front() != '/')
    opts.aclfile = opts.dir + "/" + opts.aclfile;
  auto users = std::make_shared<acl::registry>(opts.limits.acl_pubsub_allchannels);
  if (!read_users(opts, *users, error)) {
    node::log_warning("Aborting stairkv startup because of ACL errors: " + error);
    return 1;
  }
  raise_open_file_limit(opts.limits.maxclients);
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  if (opts.shard_placement.empty())
    opts.shard_placement = cores <= 2 ? "io" : "scheduler";
  shard::placement placement;
  shard::parse_placement(opts.shard_placement, placement);
  // Signals are blocked before any thread starts, so every CAF thread inherits the
  // mask and only the main thread's sigwait sees SIGINT/SIGTERM.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Past a file size limit, a write to the append-only file fails (EFBIG) and
  // writes are refused with -MISCONF, instead of the signal ending the node.
  signal(SIGXFSZ, SIG_IGN);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  if (opts.caf_tls) {
    // The published store over TLS (CAF's own openssl module): the node's
    // certificate and key, and the CA remote applications' certificates must
    // chain to.
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = opts.tls_cert_file;
    cfg.openssl_key = opts.tls_key_file;
    cfg.openssl_cafile = opts.tls_ca_cert_file;
  }
  add_store_message_types(cfg);
  cluster::add_cluster_message_types(cfg);
  cfg.set("scheduler.max-threads",
          static_cast<std::int64_t>(opts.threads > 0 ? opts.threads : cores));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // After a read, CAF's default is to try up to 50 more reads on the same socket
  // before returning to epoll; for request/response traffic the second read is
  // almost always EAGAIN, a wasted syscall per request (measured: see README).
  cfg.set("middleman.max-consecutive-reads", std::int64_t{1});
  for (const auto& [key, value] : opts.caf_settings) {
    std::int64_t number = 0;
    if (protocol::parse_int64(value, number))
      cfg.set(key, number);
    else
      cfg.set(key, value);
  }
  caf::actor_system system{cfg};

  store_config sc;
  sc.latency = std::make_shared<metrics::latency_monitor>();
  sc.latency->set_threshold_ms(opts.latency_monitor_threshold);
  sc.stairs = opts.stairs;
  sc.placement = placement;
  sc.resize.grow_keys_per_shard = static_cast<std::uint64_t>(opts.grow_keys_per_shard);
  sc.resize.grow_backlog_per_shard = static_cast<std::uint64_t>(opts.grow_backlog_per_shard);
  sc.resize.min_stairs = opts.min_stairs;
  sc.resize.max_stairs = opts.max_stairs;
  sc.resize_check_interval = std::chrono::milliseconds{opts.resize ? opts.resize_check_ms : 0};
  sc.log = [](const std::string& line) { node::log_notice(line); };
  sc.notify_keyspace_events = opts.notify_keyspace_events;
  sc.maxmemory = opts.maxmemory;
  memory::parse_policy(opts.maxmemory_policy, sc.maxmemory_policy);
  sc.maxmemory_samples = static_cast<int>(opts.maxmemory_samples);
  sc.hash_max_listpack_entries = opts.hash_max_listpack_entries;
  sc.hash_max_listpack_value = opts.hash_max_listpack_value;
  sc.set_max_intset_entries = opts.set_max_intset_entries;
  sc.set_max_listpack_entries = opts.set_max_listpack_entries;
  sc.set_max_listpack_value = opts.set_max_listpack_value;
  sc.zset_max_listpack_entries = opts.zset_max_listpack_entries;
  sc.zset_max_listpack_value = opts.zset_max_listpack_value;
  sc.list_max_listpack_size = opts.list_max_listpack_size;
  sc.appendonly = opts.appendonly == "yes";
  sc.dir = opts.dir;
  sc.appendfilename = opts.appendfilename;
  sc.databases = static_cast<unsigned>(opts.databases);
  sc.tracking_table_max_keys = opts.tracking_table_max_keys;
  sc.dbfilename = opts.dbfilename;
  persistence::parse_save_rules(opts.save, sc.save);
  sc.auto_aof_rewrite_percentage = static_cast<int>(opts.auto_aof_rewrite_percentage);
  sc.auto_aof_rewrite_min_size = opts.auto_aof_rewrite_min_size;
  persistence::parse_fsync_policy(opts.appendfsync, sc.appendfsync);
  store_handle store;
  try {
    store = spawn_store(system, sc);
  } catch (const std::exception& e) {
    node::log_warning(std::string{"can't start: "} + e.what());
    system.clock().cancel_all();
    return 1;
  }
  auto facts = std::make_shared<gateway::server_facts>();
  facts->version = version;
  facts->executable = executable_path();
  facts->config_file = opts.config_file;
  facts->shard_placement = opts.shard_placement;
  facts->started_at_ms = shard::unix_now_ms();
  facts->run_id = [] {
    std::random_device entropy;
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(40, '0');
    for (auto& c : id)
      c = hex[entropy() % 16];
    return id;
  }();
  auto listening = gateway::listen(system, opts.bind, opts.port);
  if (!listening) {
    node::log_warning("cannot listen on " + opts.bind + ":"
                      + std::to_string(opts.port) + ": "
                      + system.render(listening.error()));
    stop_store(store);
    return 1;
  }
  // The TLS port, when asked for: its context first (a bad file stops the
  // node), then its listener.
  std::optional<gateway::listener> tls_listening;
  tls::context_ptr tls_context;
  if (opts.tls_port != 0) {
    tls::settings ts;
    ts.cert_file = opts.tls_cert_file;
    ts.key_file = opts.tls_key_file;
    ts.ca_cert_file = opts.tls_ca_cert_file;
    ts.auth_clients = opts.tls_auth_clients == "no"         ? tls::client_auth::no
                      : opts.tls_auth_clients == "optional" ? tls::client_auth::optional
                                                            : tls::client_auth::yes;
    ts.protocols = opts.tls_protocols;
    ts.ciphersuites = opts.tls_ciphersuites;
    ts.ciphers = opts.tls_ciphers;
    std::string tls_error;
    tls_context = tls::context::make(ts, tls_error);
    if (!tls_context) {
      node::log_warning("cannot start TLS: " + tls_error);
      stop_store(store);
      return 1;
    }
    auto bound = gateway::listen(system, opts.bind, opts.tls_port);
    if (!bound) {
      node::log_warning("cannot listen on " + opts.bind + ":" + std::to_string(opts.tls_port)
                        + " (TLS): " + system.render(bound.error()));
      stop_store(store);
      return 1;
    }
    tls_listening = std::move(*bound);
  }
  auto port = listening->port;
  facts->tcp_port = port;
  facts->bind = opts.bind;
  facts->cluster_enabled = opts.cluster_enabled;
  opts.port = port;
  // Cluster mode: the cluster actor, published on the cluster port for the
  // other nodes, before any client can ask where a slot is.
  caf::actor cluster_node;
  if (opts.cluster_enabled) {
    cluster::cluster_config cc;
    cc.config_file = opts.cluster_config_file.front() == '/'
                       ? opts.cluster_config_file
                       : opts.dir + "/" + opts.cluster_config_file;
    bool wildcard = opts.bind == "0.0.0.0" || opts.bind == "*" || opts.bind == "::";
    cc.ip = !opts.cluster_announce_ip.empty() ? opts.cluster_announce_ip
            : wildcard                        ? std::string{}
                                              : opts.bind;
    cc.bind = wildcard ? std::string{"0.0.0.0"} : opts.bind;
    cc.port = port;
    auto cport = opts.cluster_port != 0 ? opts.cluster_port : port + 10000;
    if (cport > 65535) {
      node::log_warning("cannot derive the cluster port from port " + std::to_string(port)
                        + ": set cluster-port");
      stop_store(store);
      return 1;
    }
    cc.cport = static_cast<std::uint16_t>(cport);
    cc.node_timeout_ms = opts.cluster_node_timeout;
    cc.require_full_coverage = opts.cluster_require_full_coverage;
    cc.allow_reads_when_down = opts.cluster_allow_reads_when_down;
    cc.store = store.actor;
    cc.log = [](const std::string& line) { node::log_notice(line); };
    std::string cluster_error;
    cluster_node = cluster::spawn_cluster(system, std::move(cc), cluster_error);
    if (!cluster_node) {
      node::log_warning(cluster_error);
      stop_store(store);
      return 1;
    }
    node::log_notice("Cluster bus listening on " + opts.bind + ":" + std::to_string(cport));
  }
  gateway::gateway_config gw;
  gw.routing = store.routing;
  gw.manager = store.manager;
  gw.subscriptions = store.subscriptions;
  gw.cluster = cluster_node;
  gw.notify = store.notify;
  gw.subscription_figures = store.subscription_figures;
  gw.facts = facts;
  gw.settings = node::make_settings(opts, store, cluster_node);
  gw.memory = store.memory;
  gw.persistence = store.persistence;
  gw.saver = store.saver;
  gw.aof_writer = store.aof_writer;
  gw.databases = store.databases;
  gw.tracking = store.tracking;
  gw.users = std::move(users);
  gw.users_configured = !opts.acl_users.empty() || !opts.aclfile.empty();
  gw.aclfile = opts.aclfile;
  gw.script_figures = std::make_shared<scripting::script_figures>();
  auto scripts = scripting::spawn_script_runner(
    system, gw.script_figures, [](int level, const std::string& message) {
      if (level >= 3)
        node::log_warning(message);
      else if (level >= 2)
        node::log_notice(message);
    },
    scripting::function_persistence{store.functions, store.aof_writer}, opts.cluster_enabled);
  gw.scripts = scripts.address();
  gw.active_expiry = store.active_expiry;
  gw.latency = store.latency;
  gw.debug = opts.enable_debug_command == "yes"     ? gateway::debug_access::yes
             : opts.enable_debug_command == "local" ? gateway::debug_access::local
                                                    : gateway::debug_access::no;
  gw.log = [](const std::string& line) { node::log_notice(line); };
  // SHUTDOWN from a client: the same path as SIGTERM, with its save choice.
  // (-1: by the save rules, 0: NOSAVE, 1: SAVE.)
  auto shutdown_save = std::make_shared<std::atomic<int>>(-1);
  gw.shutdown = [shutdown_save](std::optional<bool> save) {
    shutdown_save->store(save ? (*save ? 1 : 0) : -1);
    node::log_notice("User requested shutdown...");
    kill(getpid(), SIGTERM);
  };
  auto script_figures = gw.script_figures;
  gw.tls = tls_context;
  auto tls_port = tls_listening ? tls_listening->port : std::uint16_t{0};
  auto gateway = gateway::spawn_gateway(system, std::move(gw), std::move(*listening),
                                        std::move(tls_listening));
  // Embedding and remote requests are planned by the gateway too: one plan
  // order for the whole node.
  order_through(store, gateway);

  node::log_notice(std::string{"stairkv "} + version + " starting, pid "
                   + std::to_string(getpid()));
  auto threads = opts.threads > 0 ? opts.threads : cores;
  node::log_notice("engine: " + std::to_string(opts.stairs) + " stairs ("
                   + std::to_string(store.routing->entry->shards.size())
                   + " shards), placement " + opts.shard_placement + ", "
                   + std::to_string(threads) + " scheduler threads, resizing "
                   + (opts.resize ? "on" : "off"));
  caf::optional<std::uint16_t> published;
  if (opts.caf_port != 0) {
    auto port = opts.caf_tls
                  ? caf::openssl::publish(store.actor, opts.caf_port, opts.bind.c_str(), true)
                  : system.middleman().publish(store.actor, opts.caf_port,
                                               opts.bind.c_str(), true);
    if (!port) {
      node::log_warning("cannot publish the store on port "
                        + std::to_string(opts.caf_port) + ": "
                        + system.render(port.error()));
    } else {
      published = *port;
      node::log_notice(std::string{"Store actor published for CAF applications on "}
                       + (opts.caf_tls ? "(TLS) " : "") + opts.bind + ":"
                       + std::to_string(*port));
    }
  }
  if (tls_port != 0)
    node::log_notice("Ready to accept TLS connections on " + opts.bind + ":"
                     + std::to_string(tls_port));
  node::log_notice("Ready to accept connections on " + opts.bind + ":"
                   + std::to_string(port));

  int received = 0;
  sigwait(&stop_signals, &received);
  node::log_notice(std::string{"received "}
                   + (received == SIGINT ? "SIGINT" : "SIGTERM")
                   + ", shutting down");
  if (published)
    system.middleman().unpublish(store.actor, *published);
  {
    caf::scoped_actor self{system};
    // First the script runner, while the gateway still answers its calls: a
    // script still running (SHUTDOWN NOSAVE during a busy one) stops at its
    // next instructions, and its answer reaches a gateway that is still there.
    script_figures->kill_requested.store(true, std::memory_order_relaxed);
    caf::anon_send_exit(scripts, caf::exit_reason::user_shutdown);
    self->wait_for(scripts);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
    self->wait_for(gateway);
    if (cluster_node) {
      caf::anon_send_exit(cluster_node, caf::exit_reason::user_shutdown);
      self->wait_for(cluster_node);
    }
    // With save rules, a last snapshot on the way out, as Redis saves on
    // SHUTDOWN; the clients are gone, so it holds everything acknowledged.
    auto save = shutdown_save->load();
    bool by_rules = store.persistence->snapshots_required.load(std::memory_order_relaxed);
    if (store.saver && (save == 1 || (save == -1 && by_rules))) {
      node::log_notice("saving the final snapshot before exiting");
      self->request(store.saver, caf::infinite, persistence::save_atom::value)
        .receive([](std::string&) {}, [](caf::error&) {});
    }
  }
  stop_store(store);
  system.clock().cancel_all(); // the system ends here (see stop_store)
  node::log_notice("stairkv is now ready to exit, bye bye...");
  return 0;
}
