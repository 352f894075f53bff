#pragma once

// The public embedding API. A CAF application spawns the whole store inside its own
// actor_system with one call and talks to it through `store_actor`, with request()
// from its own actors or a scoped_actor. The networked node is only gateways in
// front of this same store, so both behave alike.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/optional.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <functional>
#include <utility>

#include "modules/engine/routing.hpp"
#include "modules/engine_manager/engine_manager.hpp"
#include "modules/expiry/active_expiry.hpp"
#include "modules/memory/budget.hpp"
#include "modules/metrics/latency_monitor.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/function_catalog.hpp"
#include "modules/persistence/saver.hpp"
#include "modules/values/encoding_settings.hpp"
#include "modules/shard/shard_actor.hpp"
#include "modules/store/subscriptions.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"
#include "modules/tracking/settings.hpp"

namespace stairkv {

using exists_atom = caf::atom_constant<caf::atom("exists")>;
using incr_atom = caf::atom_constant<caf::atom("incr")>;
using size_atom = caf::atom_constant<caf::atom("size")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using transaction_atom = caf::atom_constant<caf::atom("txn")>;
using mget_atom = caf::atom_constant<caf::atom("mget")>;
using mset_atom = caf::atom_constant<caf::atom("mset")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using ttl_atom = caf::atom_constant<caf::atom("ttl")>;

// TTL's answer for a key that does not exist, and for one without a deadline
// (as Redis's PTTL).
inline constexpr std::int64_t ttl_missing_key = -2;
inline constexpr std::int64_t ttl_no_deadline = -1;

// The store's typed interface, with the subscriptions of subscriptions.hpp.
// Errors (a value that is not an integer, a bad command) come back as
// caf::error with the Redis message as its context. The typed forms run the
// very command named beside them, through the same path as `command`.
using store_actor = caf::typed_actor<
  // GET key -> the value, or none when the key is missing or expired.
  caf::replies_to<caf::get_atom, std::string>::with<caf::optional<std::string>>,
  // SET key value -> true.
  caf::replies_to<caf::put_atom, std::string, std::string>::with<bool>,
  // SET key value PX ttl -> true.
  caf::replies_to<caf::put_atom, std::string, std::string,
                  caf::timespan>::with<bool>,
  // DEL key... -> number of keys removed.
  caf::replies_to<caf::delete_atom, std::vector<std::string>>::with<std::int64_t>,
  // EXISTS key... -> number of keys present.
  caf::replies_to<exists_atom, std::vector<std::string>>::with<std::int64_t>,
  // MGET key... -> each key's value, or none, in the keys' order.
  caf::replies_to<mget_atom, std::vector<std::string>>::with<
    std::vector<caf::optional<std::string>>>,
  // MSET key value ... -> true; all pairs are set at once (one plan), later
  // pairs win over earlier ones for a repeated key.
  caf::replies_to<mset_atom, std::vector<std::pair<std::string, std::string>>>::with<bool>,
  // PEXPIRE key ttl -> true when the key exists (and now has the deadline;
  // a ttl of zero or less deletes it, as Redis does), false when it does not.
  caf::replies_to<expire_atom, std::string, caf::timespan>::with<bool>,
  // PTTL key -> milliseconds left, or ttl_missing_key (-2) or ttl_no_deadline (-1).
  caf::replies_to<ttl_atom, std::string>::with<std::int64_t>,
  // INCRBY key delta -> the new value.
  caf::replies_to<incr_atom, std::string, std::int64_t>::with<std::int64_t>,
  // DBSIZE -> number of keys.
  caf::replies_to<size_atom>::with<std::int64_t>,
  // Any command the node understands, as its arguments -> the RESP2 reply bytes.
  // PUBLISH and PUBSUB are answered too (by the subscription broker).
  caf::replies_to<command_atom, std::vector<std::string>>::with<std::string>,
  // A transaction, as MULTI ... EXEC: the commands run as one plan, each
  // shard's share as one batch, so no other request of this store sees their
  // keys between the first and the last -> each command's RESP2 reply, in
  // order (errors in place, the rest still runs). A command that is unknown,
  // has the wrong number of arguments or needs a network connection (RENAME,
  // MSETNX, CONFIG...) runs nothing: the answer is a caf::error with Redis's
  // EXECABORT message and the first such command's error.
  caf::replies_to<transaction_atom, std::vector<std::vector<std::string>>>::with<
    std::vector<std::string>>,
  // The same two in database `db` (the number SELECT takes; the forms above
  // work on database 0): a command's RESP2 reply, or a transaction's replies.
  // A database past the node's answers Redis's -ERR DB index is out of range.
  caf::replies_to<command_atom, std::int32_t, std::vector<std::string>>::with<std::string>,
  caf::replies_to<transaction_atom, std::int32_t,
                  std::vector<std::vector<std::string>>>::with<std::vector<std::string>>>::
  extend_with<subscription_actor>;

struct store_config {
  // Stairs of the first engine; the store grows and shrinks from there.
  unsigned stairs = 1;
  shard::placement placement = shard::placement::scheduler;
  engine_manager::resize_policy resize;
  // How often shard load is sampled for resizing; 0 keeps the engine fixed.
  std::chrono::milliseconds resize_check_interval{100};
  // Receives one line at the start and end of every resize.
  std::function<void(const std::string&)> log;
  // Keyspace notifications, in Redis's notify-keyspace-events letters; expired
  // events are on by default. spawn_store throws std::invalid_argument for a
  // letter Redis would reject.
  std::string notify_keyspace_events = "Ex";
  // The memory bound in bytes (0: none), what happens at it, and how many keys
  // an eviction compares; all changeable later through store_handle::memory.
  std::int64_t maxmemory = 0;
  memory::policy maxmemory_policy = memory::policy::noeviction;
  int maxmemory_samples = 5;
  // When hashes and sets leave their compact encodings; changeable later
  // through store_handle::encodings.
  std::int64_t hash_max_listpack_entries = 128;
  std::int64_t hash_max_listpack_value = 64;
  std::int64_t set_max_intset_entries = 512;
  std::int64_t set_max_listpack_entries = 128;
  std::int64_t set_max_listpack_value = 64;
  std::int64_t zset_max_listpack_entries = 128; // a small sorted set's compact encoding
  std::int64_t zset_max_listpack_value = 64;
  std::int64_t list_max_listpack_size = -2; // a list's chunks: entries, or -1..-5 for 4-64 KB
  // The append-only file: with `appendonly`, spawn_store loads dir/appendfilename
  // (if it exists) before it returns, and every change is appended from then on.
  // It throws std::runtime_error when the file cannot be opened or is damaged
  // before its end (a torn last record is cut off and reported through `log`).
  bool appendonly = false;
  std::string dir = ".";
  std::string appendfilename = "appendonly.aof";
  // How many databases SELECT numbers (1 to 256).
  unsigned databases = 16;
  // Keys remembered for client-side caching (CLIENT TRACKING) at most, over
  // all shards (0: no bound); changeable through store_handle::tracking.
  std::int64_t tracking_table_max_keys = 1000000;
  persistence::fsync_policy appendfsync = persistence::fsync_policy::everysec;
  int auto_aof_rewrite_percentage = 100;
  std::int64_t auto_aof_rewrite_min_size = 64 * 1024 * 1024;
  // Snapshots: dir/dbfilename, written by SAVE, BGSAVE and these rules. Without
  // the append-only file, spawn_store loads the snapshot if there is one.
  std::string dbfilename = "dump.stkv";
  persistence::save_rules save;
  // LATENCY's event history: shards record their expiry and eviction turns and
  // resize steps, the writers their writes and fsyncs, when they pass its
  // threshold. Null: nothing is recorded.
  metrics::latency_monitor_ptr latency;
};

// What spawn_store hands back: the typed front door, the engine manager (routers
// such as network gateways subscribe to it), and the first routing snapshot.
struct store_handle {
  store_actor actor;
  engine_manager::manager_actor manager;
  engine::routing_ptr routing;
  caf::actor subscriptions; // the subscription broker
  // notify-keyspace-events as it is now; storing new flags changes it for every
  // shard from its next batch on (CONFIG SET).
  shard::notify_settings_ptr notify;
  // Channel and pattern counts of the subscription broker, for INFO.
  std::shared_ptr<const subscription_broker::broker_figures> subscription_figures;
  // The memory bound: its settings (CONFIG SET), used memory and evictions (INFO).
  memory::budget_ptr memory;
  // Persistence figures (INFO) and the write refusal while a file cannot be
  // written (MISCONF); the AOF writer, when appendonly.
  persistence::status_ptr persistence;
  caf::actor aof_writer;
  caf::actor saver; // SAVE, BGSAVE, BGREWRITEAOF (see persistence/saver.hpp)
  // The function libraries: what the loaded file held, then kept by the
  // script runner for the files written after.
  persistence::function_catalog_ptr functions;
  // Whether shards retire keys on time (DEBUG SET-ACTIVE-EXPIRE).
  expiry::active_expiry_ptr active_expiry;
  // LATENCY's event history (store_config::latency), for CONFIG SET
  // latency-monitor-threshold and the gateways.
  metrics::latency_monitor_ptr latency;
  // When hashes leave their compact encoding, for CONFIG SET
  // hash-max-listpack-entries and -value.
  values::encoding_settings_ptr encodings;
  // The numbering of the databases (what a loaded file said, then SWAPDB's).
  engine::database_map_ptr databases;
  // Client-side caching: the bound on remembered keys and the figures INFO
  // shows (tracking_*).
  tracking::settings_ptr tracking;
};

// Spawns the store's engine manager, shards and front actor in `system`. Placement
// `io_thread` needs the middleman loaded (`cfg.load<caf::io::middleman>()`).
// It waits for the engine manager to register the front actor, so call it from
// ordinary code (main, a test), not from inside an actor's message handler.
store_handle spawn_store(caf::actor_system& system, const store_config& config);

// Stops the store: its front actor, its engine manager and every shard.
// Returns once they have all terminated (call it from ordinary code, not from
// inside an actor).
//
// A shard's next expiry wake-up is a delayed message that CAF 0.17's clock holds,
// with a strong reference to the shard, until it is due. When the whole actor
// system ends right after this, call `system.clock().cancel_all()` first (as
// the node does): otherwise the shards those messages point to outlive the
// system, and LeakSanitizer reports them. (It drops every pending delayed
// message of the system, so it is for shutting down, not for one store.)
void stop_store(const store_handle& store);

// From now on the store's front actor hands every request to `router` (the
// node's gateway) to be planned there, so that the node has one plan order
// and a request is atomic with respect to the gateway's clients too (README:
// plan order). Loading a file still plans on its own: it runs before anyone
// else talks to the store.
void order_through(const store_handle& store, caf::actor router);

// Registers the message types of store_actor; call it on the actor_system_config of
// every process that talks to a store remotely (the node does it for its side).
void add_store_message_types(caf::actor_system_config& cfg);

} // namespace stairkv
