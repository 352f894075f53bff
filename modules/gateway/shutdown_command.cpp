// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the node stops as on SIGTERM
// (clients are let go, the append-only file is flushed, the final snapshot is
// taken when save rules or SAVE ask for it). The client gets no reply: its
// connection closes, which is what redis-cli and client libraries expect.

#include <optional>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"

namespace stairkv::gateway {

void shutdown_command(gateway_actor* self, connection& conn, const args& argv,
                      commands::plan& work) {
  using commands::equals_ignoring_case;
  std::optional<bool> save;
  bool abort = false;
  bool other = false; // NOW or FORCE: accepted (no replicas to wait for)
  for (std::size_t i = 1; i < argv.size(); ++i) {
    auto opt = argv[i];
    if (equals_ignoring_case(opt, "nosave") && save != true) {
      save = false;
    } else if (equals_ignoring_case(opt, "save") && save != false) {
      save = true;
    } else if (equals_ignoring_case(opt, "now") || equals_ignoring_case(opt, "force")) {
      other = true;
    } else if (equals_ignoring_case(opt, "abort")) {
      abort = true;
    } else {
      work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::syntax));
      return;
    }
  }
  if (abort) {
    // A shutdown here never waits (no replicas), so none is ever in progress.
    work.add_reply(conn.context, protocol::errors::as_reply(
                                   save.has_value() || other
                                     ? protocol::errors::syntax
                                     : "ERR No shutdown in progress."));
    return;
  }
  const auto& shutdown = self->state.config.shutdown;
  if (!shutdown) {
    work.add_reply(conn.context,
                   protocol::errors::as_reply("ERR this node cannot be shut down here"));
    return;
  }
  work.add_reply(conn.context, "");
  conn.closing = true;
  shutdown(save);
}

} // namespace stairkv::gateway
