#include "modules/gateway/connection.hpp"

#include <algorithm>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

namespace {

using commands::equals_ignoring_case;

constexpr std::string_view wrongpass =
  "WRONGPASS invalid username-password pair or user is disabled.";

std::string error_reply(const connection& conn, std::string_view msg) {
  std::string out;
  protocol::reply_writer{out, conn.context.resp_version}.error(msg);
  return out;
}

// The user `name` logs in as with `password`, or null (no such user, off, or
// not its password).
acl::user_ptr login(const acl::registry& users, std::string_view name,
                    std::string_view password) {
  auto u = users.find(name);
  if (!u || !u->enabled() || !u->password_ok(password))
    return nullptr;
  return u;
}

void logged_in(connection& conn, acl::user_ptr user) {
  conn.user = std::move(user);
  conn.authenticated = true;
  conn.parser.set_unauthenticated(false);
}

// Redis allows only printable ASCII without spaces in client names.
bool valid_client_name(std::string_view name) {
  for (unsigned char c : name)
    if (c < '!' || c > '~')
      return false;
  return true;
}

void describe(const connection& c, std::int64_t now_ms, std::string& out) {
  auto field = [&](std::string_view name, const std::string& value) {
    out.append(name);
    out += '=';
    out.append(value);
    out += ' ';
  };
  auto number = [&](std::string_view name, std::int64_t value) {
    field(name, std::to_string(value));
  };
  number("id", static_cast<std::int64_t>(c.serial));
  field("addr", c.addr);
  field("laddr", c.laddr);
  number("fd", c.handle.id());
  field("name", c.name);
  number("age", (now_ms - c.created_ms) / 1000);
  number("idle", (now_ms - c.last_active_ms) / 1000);
  std::string flags = c.subscribed() ? "P" : "";
  if (c.monitoring)
    flags += 'O';
  if (c.no_evict)
    flags += 'e';
  if (c.context.no_touch)
    flags += 'T';
  if (c.transaction.active)
    flags += 'x';
  if (c.watch_touched)
    flags += 'd';
  if (c.tracking.on)
    flags += 't';
  if (c.tracking.broken_redirect)
    flags += 'R';
  if (c.tracking.bcast)
    flags += 'B';
  field("flags", flags.empty() ? "N" : flags);
  number("db", c.db);
  number("sub", static_cast<std::int64_t>(c.channels.size()));
  number("psub", static_cast<std::int64_t>(c.patterns.size()));
  number("ssub", static_cast<std::int64_t>(c.shard_channels.size()));
  number("multi", c.transaction.active
                    ? static_cast<std::int64_t>(c.transaction.queued.size())
                    : -1);
  auto qbuf = c.query_pending != 0 ? c.query_pending : c.input.size();
  number("qbuf", static_cast<std::int64_t>(qbuf));
  number("qbuf-free", static_cast<std::int64_t>(c.input.capacity() - c.input.size()));
  number("argv-mem", static_cast<std::int64_t>(c.argv_bytes));
  number("multi-mem", static_cast<std::int64_t>(c.transaction.queued_bytes));
  // The reply buffer: its size, which is also its peak (a connection gives
  // back a buffer that grew past 64 KB once it is empty).
  number("rbs", static_cast<std::int64_t>(c.output.capacity()));
  number("rbp", static_cast<std::int64_t>(c.output.capacity()));
  number("obl", static_cast<std::int64_t>(c.output.size()));
  number("oll", 0);
  auto omem = c.unsent + static_cast<std::int64_t>(c.deferred_pushes.size());
  number("omem", omem);
  number("tot-mem", static_cast<std::int64_t>(sizeof(connection) + c.input.capacity()
                                              + c.output.capacity()
                                              + c.deferred_pushes.capacity())
                      + omem);
  field("events", "r");
  if (c.last_command == nullptr)
    field("cmd", "NULL");
  else if (c.last_subcommand.empty())
    field("cmd", c.last_command->name);
  else
    field("cmd", std::string{c.last_command->name} + "|" + c.last_subcommand);
  field("user", c.user ? c.user->name() : std::string{"default"});
  number("redir", c.tracking.on ? static_cast<std::int64_t>(c.tracking.redirect) : -1);
  out.append("resp=");
  out.append(std::to_string(c.context.resp_version));
  out += '\n';
}

} // namespace

