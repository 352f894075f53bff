// CLIENT KILL, as Redis 7 has it: the old form `CLIENT KILL ip:port` (+OK or
// "No such client"), and filters `ID id`, `TYPE normal|master|replica|slave|pubsub`,
// `ADDR ip:port`, `LADDR ip:port`, `USER name`, `SKIPME yes|no`, all of which a
// client must match, answered with how many were closed. Closing is immediate
// for the others; the caller itself (SKIPME no) is closed after this reply.

#include <optional>
#include <string>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

namespace {

struct kill_filter {
  bool old_form = false;
  std::optional<std::uint64_t> id;
  std::optional<bool> pubsub;   // TYPE pubsub / normal
  bool no_type_matches = false; // TYPE master / replica: there are none
  std::optional<std::string> addr;
  std::optional<std::string> laddr;
  bool skip_me = true;
};

// Reads the filters; returns Redis's error message, or "".
std::string read_filters(const args& argv, kill_filter& f) {
  using commands::equals_ignoring_case;
  if (argv.size() == 3) {
    f.old_form = true;
    f.addr = std::string{argv[2]};
    f.skip_me = false; // the old form kills the caller too when it names it
    return {};
  }
  if (argv.size() % 2 != 0)
    return std::string{protocol::errors::syntax};
  for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
    auto name = argv[i];
    auto value = argv[i + 1];
    if (equals_ignoring_case(name, "id")) {
      std::int64_t id = 0;
      if (!protocol::parse_int64(value, id) || id <= 0)
        return "ERR client-id should be greater than 0";
      f.id = static_cast<std::uint64_t>(id);
    } else if (equals_ignoring_case(name, "type")) {
      if (equals_ignoring_case(value, "normal"))
        f.pubsub = false;
      else if (equals_ignoring_case(value, "pubsub"))
        f.pubsub = true;
      else if (equals_ignoring_case(value, "master") || equals_ignoring_case(value, "replica")
               || equals_ignoring_case(value, "slave"))
        f.no_type_matches = true;
      else
        return "ERR Unknown client type '" + std::string{value} + "'";
    } else if (equals_ignoring_case(name, "addr")) {
      f.addr = std::string{value};
    } else if (equals_ignoring_case(name, "laddr")) {
      f.laddr = std::string{value};
    } else if (equals_ignoring_case(name, "user")) {
      // One user exists, `default`; every client is it.
      if (value != "default")
        return "ERR No such user '" + std::string{value} + "'";
    } else if (equals_ignoring_case(name, "skipme")) {
      if (equals_ignoring_case(value, "yes"))
        f.skip_me = true;
      else if (equals_ignoring_case(value, "no"))
        f.skip_me = false;
      else
        return std::string{protocol::errors::syntax};
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  return {};
}

bool matches(const kill_filter& f, const connection& c, const connection& caller) {
  if (f.skip_me && &c == &caller)
    return false;
  if (f.no_type_matches)
    return false;
  if (f.id && c.serial != *f.id)
    return false;
  if (f.pubsub && c.subscribed() != *f.pubsub)
    return false;
  if (f.addr && c.addr != *f.addr)
    return false;
  if (f.laddr && c.laddr != *f.laddr)
    return false;
  return true;
}

} // namespace

void client_kill(gateway_actor* self, connection& conn, const args& argv,
                 commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  kill_filter filter;
  if (auto error = read_filters(argv, filter); !error.empty()) {
    out.error(error);
    work.add_reply(conn.context, reply);
    return;
  }
  auto& st = self->state;
  std::vector<std::uint64_t> doomed;
  bool caller_too = false;
  for (auto& [handle, c] : st.connections) {
    if (!matches(filter, c, conn))
      continue;
    if (&c == &conn)
      caller_too = true;
    else
      doomed.push_back(handle);
  }
  for (auto handle : doomed)
    close_client(self, st.connections.find(handle));
  if (caller_too)
    conn.closing = true; // after this reply
  auto killed = static_cast<std::int64_t>(doomed.size() + (caller_too ? 1 : 0));
  if (!filter.old_form)
    out.integer(killed);
  else if (killed == 0)
    out.error("ERR No such client");
  else
    out.simple("OK");
  work.add_reply(conn.context, reply);
}

} // namespace stairkv::gateway
