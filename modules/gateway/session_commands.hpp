#pragma once

// Commands that need the client's connection or the node rather than a shard:
// the ones the command table flags `gateway` (QUIT, INFO, CONFIG, SLOWLOG, AUTH,
// HELLO, CLIENT, pub/sub, persistence, and the multi-step RENAME/RENAMENX/MSETNX).
// Each has one handler, in the file of its family; the command table's index
// finds it, so the request path does one lookup, never a chain of names.
// Internal to the gateway.

#include <string_view>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/gateway/gateway_state.hpp"

namespace stairkv::gateway {

using session_handler = void (*)(gateway_actor* self, connection& conn,
                                 const std::vector<std::string_view>& argv,
                                 commands::plan& work);

// The handler of a command flagged `gateway`; nullptr for every other command.
session_handler session_handler_of(const commands::command_spec& spec);

// Names of commands flagged `gateway` that have no handler, and of handlers
// whose command is missing or not flagged (both empty in a consistent build).
std::vector<std::string> unmatched_session_commands();

// In RESP2 a subscribed connection may only manage its subscriptions, PING and
// QUIT; anything else gets Redis's error (planned here) and runs nowhere. True
// when the command was refused.
bool refused_while_subscribed(connection& conn, const commands::command_spec* spec,
                              const std::vector<std::string_view>& argv,
                              commands::plan& work);

// -- the handlers, by family ----------------------------------------------------
using args = std::vector<std::string_view>;

// connection and server (session_commands.cpp)
void quit_command(gateway_actor*, connection&, const args&, commands::plan&);
void reset_command(gateway_actor*, connection&, const args&, commands::plan&);
void info_command(gateway_actor*, connection&, const args&, commands::plan&);
void auth_session_command(gateway_actor*, connection&, const args&, commands::plan&);
void hello_session_command(gateway_actor*, connection&, const args&, commands::plan&);
void client_session_command(gateway_actor*, connection&, const args&, commands::plan&);
// CLIENT KILL (client_kill.cpp), CLIENT PAUSE and UNPAUSE (client_pause.cpp),
// reached through client_session_command
void client_kill(gateway_actor*, connection&, const args&, commands::plan&);
void client_pause(gateway_actor*, connection&, const args&, commands::plan&);
void client_unpause(gateway_actor*, connection&, const args&, commands::plan&);

// ACL (acl_commands.cpp): the ACL command; the check of a call against the
// user of its connection (Redis's -NOPERM text, or "" when the call may run;
// `context`: toplevel or multi, for ACL LOG); the same for a script's call
// (the error the script gets); a failed AUTH for ACL LOG; the default user's
// password from requirepass; and, after the users changed, each connection
// moved to its user's new version (closed when its user is gone).
void acl_command(gateway_actor*, connection&, const args&, commands::plan&);
std::string acl_refusal(gateway_actor* self, connection& conn, const args& argv,
                        std::size_t slot, const char* context);
std::string script_acl_refusal(gateway_actor* self, const args& argv, std::size_t slot);
// redis.acl_check_cmd: ":1", ":0", or the error of an unknown command.
std::string script_acl_check(gateway_actor* self, const std::vector<std::string>& words);
void log_failed_auth(gateway_actor* self, const connection& conn, std::string username);
void sync_default_password(gateway_actor* self);
void users_changed(gateway_actor* self, bool everyone_out = false);
// A new connection, or one that said RESET: the default user, authenticated
// when that needs no password.
void start_as_default(gateway_actor* self, connection& conn);

// CONFIG GET | SET | RESETSTAT (config_command.cpp)
void config_command(gateway_actor*, connection&, const args&, commands::plan&);

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (shutdown_command.cpp)
void shutdown_command(gateway_actor*, connection&, const args&, commands::plan&);

// DEBUG, gated by enable-debug-command (debug_command.cpp)
void debug_command(gateway_actor*, connection&, const args&, commands::plan&);

// LATENCY LATEST | HISTORY | RESET | GRAPH | DOCTOR | HISTOGRAM | HELP
// (latency_command.cpp)
void latency_command(gateway_actor*, connection&, const args&, commands::plan&);

// SELECT, SWAPDB (database_commands.cpp)
void select_command(gateway_actor*, connection&, const args&, commands::plan&);
void swapdb_command(gateway_actor*, connection&, const args&, commands::plan&);

// MULTI, EXEC, DISCARD, WATCH, UNWATCH (transaction_commands.cpp)
void multi_command(gateway_actor*, connection&, const args&, commands::plan&);
void exec_command(gateway_actor*, connection&, const args&, commands::plan&);
void discard_command(gateway_actor*, connection&, const args&, commands::plan&);
void watch_command(gateway_actor*, connection&, const args&, commands::plan&);
void unwatch_command(gateway_actor*, connection&, const args&, commands::plan&);

// MONITOR (monitor.cpp)
void monitor_command(gateway_actor*, connection&, const args&, commands::plan&);

// SLOWLOG GET | LEN | RESET | HELP (slowlog_command.cpp)
void slowlog_command(gateway_actor*, connection&, const args&, commands::plan&);

// cluster mode (cluster_commands.cpp)
void cluster_command(gateway_actor*, connection&, const args&, commands::plan&);
void asking_command(gateway_actor*, connection&, const args&, commands::plan&);
void readonly_command(gateway_actor*, connection&, const args&, commands::plan&);
void migrate_command(gateway_actor*, connection&, const args&, commands::plan&);

// pub/sub (pubsub_commands.cpp)
void subscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void psubscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void unsubscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void punsubscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void publish_command(gateway_actor*, connection&, const args&, commands::plan&);
void ssubscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void sunsubscribe_command(gateway_actor*, connection&, const args&, commands::plan&);
void spublish_command(gateway_actor*, connection&, const args&, commands::plan&);
void pubsub_command(gateway_actor*, connection&, const args&, commands::plan&);

// persistence (persistence_commands.cpp)
void save_command(gateway_actor*, connection&, const args&, commands::plan&);
void bgsave_command(gateway_actor*, connection&, const args&, commands::plan&);
void bgrewriteaof_command(gateway_actor*, connection&, const args&, commands::plan&);
void lastsave_command(gateway_actor*, connection&, const args&, commands::plan&);

// commands that read before they write across shards (multi_step_commands.cpp)
void rename_command(gateway_actor*, connection&, const args&, commands::plan&);
void renamenx_command(gateway_actor*, connection&, const args&, commands::plan&);
void msetnx_command(gateway_actor*, connection&, const args&, commands::plan&);
void copy_command(gateway_actor*, connection&, const args&, commands::plan&);
// SINTER SUNION SDIFF and their STORE forms, SINTERCARD, SMOVE (set_steps.cpp).
void set_steps_command(gateway_actor*, connection&, const args&, commands::plan&);
// ZUNION ZINTER ZDIFF and their STORE forms, ZINTERCARD, ZRANGESTORE
// (zset_steps.cpp).
void zset_steps_command(gateway_actor*, connection&, const args&, commands::plan&);
// SORT and SORT_RO (sort_command.cpp).
void sort_command(gateway_actor*, connection&, const args&, commands::plan&);

// BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH, LMPOP, LMOVE, RPOPLPUSH
// (blocking_commands.cpp).
void blocking_command(gateway_actor*, connection&, const args&, commands::plan&);

// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (script_commands.cpp).
void eval_command(gateway_actor*, connection&, const args&, commands::plan&);
void evalsha_command(gateway_actor*, connection&, const args&, commands::plan&);
void eval_ro_command(gateway_actor*, connection&, const args&, commands::plan&);
void evalsha_ro_command(gateway_actor*, connection&, const args&, commands::plan&);
void script_command(gateway_actor*, connection&, const args&, commands::plan&);
void fcall_command(gateway_actor*, connection&, const args&, commands::plan&);
void fcall_ro_command(gateway_actor*, connection&, const args&, commands::plan&);
void function_command(gateway_actor*, connection&, const args&, commands::plan&);

} // namespace stairkv::gateway
