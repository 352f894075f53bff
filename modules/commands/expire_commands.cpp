// Commands on deadlines: EXPIRE and its three siblings, TTL and its three, PERSIST,
// and the string commands that set or take a deadline on the way (SETEX, PSETEX,
// GETEX, GETDEL). Deadlines are absolute Unix milliseconds, computed here once.

#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;

// Plans nothing and replies `error` unless it is empty.
bool failed(plan& p, const client_context& client, const std::string& error) {
  if (error.empty())
    return false;
  reply_error(p, client, error);
  return true;
}

void plan_expire_generic(plan& p, const client_context& client, const args& argv,
                         expiry_unit unit) {
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
  if (failed(p, client,
             to_deadline(argv[2], unit, amount_rule::any, p.now(), command, deadline)))
    return;
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::expire, argv[1], {}, shard::expire_args{deadline, flags});
}

void plan_ttl_generic(plan& p, const client_context& client, const args& argv,
                      shard::ttl_unit what) {
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::ttl, argv[1], {}, shard::ttl_args{what});
}

void plan_set_with_expire(plan& p, const client_context& client, const args& argv,
                          expiry_unit unit) {
  std::int64_t deadline = 0;
  if (failed(p, client, to_deadline(argv[2], unit, amount_rule::positive, p.now(),
                                    to_lower(argv[0]), deadline)))
    return;
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::set, argv[1], argv[3], shard::set_args{deadline, 0});
}

} // namespace

// EXPIRE key seconds [NX|XX|GT|LT], and PEXPIRE / EXPIREAT / PEXPIREAT likewise.
// A deadline already past deletes the key (and counts as set), as in Redis.
void plan_expire(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, expiry_unit::seconds);
}
void plan_pexpire(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, expiry_unit::millis);
}
void plan_expireat(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, expiry_unit::unix_seconds);
}
void plan_pexpireat(plan& p, const client_context& c, const args& a) {
  plan_expire_generic(p, c, a, expiry_unit::unix_millis);
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
  plan_set_with_expire(p, c, a, expiry_unit::seconds);
}
void plan_psetex(plan& p, const client_context& c, const args& a) {
  plan_set_with_expire(p, c, a, expiry_unit::millis);
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
    auto unit = expiry_option(opt);
    if (equals_ignoring_case(opt, "persist") && argv.size() == 3) {
      mode = shard::getex_mode::persist;
    } else if (unit != expiry_unit::none && argv.size() == 4) {
      if (failed(p, client, to_deadline(argv[3], unit, amount_rule::positive, p.now(),
                                        "getex", deadline)))
        return;
      mode = shard::getex_mode::set;
    } else {
      reply_error(p, client, protocol::errors::syntax);
      return;
    }
  }
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::get_expire, argv[1], {}, shard::getex_args{mode, deadline});
}

} // namespace stairkv::commands