bool allowed_before_auth(const connection& conn, const args& argv, std::string& reply) {
  if (conn.authenticated || argv.empty())
    return true;
  auto name = argv[0];
  if (equals_ignoring_case(name, "auth") || equals_ignoring_case(name, "quit")
      || equals_ignoring_case(name, "reset"))
    return true;
  if (equals_ignoring_case(name, "hello")) {
    // Only a HELLO that authenticates on the way.
    for (std::size_t i = 2; i < argv.size(); ++i)
      if (equals_ignoring_case(argv[i], "auth"))
        return true;
    reply = error_reply(conn,
                        "NOAUTH HELLO must be called with the client already "
                        "authenticated, otherwise the HELLO AUTH <user> <pass> "
                        "option can be used to authenticate the client and "
                        "select the RESP protocol version at the same time");
    return false;
  }
  reply = error_reply(conn, "NOAUTH Authentication required.");
  return false;
}

auth_result auth_command(connection& conn, const acl::registry& users, const args& argv) {
  if (argv.size() > 3)
    return {error_reply(conn, protocol::errors::syntax)};
  auto d = users.default_user();
  if (argv.size() == 2 && d && d->nopass())
    return {error_reply(conn,
                        "ERR AUTH <password> called without any password configured "
                        "for the default user. Are you sure your configuration is "
                        "correct?")};
  auto name = argv.size() == 3 ? argv[1] : std::string_view{"default"};
  auto u = login(users, name, argv.back());
  if (!u)
    return {error_reply(conn, wrongpass), std::string{name}};
  logged_in(conn, std::move(u));
  return {"+OK\r\n"};
}

auth_result hello_command(connection& conn, const acl::registry& users,
                          const args& argv) {
  auto version = conn.context.resp_version;
  if (argv.size() >= 2) {
    std::int64_t wanted = 0;
    if (!protocol::parse_int64(argv[1], wanted))
      return {error_reply(conn, "ERR Protocol version is not an integer or out of range")};
    if (wanted != 2 && wanted != 3)
      return {error_reply(conn, "NOPROTO unsupported protocol version")};
    version = static_cast<int>(wanted);
  }
  const std::string_view* user = nullptr;
  const std::string_view* password = nullptr;
  const std::string_view* name = nullptr;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    bool more = i + 1 < argv.size();
    if (equals_ignoring_case(argv[i], "auth") && i + 2 < argv.size()) {
      user = &argv[i + 1];
      password = &argv[i + 2];
      i += 2;
    } else if (equals_ignoring_case(argv[i], "setname") && more) {
      name = &argv[i + 1];
      i += 1;
    } else {
      std::string msg = "ERR Syntax error in HELLO option '";
      msg.append(argv[i].substr(0, 128));
      msg += '\'';
      return {error_reply(conn, msg)};
    }
  }
  if (user != nullptr) {
    auto u = login(users, *user, *password);
    if (!u)
      return {error_reply(conn, wrongpass), std::string{*user}};
    logged_in(conn, std::move(u));
  }
  if (name != nullptr && !valid_client_name(*name))
    return {error_reply(conn, "ERR Client names cannot contain spaces, newlines or "
                              "special characters.")};
  if (name != nullptr)
    conn.name.assign(name->data(), name->size());
  conn.context.resp_version = version;
  std::string out;
  protocol::reply_writer reply{out, version};
  reply.map(7);
  reply.bulk("server");
  reply.bulk("redis");
  reply.bulk("version");
  reply.bulk("7.0.0");
  reply.bulk("proto");
  reply.integer(version);
  reply.bulk("id");
  reply.integer(static_cast<std::int64_t>(conn.serial));
  reply.bulk("mode");
  reply.bulk("standalone");
  reply.bulk("role");
  reply.bulk("master");
  reply.bulk("modules");
  reply.array(0);
  return {std::move(out)};
}

bool needs_no_auth(const acl::user_ptr& user) {
  return user && user->enabled() && user->nopass();
}

