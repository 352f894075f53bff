#include "modules/gateway/session_commands.hpp"

#include <string>

#include "modules/commands/text.hpp"
#include "modules/gateway/connection.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

struct named_handler {
  const char* name;
  session_handler run;
};

// Every session command's handler, by the command table's name.
constexpr named_handler handlers[] = {
  {"acl", acl_command},
  {"asking", asking_command},
  {"cluster", cluster_command},
  {"migrate", migrate_command},
  {"readonly", readonly_command},
  {"readwrite", readonly_command},
  {"auth", auth_session_command},
  {"bgrewriteaof", bgrewriteaof_command},
  {"bgsave", bgsave_command},
  {"client", client_session_command},
  {"config", config_command},
  {"debug", debug_command},
  {"discard", discard_command},
  {"eval", eval_command},
  {"eval_ro", eval_ro_command},
  {"evalsha", evalsha_command},
  {"evalsha_ro", evalsha_ro_command},
  {"exec", exec_command},
  {"fcall", fcall_command},
  {"fcall_ro", fcall_ro_command},
  {"function", function_command},
  {"copy", copy_command},
  {"blmove", blocking_command},
  {"blmpop", blocking_command},
  {"blpop", blocking_command},
  {"brpop", blocking_command},
  {"brpoplpush", blocking_command},
  {"bzmpop", blocking_command},
  {"bzpopmax", blocking_command},
  {"bzpopmin", blocking_command},
  {"lmove", blocking_command},
  {"lmpop", blocking_command},
  {"rpoplpush", blocking_command},
  {"zmpop", blocking_command},
  {"hello", hello_session_command},
  {"info", info_command},
  {"lastsave", lastsave_command},
  {"latency", latency_command},
  {"monitor", monitor_command},
  {"multi", multi_command},
  {"msetnx", msetnx_command},
  {"psubscribe", psubscribe_command},
  {"publish", publish_command},
  {"pubsub", pubsub_command},
  {"punsubscribe", punsubscribe_command},
  {"quit", quit_command},
  {"rename", rename_command},
  {"reset", reset_command},
  {"renamenx", renamenx_command},
  {"save", save_command},
  {"select", select_command},
  {"swapdb", swapdb_command},
  {"sdiff", set_steps_command},
  {"sdiffstore", set_steps_command},
  {"sinter", set_steps_command},
  {"sintercard", set_steps_command},
  {"sinterstore", set_steps_command},
  {"smove", set_steps_command},
  {"sunion", set_steps_command},
  {"sunionstore", set_steps_command},
  {"sort", sort_command},
  {"sort_ro", sort_command},
  {"zdiff", zset_steps_command},
  {"zdiffstore", zset_steps_command},
  {"zinter", zset_steps_command},
  {"zintercard", zset_steps_command},
  {"zinterstore", zset_steps_command},
  {"zrangestore", zset_steps_command},
  {"zunion", zset_steps_command},
  {"zunionstore", zset_steps_command},
  {"script", script_command},
  {"shutdown", shutdown_command},
  {"slowlog", slowlog_command},
  {"spublish", spublish_command},
  {"ssubscribe", ssubscribe_command},
  {"subscribe", subscribe_command},
  {"sunsubscribe", sunsubscribe_command},
  {"unsubscribe", unsubscribe_command},
  {"unwatch", unwatch_command},
  {"watch", watch_command},
};

// The handlers by position in commands::all_commands(), resolved once.
const std::vector<session_handler>& by_index() {
  static const std::vector<session_handler> table = [] {
    const auto& all = commands::all_commands();
    std::vector<session_handler> result(all.size(), nullptr);
    for (const auto& h : handlers)
      if (const auto* spec = commands::find_command(h.name);
          spec != nullptr && (spec->flags & commands::flag::gateway) != 0)
        result[static_cast<std::size_t>(spec - all.data())] = h.run;
    return result;
  }();
  return table;
}

} // namespace

session_handler session_handler_of(const commands::command_spec& spec) {
  return by_index()[static_cast<std::size_t>(&spec - commands::all_commands().data())];
}

