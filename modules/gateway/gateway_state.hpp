#pragma once

// The gateway broker's state and the few functions of its socket side that the
// session commands (session_commands.hpp) call back into. Internal to the gateway.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

#include "modules/cluster/view.hpp"
#include "modules/commands/plan.hpp"
#include "modules/commands/plan_dispatcher.hpp"
#include "modules/gateway/connection.hpp"
#include "modules/gateway/info_report.hpp"
#include "modules/gateway/resp_gateway.hpp"

namespace stairkv::gateway {

struct gateway_state;
using gateway_actor = caf::io::stateful_broker<gateway_state>;

// A plan handed to the dispatcher, whose replies are still to be written.
struct plan_in_flight {
  std::uint64_t id;
  commands::plan_ptr work;
};

struct gateway_state {
  gateway_config config;
  connection_map connections; // by handle id
  // The plan collecting this cycle's commands, dispatched by a message the broker
  // sends itself: it runs after every socket event of the current multiplexer round,
  // so all connections that had input in that round share one batch per shard.
  commands::plan_ptr building;
  // The slow log's request buffer of the last plan written, for the next plan.
  std::string spare_requests;
  // CLIENT PAUSE: until when commands wait (Unix ms; 0: no pause), and whether
  // all of them wait (ALL) or only those that write (WRITE).
  std::int64_t paused_until_ms = 0;
  bool pause_all = false;
  // DEBUG PAUSE-CRON 1: the once-a-second work (rates, idle timeouts) stops.
  bool cron_paused = false;
  // The counters at the last once-a-second sample (INFO's instantaneous rates).
  struct sample {
    std::int64_t at_ms = 0;
    std::int64_t commands = 0;
    std::int64_t input_bytes = 0;
    std::int64_t output_bytes = 0;
  } last_sample;
  // Dispatched plans, answered in this order.
  std::deque<plan_in_flight> in_flight;
  // Sends plans to the shards (a plan waits while plans on another entry engine
  // are out, routing_follower.hpp).
  commands::plan_dispatcher<gateway_actor> dispatcher{nullptr};
  std::uint64_t next_plan_id = 0;
  std::uint64_t building_id = 0;
  std::vector<std::uint64_t> touched; // connections with output this drain
  std::vector<std::uint64_t> monitors; // MONITOR clients, by tag
  // WATCH: the clients watching each key, by tag (transaction_commands.cpp).
  std::unordered_map<std::string, std::vector<std::uint64_t>> watched_keys;
  // Keys held by multi-step commands between their steps (how many hold
  // each), and the clients whose next command waits for one of them.
  std::unordered_map<std::string, int> held_keys;
  std::vector<std::uint64_t> key_waiters;
  // Clients gone while their EXEC waited behind a multi-step command, by tag:
  // the transaction runs to its end, then the record goes.
  std::unordered_map<std::uint64_t, connection> finishing_execs;
  // Requests of the store's front actor (the embedding and remote API) that
  // name a held key, oldest first (front_requests.cpp).
  std::deque<std::function<bool()>> front_waiting;
  // A script runs (script_commands.cpp). It holds the keys it declared
  // (script_keys, sorted, counted in held_keys), so other clients' commands
  // on other keys go on being planned meanwhile; its first call outside them
  // (an undeclared key, or the whole key space) takes the whole store
  // (script_whole_store), and from then on every other client's next command
  // waits (connection::waiting_for_script) until it has finished. Other
  // scripts, and commands that save or read every key, always wait for it.
  bool script_running = false;
  std::uint8_t script_db = 0; // the shards' database of its calls
  std::uint64_t swap_serial = 0; // SWAPDBs run so far
  bool script_whole_store = false;
  bool script_in_exec = false; // run by an EXEC: the whole store from its start
  std::vector<std::string> script_keys;
  // A call past the declared keys that names keys a multi-step command or an
  // EXEC holds: made once they are let go (release_keys).
  std::function<void()> script_deferred_call;
  std::deque<std::uint64_t> script_waiters; // their tags, in the order they came
  bool script_busy = false;     // it has run past the busy threshold
  bool script_wrote = false;    // it has called a write command (UNKILLABLE)
  std::uint64_t script_serial = 0;
  bool script_is_function = false; // FCALL (FUNCTION KILL stops it), not EVAL
  bool scripts_may_call_debug = false; // DEBUG SET-DISABLE-DENY-SCRIPTS 1
  // With the append-only file: the group the running script's writes are
  // shares of (0: none yet), and the weight its plans have taken so far; the
  // script's end writes the rest, so the file holds all its writes or none.
  std::uint64_t script_group = 0;
  std::uint64_t script_group_weight = 0;
  std::vector<std::string> script_call; // its command, for FUNCTION STATS
  std::chrono::steady_clock::time_point script_started{};
  std::uint64_t last_serial = 0;      // client ids handed out so far
  // Each connected client's tag by its CLIENT ID (REDIRECT names the id).
  std::unordered_map<std::uint64_t, std::uint64_t> tags_by_serial;
  // The tracking notes of the running script's calls: its caller's.
  std::uint64_t script_tracking_client = 0;
  std::uint8_t script_tracking_what = 0;
  std::uint64_t block_serial = 0;     // blocking pops started so far
  // What to do once a plan's shards have answered, by plan id (the steps of
  // multi-step commands).
  std::unordered_map<std::uint64_t, std::vector<std::function<void()>>> after_shards;
  client_figures figures;
  // Cluster mode: the slot map the cluster actor sent last (null until the
  // first arrives, or outside cluster mode).
  cluster::view_ptr cluster_view;
  // ACL users (acl_commands.cpp); the default user's password follows
  // requirepass, as last given to it in applied_requirepass.
  acl::registry users;
  acl::refusal_log acl_log;
  // The TLS port's listener, when there is one (its clients get a session).
  std::optional<caf::io::accept_handle> tls_accept;
  std::string tls_wire; // encrypted bytes of the write being made
  std::string applied_requirepass;
  // The running script's caller and its user: its calls are checked as its.
  std::uint64_t script_caller = 0;
  acl::user_ptr script_user;
  struct {
    std::int64_t auth = 0, commands = 0, keys = 0, channels = 0;
  } acl_denied; // INFO's acl_access_denied_*