std::string client_info(const connection& conn, std::int64_t now_ms) {
  std::string out;
  describe(conn, now_ms, out);
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

std::string client_command(connection& conn, const connection_map& all,
                           const args& argv, std::int64_t now_ms) {
  auto sub = argv[1];
  std::string out;
  protocol::reply_writer reply{out, conn.context.resp_version};
  auto arity_error = [&] {
    std::string msg = "ERR wrong number of arguments for 'client|";
    msg.append(commands::to_lower(sub));
    msg.append("' command");
    return error_reply(conn, msg);
  };
  if (equals_ignoring_case(sub, "id")) {
    if (argv.size() != 2)
      return arity_error();
    reply.integer(static_cast<std::int64_t>(conn.serial));
  } else if (equals_ignoring_case(sub, "getname")) {
    if (argv.size() != 2)
      return arity_error();
    if (conn.name.empty())
      reply.null();
    else
      reply.bulk(conn.name);
  } else if (equals_ignoring_case(sub, "setname")) {
    if (argv.size() != 3)
      return arity_error();
    if (!valid_client_name(argv[2]))
      return error_reply(conn, "ERR Client names cannot contain spaces, newlines or "
                               "special characters.");
    conn.name.assign(argv[2].data(), argv[2].size());
    reply.simple("OK");
  } else if (equals_ignoring_case(sub, "reply")) {
    if (argv.size() != 3)
      return arity_error();
    auto mode = argv[2];
    if (equals_ignoring_case(mode, "on")) {
      conn.replies_off = false;
      conn.skip_next_reply = false;
      reply.simple("OK");
    } else if (equals_ignoring_case(mode, "off")) {
      conn.replies_off = true;
    } else if (equals_ignoring_case(mode, "skip")) {
      if (!conn.replies_off)
        conn.skip_next_reply = true;
    } else {
      return error_reply(conn, protocol::errors::syntax);
    }
  } else if (equals_ignoring_case(sub, "no-evict")) {
    // Accepted and shown in the flags: clients are never evicted here
    // (there is no maxmemory-clients), so it changes nothing else.
    if (argv.size() != 3)
      return arity_error();
    if (equals_ignoring_case(argv[2], "on"))
      conn.no_evict = true;
    else if (equals_ignoring_case(argv[2], "off"))
      conn.no_evict = false;
    else
      return error_reply(conn, protocol::errors::syntax);
    reply.simple("OK");
  } else if (equals_ignoring_case(sub, "no-touch")) {
    // Redis 7.2's: this client's commands leave keys' access times (LRU
    // idle time, LFU counter) alone, except TOUCH's.
    if (argv.size() != 3)
      return arity_error();
    if (equals_ignoring_case(argv[2], "on"))
      conn.context.no_touch = true;
    else if (equals_ignoring_case(argv[2], "off"))
      conn.context.no_touch = false;
    else
      return error_reply(conn, protocol::errors::syntax);
    reply.simple("OK");
  } else if (equals_ignoring_case(sub, "info")) {
    if (argv.size() != 2)
      return arity_error();
    std::string text;
    describe(conn, now_ms, text);
    reply.bulk(text);
  } else if (equals_ignoring_case(sub, "list")) {
    // CLIENT LIST [TYPE normal|pubsub|master|replica] [ID id ...]
    bool by_type = false;
    bool want_pubsub = false;
    bool want_none = false; // masters and replicas: there are none
    std::vector<std::uint64_t> ids;
    bool by_id = false;
    for (std::size_t i = 2; i < argv.size(); ++i) {
      if (equals_ignoring_case(argv[i], "type") && i + 1 < argv.size()) {
        auto t = argv[++i];
        by_type = true;
        if (equals_ignoring_case(t, "pubsub"))
          want_pubsub = true;
        else if (equals_ignoring_case(t, "master") || equals_ignoring_case(t, "replica")
                 || equals_ignoring_case(t, "slave"))
          want_none = true;
        else if (!equals_ignoring_case(t, "normal"))
          return error_reply(conn, "ERR Unknown client type '" + std::string{t} + "'");
      } else if (equals_ignoring_case(argv[i], "id") && i + 1 < argv.size()) {
        by_id = true;
        for (++i; i < argv.size(); ++i) {
          std::int64_t id = 0;
          if (!protocol::parse_int64(argv[i], id) || id <= 0)
            return error_reply(conn, "ERR Invalid client ID");
          ids.push_back(static_cast<std::uint64_t>(id));
        }
      } else {
        return error_reply(conn, protocol::errors::syntax);
      }
    }
    // Oldest first, as Redis lists them.
    std::vector<const connection*> listed;
    for (const auto& [handle, c] : all) {
      if (want_none || (by_type && c.subscribed() != want_pubsub))
        continue;
      if (by_id && std::find(ids.begin(), ids.end(), c.serial) == ids.end())
        continue;
      listed.push_back(&c);
    }
    std::sort(listed.begin(), listed.end(), [](const connection* a, const connection* b) {
      return a->serial < b->serial;
    });
    std::string text;
    for (const auto* c : listed)
      describe(*c, now_ms, text);
    reply.bulk(text);
  } else {
    auto msg = protocol::errors::unknown_subcommand(sub, "CLIENT");
    return error_reply(conn, msg);
  }
  return out;
}

} // namespace stairkv::gateway