std::vector<std::string> unmatched_session_commands() {
  std::vector<std::string> result;
  for (const auto& spec : commands::all_commands())
    if ((spec.flags & commands::flag::gateway) != 0 && session_handler_of(spec) == nullptr)
      result.emplace_back(spec.name);
  for (const auto& h : handlers) {
    const auto* spec = commands::find_command(h.name);
    if (spec == nullptr || (spec->flags & commands::flag::gateway) == 0)
      result.emplace_back(h.name);
  }
  return result;
}

// QUIT: +OK, then the connection closes once its replies are out.
void quit_command(gateway_actor*, connection& conn, const args&, commands::plan& work) {
  work.add_reply(conn.context, "+OK\r\n");
  conn.closing = true;
}

// RESET: the connection starts over as if it had just connected: no
// subscriptions, no MONITOR, no name, RESP2, replies on, and authenticated
// again only if the default user needs no password.
void reset_command(gateway_actor* self, connection& conn, const args&,
                   commands::plan& work) {
  leave_subscriptions_and_monitor(self, conn);
  stop_tracking(self, conn);
  conn.transaction = {};
  unwatch_all(self, conn);
  conn.name.clear();
  conn.context.resp_version = 2;
  conn.replies_off = false;
  conn.skip_next_reply = false;
  conn.no_evict = false;
  conn.context.no_touch = false;
  conn.db = 0;
  conn.context.db = self->state.config.databases->physical(0);
  start_as_default(self, conn);
  if (!conn.authenticated)
    track_output(self, conn);
  work.add_reply(conn.context, "+RESET\r\n");
}

// INFO [section ...]: every shard is asked for its statistics, and the reply is
// rendered once they have all answered.
void info_command(gateway_actor*, connection& conn, const args& argv,
                  commands::plan& work) {
  std::string section;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (i > 1)
      section += ' ';
    section.append(argv[i]);
  }
  work.add_info(conn.context, section);
}

void auth_session_command(gateway_actor* self, connection& conn, const args& argv,
                          commands::plan& work) {
  sync_default_password(self);
  auto result = auth_command(conn, self->state.users, argv);
  if (result.refused)
    log_failed_auth(self, conn, std::move(result.username));
  work.add_reply(conn.context, result.reply);
}

void hello_session_command(gateway_actor* self, connection& conn, const args& argv,
                           commands::plan& work) {
  // The reply is already in the dialect HELLO switched to.
  sync_default_password(self);
  auto result = hello_command(conn, self->state.users, argv);
  if (result.refused)
    log_failed_auth(self, conn, std::move(result.username));
  work.add_reply(conn.context, result.reply);
}

void client_session_command(gateway_actor* self, connection& conn, const args& argv,
                            commands::plan& work) {
  if (commands::equals_ignoring_case(argv[1], "kill")) {
    if (argv.size() < 3)
      work.add_reply(conn.context,
                     protocol::errors::as_reply(protocol::errors::wrong_arity("client|kill")));
    else
      client_kill(self, conn, argv, work);
    return;
  }
  if (tracking_subcommand(self, conn, argv, work))
    return;
  if (commands::equals_ignoring_case(argv[1], "pause")) {
    client_pause(self, conn, argv, work);
    return;
  }
  if (commands::equals_ignoring_case(argv[1], "unpause")) {
    client_unpause(self, conn, argv, work);
    return;
  }
  if (commands::equals_ignoring_case(argv[1], "unblock")) {
    // CLIENT UNBLOCK id [TIMEOUT|ERROR]
    std::int64_t id = 0;
    bool with_error = false;
    if (argv.size() < 3 || argv.size() > 4) {
      work.add_reply(conn.context, protocol::errors::as_reply(
                                     protocol::errors::wrong_arity("client|unblock")));
      return;
    }
    if (!protocol::parse_int64(argv[2], id)) {
      work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::not_an_integer));
      return;
    }
    if (argv.size() == 4) {
      if (commands::equals_ignoring_case(argv[3], "error")) {
        with_error = true;
      } else if (!commands::equals_ignoring_case(argv[3], "timeout")) {
        work.add_reply(conn.context,
                       "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
        return;
      }
    }
    bool done = id > 0 && unblock_client(self, static_cast<std::uint64_t>(id), with_error);
    work.add_reply(conn.context, done ? ":1\r\n" : ":0\r\n");
    return;
  }
  work.add_reply(conn.context, client_command(conn, self->state.connections, argv,
                                              shard::unix_now_ms()));
}

} // namespace stairkv::gateway
