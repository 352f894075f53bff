// SAVE, BGSAVE, BGREWRITEAOF and LASTSAVE: answered by the saver (persistence).

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/persistence/aof.hpp"
#include "modules/persistence/saver.hpp"

namespace stairkv::gateway {

namespace {

// SAVE, BGSAVE and BGREWRITEAOF: the saver answers (SAVE once the snapshot is
// on disk; the other clients are served meanwhile).
template <class Atom>
void ask_saver(gateway_actor* self, connection& conn, commands::plan& work, Atom what) {
  const auto& saver = self->state.config.saver;
  if (!saver) {
    work.add_reply(conn.context, "-ERR this node has no persistence\r\n");
    return;
  }
  auto fill = reply_later(self, conn, work);
  self->request(saver, caf::infinite, what)
    .then([fill](std::string& reply) mutable { fill(reply); },
          [fill](caf::error&) mutable { fill("-ERR the saver did not answer\r\n"); });
}

} // namespace

void save_command(gateway_actor* self, connection& conn, const args&,
                  commands::plan& work) {
  ask_saver(self, conn, work, persistence::save_atom::value);
}

// BGSAVE [SCHEDULE]: SCHEDULE is accepted; the saver answers either way.
void bgsave_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  if (argv.size() > 2
      || (argv.size() == 2 && !commands::equals_ignoring_case(argv[1], "schedule")))
    work.add_reply(conn.context, protocol::errors::as_reply(protocol::errors::syntax));
  else
    ask_saver(self, conn, work, persistence::bgsave_atom::value);
}

void bgrewriteaof_command(gateway_actor* self, connection& conn, const args&,
                          commands::plan& work) {
  ask_saver(self, conn, work, persistence::bgrewrite_atom::value);
}

// LASTSAVE: the Unix time of the last successful snapshot (0 without one).
void lastsave_command(gateway_actor* self, connection& conn, const args&,
                      commands::plan& work) {
  const auto& p = self->state.config.persistence;
  work.add_reply(conn.context,
                 ":" + std::to_string(p ? p->last_save_time.load(std::memory_order_relaxed)
                                        : 0)
                   + "\r\n");
}

} // namespace stairkv::gateway
