// SLOWLOG GET [count] | LEN | RESET | HELP over the node's slow log
// (slow_log.hpp; the gateway adds entries as it writes replies).

#include <string>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

namespace {

constexpr const char* help_lines[] = {
  "SLOWLOG <subcommand> [<arg> ...]. Subcommands are:",
  "GET [<count>]",
  "    The <count> newest entries (10 by default, -1 for all). Each entry holds",
  "    its id, the Unix time it ran, how long it ran in microseconds, its",
  "    arguments, the client's address and the client's name.",
  "LEN",
  "    How many entries the log holds.",
  "RESET",
  "    Empties the log.",
  "HELP",
  "    This text.",
};

void write_entries(protocol::reply_writer& out, const slow_log& log, std::int64_t count) {
  const auto& entries = log.entries();
  auto n = count < 0 || static_cast<std::size_t>(count) > entries.size()
             ? entries.size()
             : static_cast<std::size_t>(count);
  out.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = entries[i];
    out.array(6);
    out.integer(e.id);
    out.integer(e.unix_seconds);
    out.integer(e.micros);
    out.array(e.args.size());
    for (const auto& a : e.args)
      out.bulk(a);
    out.bulk(e.client_addr);
    out.bulk(e.client_name);
  }
}

} // namespace

void slowlog_command(gateway_actor* self, connection& conn, const args& argv,
                     commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& log = *self->state.config.slowlog;
  auto sub = argv[1];
  using commands::equals_ignoring_case;
  if (equals_ignoring_case(sub, "get") && argv.size() <= 3) {
    std::int64_t count = 10;
    if (argv.size() == 3 && !protocol::parse_int64(argv[2], count))
      out.error(protocol::errors::not_an_integer);
    else if (count < -1)
      out.error("ERR count should be greater than or equal to -1");
    else
      write_entries(out, log, count);
  } else if (equals_ignoring_case(sub, "len") && argv.size() == 2) {
    out.integer(static_cast<std::int64_t>(log.entries().size()));
  } else if (equals_ignoring_case(sub, "reset") && argv.size() == 2) {
    log.reset();
    out.simple("OK");
  } else if (equals_ignoring_case(sub, "help") && argv.size() == 2) {
    out.help(help_lines);
  } else if (equals_ignoring_case(sub, "get") || equals_ignoring_case(sub, "len")
             || equals_ignoring_case(sub, "reset") || equals_ignoring_case(sub, "help")) {
    out.error(protocol::errors::wrong_arity("slowlog|" + commands::to_lower(sub)));
  } else {
    out.error(protocol::errors::unknown_subcommand(sub, "SLOWLOG"));
  }
  work.add_reply(conn.context, reply);
}

} // namespace stairkv::gateway
