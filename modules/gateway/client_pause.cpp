// CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, as Redis 7: for
// `timeout` milliseconds every client's commands (ALL, the default) or only its
// writes and PUBLISH (WRITE) wait, in order, and then run. The gateway holds them
// before planning (pause_clients, held_by_pause in resp_gateway.cpp). Keys still
// expire and eviction goes on meanwhile (Redis stops both; see the README).

#include <string>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

void client_pause(gateway_actor* self, connection& conn, const args& argv,
                  commands::plan& work) {
  using commands::equals_ignoring_case;
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  std::int64_t ms = 0;
  bool all = true;
  if (argv.size() < 3 || argv.size() > 4) {
    out.error(protocol::errors::wrong_arity("client|pause"));
  } else if (!protocol::parse_int64(argv[2], ms)) {
    out.error("ERR timeout is not an integer or out of range");
  } else if (ms < 0) {
    out.error("ERR timeout is negative");
  } else if (argv.size() == 4 && !equals_ignoring_case(argv[3], "all")
             && !equals_ignoring_case(argv[3], "write")) {
    out.error(protocol::errors::syntax);
  } else {
    all = argv.size() == 3 || equals_ignoring_case(argv[3], "all");
    pause_clients(self, ms, all);
    out.simple("OK");
  }
  work.add_reply(conn.context, reply);
}

void client_unpause(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  if (argv.size() != 2) {
    work.add_reply(conn.context,
                   protocol::errors::as_reply(protocol::errors::wrong_arity("client|unpause")));
    return;
  }
  unpause_clients(self);
  work.add_reply(conn.context, "+OK\r\n");
}

} // namespace stairkv::gateway
