// Commands on deadlines: EXPIRE and its three siblings, TTL and its three, PERSIST,
// and the string commands that set or take a deadline on the way (SETEX, PSETEX,
// GETEX, GETDEL). Deadlines are absolute Unix milliseconds, computed here once.

#include <limits>
#include <string>

#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;

constexpr std::string_view not_an_integer =
  "ERR value is not an integer or out of range";
constexpr auto max_ms = std::numeric_limits<std::int64_t>::max();

std::string invalid_expire(std::string_view command) {
  std::string msg = "ERR invalid expire time in '";
  msg.append(command);
  msg.append("' command");
  return msg;
}


enum class unit { seconds, millis };

// Turns a client's expire amount into an absolute deadline the way Redis does:
// seconds are scaled to milliseconds, relative amounts added to now, and any
// overflow on the way is an invalid expire time. Returns false after replying.
bool to_deadline(plan& p, const client_context& client, std::string_view command,
                 std::string_view amount_text, unit u, bool relative,
                 std::int64_t& deadline) {
  std::int64_t amount = 0;
  if (!protocol::parse_int64(amount_text, amount)) {
    reply_error(p, client, not_an_integer);
    return false;
  }
  if (u == unit::seconds) {
    if (amount > max_ms / 1000 || amount < std::numeric_limits<std::int64_t>::min() / 1000) {
      reply_error(p, client, invalid_expire(command));
      return false;
    }
    amount *= 1000;
  }
  if (relative) {
    if (amount > max_ms - p.now()) {
      reply_error(p, client, invalid_expire(command));
      return false;
    }
    amount += p.now();
  }
  deadline = amount;
  return true;
}

void plan_expire_generic(plan& p, const client_context& client, const args& argv,
                         unit u, bool relative) {
  auto command = to_lower(argv[0]);
  std::uint8_t flags = 0;
  for (std::size_t i = 3; i < argv.size(); ++i) {
    if (equals_ignoring_case(argv[i], "nx")) {
      flags |= shard::expire_flag::only_if_none;
    } else if (equals_ignoring_case(argv[i], "xx")) {
      flags |= shard::expire_flag::only_if_some;
    } else if (equals_ignoring_case(argv[i], "gt")) {
      flags |= shard::expire_flag::only_if_later;
    } else if (equals_ignoring_case(argv[i], "lt")) {
      flags |= shard::expire_flag::only_if_sooner;
    } else {
      std::string msg = "ERR Unsupported option ";
      msg.append(argv[i]);
      reply_error(p, client, msg);
      return;
    }
  }
  using namespace shard::expire_flag;
  if ((flags & only_if_none) && (flags & (only_if_some | only_if_later | only_if_sooner))) {
    reply_error(p, client,
                "ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if ((flags & only_if_later) && (flags & only_if_sooner)) {
    reply_error(p, client, "ERR GT and LT options at the same time are not compatible");
    return;
  }
  std::int64_t deadline = 0;
  if (!to_deadline(p, client, command, argv[2], u, relative, deadline))
    return;
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::expire, argv[1], {}, deadline, flags);
}

void plan_ttl_generic(plan& p, const client_context& client, const args& argv,
                      shard::ttl_unit what) {
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::ttl, argv[1], {}, 0, static_cast<std::uint8_t>(what));
}

void plan_set_with_expire(plan& p, const client_context& client, const args& argv,
                          unit u) {
  std::int64_t amount = 0;
  if (!protocol::parse_int64(argv[2], amount)) {
    reply_error(p, client, not_an_integer);
    return;
  }
  auto command = to_lower(argv[0]);
  if (amount <= 0) {
    reply_error(p, client, invalid_expire(command));
    return;
  }
  std::int64_t deadline = 0;
  if (!to_deadline(p, client, command, argv[2], u, true, deadline))
    return;
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::set, argv[1], argv[3], deadline, 0);
}

} // namespace

// EXPIRE key seconds [NX|XX|GT|LT], and PEXPIRE / EXPIREAT / PEXPIREAT likewise.
// A deadline already past deletes the key (and counts as set), as in Redis.
void plan_expire(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, unit::seconds, true);
}
void plan_pexpire(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, unit::millis, true);
}
void plan_expireat(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, unit::seconds, false);
}
void plan_pexpireat(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, unit::millis, false);
}

// TTL rounds to the nearest second, as Redis does; the others are exact.
void plan_ttl(plan& p, const client_context& c, const args& a) {
  plan_ttl_generic(p, c, a, shard::ttl_unit::seconds_left);
}
void plan_pttl(plan& p, const client_context& c, const args& a) {
  plan_ttl_generic(p, c, a, shard::ttl_unit::millis_left);
}
void plan_expiretime(plan& p, const client_context& c, const args& a) {
  plan_ttl_generic(p, c, a, shard::ttl_unit::unix_seconds);
}
void plan_pexpiretime(plan& p, const client_context& c, const args& a) {
  plan_ttl_generic(p, c, a, shard::ttl_unit::unix_millis);
}

void plan_persist(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::persist, argv[1]);
}

// SETEX key seconds value / PSETEX key milliseconds value: a SET with a deadline;
// a non-positive time is refused before anything is written.
void plan_setex(plan& p, const client_context& c, const args& a) {
  plan_set_with_expire(p, c, a, unit::seconds);
}
void plan_psetex(plan& p, const client_context& c, const args& a) {
  plan_set_with_expire(p, c, a, unit::millis);
}

void plan_getdel(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::get_delete, argv[1]);
}

// GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]
void plan_getex(plan& p, const client_context& client, const args& argv) {
  auto mode = shard::getex_mode::keep;
  std::int64_t deadline = 0;
  if (argv.size() > 2) {
    auto opt = argv[2];
    bool timed = equals_ignoring_case(opt, "ex") || equals_ignoring_case(opt, "px")
                 || equals_ignoring_case(opt, "exat")
                 || equals_ignoring_case(opt, "pxat");
    if (equals_ignoring_case(opt, "persist") && argv.size() == 3) {
      mode = shard::getex_mode::persist;
    } else if (timed && argv.size() == 4) {
      std::int64_t amount = 0;
      if (!protocol::parse_int64(argv[3], amount)) {
        reply_error(p, client, not_an_integer);
        return;
      }
      if (amount <= 0) {
        reply_error(p, client, invalid_expire("getex"));
        return;
      }
      bool seconds = equals_ignoring_case(opt, "ex") || equals_ignoring_case(opt, "exat");
      bool relative = equals_ignoring_case(opt, "ex") || equals_ignoring_case(opt, "px");
      if (!to_deadline(p, client, "getex", argv[3],
                       seconds ? unit::seconds : unit::millis, relative, deadline))
        return;
      mode = shard::getex_mode::set;
    } else {
      reply_error(p, client, "ERR syntax error");
      return;
    }
  }
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::get_expire, argv[1], {}, deadline, static_cast<std::uint8_t>(mode));
}

} // namespace stairkv::commands