  static inline const char* name = "resp_gateway";
};

// The connection a plan or the broker means by `tag`, or end() if it is gone
// (even if another client now has the same socket number).
connection_map::iterator find_client(gateway_state& st, std::uint64_t tag);

// The plan collecting this I/O cycle's commands (started on first use).
commands::plan& current_plan(gateway_actor* self);

// A plan by id: the one being built, or a dispatched one; nullptr once it was
// answered.
commands::plan* find_plan(gateway_actor* self, std::uint64_t id);

// After a plan's last shard answered, or its last external reply arrived:
// writes what is complete at the head of the queue.
void plan_progressed(gateway_actor* self, std::uint64_t id);

// Parses what a client sent while one of its multi-step commands ran.
void resume_input(gateway_actor* self, std::uint64_t tag);

// CLIENT PAUSE for `ms` milliseconds (`all`: every command, else only writes;
// a pause already running keeps the later end and the stricter kind), and
// CLIENT UNPAUSE. Held clients go on, in order, as soon as the pause ends.
void pause_clients(gateway_actor* self, std::int64_t ms, bool all);
void unpause_clients(gateway_actor* self);

// Closes a client now (CLIENT KILL): its socket, its subscriptions, its record;
// replies still on their way to it are dropped when they arrive.
void close_client(gateway_actor* self, connection_map::iterator it);

// Replaces the secrets among a command's arguments with "(redacted)", as Redis
// shows them in SLOWLOG and MONITOR: AUTH's arguments, HELLO's AUTH pair, the
// passwords CONFIG SET names.
void redact_secrets(std::string_view command, std::vector<std::string>& args);

// Ends a connection's subscriptions (the broker forgets them; no unsubscribe
// messages) and its MONITOR mode (forget, RESET).
void leave_subscriptions_and_monitor(gateway_actor* self, connection& conn);

// Runs one command of `conn` into `work`: the refusals, its planner or its
// session handler (timed here), MONITOR, WATCH, and its call statistics
// (`slot`). `query_pending`: the client's query bytes from this command on
// (CLIENT LIST's qbuf). Returns its first record and whether it was refused
// before it ran.
struct ran_command {
  std::size_t first_record;
  bool rejected;
};
ran_command run_command(gateway_actor* self, connection& conn, const args& argv,
                        const commands::command_spec* spec, std::size_t slot,
                        commands::plan& work, std::size_t query_pending);

// Cluster mode (cluster_commands.cpp): whether a command runs here. `refused`
// comes with its -MOVED, -ASK, -CROSSSLOT, -TRYAGAIN or -CLUSTERDOWN reply in
// `refusal`; `wait`: its slot is open, and the command is parsed again once
// the node knows which of its keys it holds (the connection waits meanwhile).
enum class cluster_route { serve, refused, wait };
cluster_route route_in_cluster(gateway_actor* self, connection& conn, const args& argv,
                               const commands::command_spec& spec, std::string& refusal);
// The same for a command of the store's front actor (no connection, no
// ASKING but RESTORE-ASKING's): empty when it runs here, else its redirect
// (-TRYAGAIN while its slot is open, the keys' presence not being known).
std::string front_cluster_refusal(gateway_actor* self, const commands::command_spec& spec,
                                  const args& argv);
// PUBLISH's message, relayed to the cluster's other nodes (nothing outside
// cluster mode).
void publish_to_cluster(gateway_actor* self, const std::string& channel,
                        const std::string& message);

// Inside MULTI: queues the command (+QUEUED), or answers a queuing error that
// aborts the transaction. False for the commands that run at once inside
// MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
bool queued_in_transaction(gateway_actor* self, connection& conn, const args& argv,
                           const commands::command_spec* spec, commands::plan& work);

// A write command's keys are touched: the clients watching them will see
// their EXEC fail (FLUSHALL and FLUSHDB touch every watched key that existed).
void touch_watched_keys(gateway_actor* self, const commands::command_spec& spec,
                        const args& argv);
// The same for one key (a write whose keys depend on what it finds: SMOVE).
void touch_watched_key(gateway_actor* self, std::string_view key);

// Holds keys for a multi-step command or a script, and lets them go (the
// clients waiting for them go on, oldest connection first). A command that
// names a held key, or that reads or changes the whole key space, is planned
// only once nothing holds its keys.
void hold_keys(gateway_actor* self, const std::vector<std::string>& keys);
void release_keys(gateway_actor* self, const std::vector<std::string>& keys);

// The commands that read or change every key: FLUSHALL, FLUSHDB, KEYS, SCAN,
// DBSIZE, RANDOMKEY.
inline bool spans_key_space(std::string_view name) {
  return name == "flushall" || name == "flushdb" || name == "keys" || name == "scan"
         || name == "dbsize" || name == "randomkey";
}

// EVAL, EVALSHA, FCALL and their read-only forms: they may touch any key.
inline bool runs_script(std::string_view name) {
  return name == "eval" || name == "evalsha" || name == "eval_ro" || name == "evalsha_ro"
         || name == "fcall" || name == "fcall_ro";
}

// Whether a command (by its words) names a held key, or reads or changes the
// whole key space while any key is held.
template <class Words>
bool touches_held_keys(gateway_actor* self, const commands::command_spec& spec,
                       const Words& words) {
  const auto& held = self->state.held_keys;
  if (held.empty())
    return false;
  std::string_view name = spec.name;
  if (spans_key_space(name) || runs_script(name))
    return true;
  return commands::visit_key_positions(spec, words.size(), [&](std::size_t i) {
    return held.count(std::string{words[i]}) != 0;
  });
}

// The store's front actor's requests (commands::sequence_atom), planned here
// so that every sender of the node shares the gateway's plan order: each
// request is one plan of its own, submitted after every plan already made,
// touching watched keys as a client's writes do, and waiting while it names a
// held key. Answers each command's RESP2 reply.
caf::result<std::vector<std::string>>
plan_front_request(gateway_actor* self, std::vector<std::vector<std::string>> commands,
                   bool transaction);
// Plans the waiting front requests that no longer name a held key, in order.
void resume_front_requests(gateway_actor* self);

// A plan of the gateway's own (a front request, a script's command), not a
// client cycle's: made on the current routing with the node's refusals, and
// handed to the dispatcher behind every plan made before it; `answered` runs
// once its shards have answered.
commands::plan_ptr make_own_plan(gateway_actor* self);
void submit_own_plan(gateway_actor* self, commands::plan_ptr work,
                     std::function<void(const commands::plan&)> answered);

// A script running longer than busy-reply-threshold (client_limits, 5 s by
// default) makes other clients' commands answer -BUSY instead of waiting, so
// that SCRIPT KILL and SHUTDOWN NOSAVE get through.
using script_busy_atom = caf::atom_constant<caf::atom("scriptbusy")>;
inline constexpr std::string_view busy_reply =
  "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
  "SHUTDOWN NOSAVE.\r\n";
inline constexpr std::string_view busy_function_reply =
  "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
  "SHUTDOWN NOSAVE.\r\n";

// SCRIPT KILL / FUNCTION KILL: +OK (the running script stops at its next
// instructions), -NOTBUSY or -UNKILLABLE.
std::string kill_running_script(gateway_actor* self);

// A command sent while a script is busy: SCRIPT KILL (of a script),
// FUNCTION KILL (of a function) and FUNCTION STATS are answered here,
// SHUTDOWN NOSAVE, MULTI, DISCARD, WATCH and UNWATCH run (""), anything else
// is -BUSY (inside MULTI it aborts the transaction; EXEC answers EXECABORT). The answer is written at
// once: the replies of plans made after the script's wait for its end.
std::string answer_while_busy(gateway_actor* self, connection& conn,
                              const commands::command_spec* spec, const args& argv);

// FUNCTION STATS: the running script (its name, command and duration) and the
// counts of libraries and functions.
std::string function_stats(gateway_actor* self, int resp);

// Whether `conn`'s next command waits for the script that runs (one that is
// not yet busy): every command once the script has taken the whole store;
// before that, another script, SCRIPT and FUNCTION (the runner is taken),
// the commands that save the data set or read it whole (SAVE, BGSAVE,
// BGREWRITEAOF, SHUTDOWN, DEBUG), and an EXEC of any of these. Commands on
// the script's declared keys wait for them as for any held key.
bool waits_for_script(gateway_actor* self, const connection& conn,
                      const commands::command_spec* spec);

// Hands the plan being built to the dispatcher now, rather than at the end
// of the broker's current round (a script's call past its declared keys goes
// behind every command planned before it).
void dispatch(gateway_actor* self);

// The busy threshold passed for script `serial`: if it still runs, the waiting
// clients go on, to be answered -BUSY.
void script_turned_busy(gateway_actor* self, std::uint64_t serial);

// A plan of a running script's writes joins the script's group in the
// append-only file (so the file holds all of the script's writes or none);
// nothing without the file or outside a script.
void join_script_writes(gateway_actor* self, commands::plan& work);

// RENAME, RENAMENX, MSETNX and COPY called from a script: run as their steps, the
// reply to `finish`; false for any other command.
bool multi_step_from_script(gateway_actor* self, const args& argv,
                            std::function<void(std::string_view)> finish);

// SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD and SMOVE called from
// a script: run as their steps, the reply (in RESP `resp`) to `finish`; false
// for any other command.
bool set_steps_from_script(gateway_actor* self, const args& argv, int resp,
                           std::function<void(std::string_view)> finish);
// The same for ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD and
// ZRANGESTORE (zset_steps.cpp).
bool zset_steps_from_script(gateway_actor* self, const args& argv, int resp,
                            std::function<void(std::string_view)> finish);
// The same for SORT and SORT_RO (sort_command.cpp).
bool sort_from_script(gateway_actor* self, const args& argv, int resp,
                      std::function<void(std::string_view)> finish);

// The pops that may block or span keys (blocking_commands.cpp): whether
// `name` is one; one called from a script (never waiting), its reply to
// `finish` (false for any other command); a shard's reply to a waiter it
// served (shard::woken_atom); a blocked client's timeout; a client leaving
// while blocked; CLIENT UNBLOCK (true when the client was blocked); how many
// clients are blocked (INFO blocked_clients).
inline bool is_pop_command(std::string_view name) {
  return name == "blpop" || name == "brpop" || name == "blmpop" || name == "blmove"
         || name == "brpoplpush" || name == "lmpop" || name == "lmove" || name == "rpoplpush"
         || name == "bzpopmin" || name == "bzpopmax" || name == "bzmpop" || name == "zmpop";
}
// Redis's noscript pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX
// (BLMPOP and BZMPOP are allowed, and never wait there).
inline bool blocks_outside_scripts(std::string_view name) {
  return name == "blpop" || name == "brpop" || name == "blmove" || name == "brpoplpush"
         || name == "bzpopmin" || name == "bzpopmax";
}
bool blocking_from_script(gateway_actor* self, const args& argv, int resp,
                          std::function<void(std::string_view)> finish);
using block_timeout_atom = caf::atom_constant<caf::atom("blocktime")>;
void on_woken(gateway_actor* self, std::uint64_t tag, std::uint64_t serial, std::string key,
              std::string reply, std::uint8_t end);
void on_block_timeout(gateway_actor* self, std::uint64_t tag, std::uint64_t serial);
void leave_blocked(gateway_actor* self, connection& conn);
bool unblock_client(gateway_actor* self, std::uint64_t id, bool with_error);
std::int64_t blocked_clients(const gateway_state& st);
// After SWAPDB of the shards' databases a and b: the clients blocked on keys
// of either wait in their number's new database, served at once when it
// holds their key.
void rehome_blocked_clients(gateway_actor* self, std::uint8_t a, std::uint8_t b);

// PUBLISH called from a script: its reply (the count of receivers) to
// `finish` once the subscription broker has it.
void publish_from_script(gateway_actor* self, const args& argv,
                         std::function<void(std::string_view)> finish);

// DEBUG PROTOCOL and DEBUG SLEEP called from a script, once DEBUG
// SET-DISABLE-DENY-SCRIPTS allowed it: their reply in RESP `resp`, or ""
// when scripts may not call it.
std::string debug_from_script(gateway_actor* self, const args& argv, int resp);

// A command a running script calls (scripting::call_atom): planned at once
// on the script's declared keys; past them, once the script holds the whole
// store and no other command holds the keys the call names. Answered with its
// reply in the script's RESP (redis.setresp), or with Redis's refusal of
// commands scripts may not call.
caf::result<std::string> plan_script_command(gateway_actor* self,
                                             std::vector<std::string> words,
                                             bool writes_allowed, bool allow_oom,
                                             int resp);

// Lets the clients `tags` names go on, oldest connection first: each one
// still connected has `held` cleared and the input it sent meanwhile parsed.
void resume_held_clients(gateway_actor* self, const std::vector<std::uint64_t>& tags,
                         bool connection::*held);

// Tells the engine manager this gateway has switched to a new entry engine,
// once nothing planned on the old one can still reach it.
void acknowledge_switch(gateway_actor* self);

// Prepares a plan to go out: its batches name what they evict while anyone
// watches keys (returned: whether they do), and a plan that writes on several
// shards has its events ordered while events are recorded.
bool prepare_for_shards(gateway_actor* self, commands::plan& work);

// The keys a plan's shards evicted (asked for while anyone watches keys)
// are touched: their watchers' EXEC fails, as when Redis evicts a watched key.
void touch_evicted_keys(gateway_actor* self, const commands::plan& done);

// Runs the queued commands of `conn`'s EXEC from where it stopped (behind a
// multi-step command), into `work`; at the end the EXEC's held keys go.
void run_queued(gateway_actor* self, connection& conn, commands::plan& work);

// Forgets what `conn` watches.
void unwatch_all(gateway_actor* self, connection& conn);

// Client-side caching (tracking_commands.cpp): CLIENT TRACKING, CACHING,
// GETREDIR, TRACKINGINFO (false for any other subcommand); tracking's end
// (OFF, RESET, the connection's close); the notes a command of `conn` carries
// to the shards (set before it is planned); the null invalidation of a flush,
// sent once the plan being built has run; the invalidations the broker routes
// here, written to their clients.
bool tracking_subcommand(gateway_actor* self, connection& conn, const args& argv,
                         commands::plan& work);
void stop_tracking(gateway_actor* self, connection& conn);
void note_tracking(connection& conn, const commands::command_spec* spec);
void announce_flush(gateway_actor* self);
void deliver_invalidations(gateway_actor* self,
                           subscription_broker::invalidation_delivery& delivery);

// MONITOR: shows a command `from` ran to every monitoring client (monitor.cpp).
void feed_monitors(gateway_actor* self, const connection& from, const args& argv);

// Writes `bytes` to the client once its replies planned so far are out: at
// once when none is pending, else right after the last of them.
void write_when_answered(gateway_actor* self, connection& conn, std::string_view bytes);

// Starts counting a connection's pending output (each completed write is
// reported from then on).
void track_output(gateway_actor* self, connection& conn);

// A reply slot reserved in the plan being built, filled in later (by the
// subscription broker, the saver, or the last step of a multi-step command).
class later_reply {
public:
  later_reply(gateway_actor* self, std::uint64_t plan_id, std::size_t index)
    : self_(self), plan_id_(plan_id), index_(index) {
  }
  // Puts `resp` in place; the plan's replies go out once none is missing.
  void operator()(std::string_view resp) const;

private:
  gateway_actor* self_;
  std::uint64_t plan_id_;
  std::size_t index_;
};

// Reserves the reply of the command being planned on `conn`.
later_reply reply_later(gateway_actor* self, connection& conn, commands::plan& work);

} // namespace stairkv::gateway
