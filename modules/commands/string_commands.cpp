// String commands (the generic key commands are key_commands.cpp): one planner per command, named after it. Everything that can be
// checked without the stored value is checked here, so a shard only ever sees
// well-formed operations.

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/limits.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::commands {

namespace {

using protocol::errors::not_an_integer;
using shard::op_code;

void plan_incr_by(plan& p, const client_context& client, std::string_view key,
                  std::int64_t delta) {
  route_single(p, client, op_code::incr_by, key, {}, shard::incr_args{delta});
}

} // namespace

void route_single(plan& p, const client_context& client, op_code code,
                  std::string_view key, std::string_view value, shard::op_args args) {
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, code, key, value, args);
}

void reply_error(plan& p, const client_context& client, std::string_view msg) {
  auto begin = p.local_bytes().size();
  auto& rec = p.open(client, plan::merge::local);
  protocol::reply_writer{p.local_bytes(), client.resp_version}.error(msg);
  p.close_local(rec, begin);
}

// GET key: the value, or null when the key is missing or past its deadline.
void plan_get(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::get, argv[1]);
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
// Options are parsed first, as Redis does, so a syntax error wins over a bad
// expire value; the expire time becomes an absolute deadline here, once, so that
// the shard never needs to know when the command arrived.
void plan_set(plan& p, const client_context& client, const args& argv) {
  std::uint8_t flags = 0;
  auto unit = expiry_unit::none;
  std::string_view amount;
  for (std::size_t i = 3; i < argv.size(); ++i) {
    auto opt = argv[i];
    bool has_next = i + 1 < argv.size();
    auto timed = unit != expiry_unit::none || (flags & shard::set_flag::keep_ttl);
    auto option_unit = expiry_option(opt);
    if (equals_ignoring_case(opt, "nx")
        && !(flags & shard::set_flag::only_if_present)) {
      flags |= shard::set_flag::only_if_absent;
    } else if (equals_ignoring_case(opt, "xx")
               && !(flags & shard::set_flag::only_if_absent)) {
      flags |= shard::set_flag::only_if_present;
    } else if (equals_ignoring_case(opt, "get")) {
      flags |= shard::set_flag::return_old;
    } else if (equals_ignoring_case(opt, "keepttl") && !timed) {
      flags |= shard::set_flag::keep_ttl;
    } else if (option_unit != expiry_unit::none && has_next && !timed) {
      unit = option_unit;
      amount = argv[++i];
    } else {
      reply_error(p, client, protocol::errors::syntax);
      return;
    }
  }
  shard::deadline_ms deadline = shard::no_deadline;
  if (unit != expiry_unit::none) {
    auto error = to_deadline(amount, unit, amount_rule::positive, p.now(), "set", deadline);
    if (!error.empty()) {
      reply_error(p, client, error);
      return;
    }
  }
  route_single(p, client, op_code::set, argv[1], argv[2], shard::set_args{deadline, flags});
}

// MGET key [key ...]: one GET per key, each to its own shard, gathered as one array.
void plan_mget(plan& p, const client_context& client, const args& argv) {
  auto& rec = p.open(client, plan::merge::array);
  for (std::size_t i = 1; i < argv.size(); ++i)
    p.route(rec, op_code::mget_one, argv[i]);
}

// MSET key value [key value ...]: every pair goes to its shard; each shard applies
// its pairs in order, so a key named twice ends with its last value.
void plan_mset(plan& p, const client_context& client, const args& argv) {
  if (argv.size() % 2 == 0) {
    reply_error(p, client, protocol::errors::wrong_arity("mset"));
    return;
  }
  auto& rec = p.open(client, plan::merge::all_ok);
  for (std::size_t i = 1; i + 1 < argv.size(); i += 2)
    p.route(rec, op_code::set, argv[i], argv[i + 1]);
}

void plan_incr(plan& p, const client_context& client, const args& argv) {
  plan_incr_by(p, client, argv[1], 1);
}

void plan_decr(plan& p, const client_context& client, const args& argv) {
  plan_incr_by(p, client, argv[1], -1);
}

void plan_incrby(plan& p, const client_context& client, const args& argv) {
  std::int64_t delta = 0;
  if (!protocol::parse_int64(argv[2], delta)) {
    reply_error(p, client, not_an_integer);
    return;
  }
  plan_incr_by(p, client, argv[1], delta);
}

// DECRBY cannot negate INT64_MIN; Redis refuses it before touching the key.
void plan_decrby(plan& p, const client_context& client, const args& argv) {
  std::int64_t delta = 0;
  if (!protocol::parse_int64(argv[2], delta)) {
    reply_error(p, client, not_an_integer);
    return;
  }
  if (delta == std::numeric_limits<std::int64_t>::min()) {
    reply_error(p, client, protocol::errors::decrement_overflow);
    return;
  }
  plan_incr_by(p, client, argv[1], -delta);
}

void plan_append(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::append, argv[1], argv[2]);
}

void plan_strlen(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::strlen, argv[1]);
}

// SETNX key value: SET NX answering :1 or :0.
void plan_setnx(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::set, argv[1], argv[2],
               shard::set_args{shard::no_deadline, shard::set_flag::only_if_absent
                                                     | shard::set_flag::reply_count});
}

// GETSET key value: SET GET (the deadline goes, as with SET).
void plan_getset(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::set, argv[1], argv[2],
               shard::set_args{shard::no_deadline, shard::set_flag::return_old});
}

// GETRANGE key start end
void plan_getrange(plan& p, const client_context& client, const args& argv) {
  std::int64_t start = 0;
  std::int64_t end = 0;
  if (!protocol::parse_int64(argv[2], start) || !protocol::parse_int64(argv[3], end)) {
    reply_error(p, client, not_an_integer);
    return;
  }
  auto& rec = p.open(client, plan::merge::single);
  p.route(rec, op_code::get_range, argv[1], {}, shard::range_args{start, end});
}

// SETRANGE key offset value
void plan_setrange(plan& p, const client_context& client, const args& argv) {
  std::int64_t offset = 0;
  if (!protocol::parse_int64(argv[2], offset)) {
    reply_error(p, client, not_an_integer);
    return;
  }
  if (offset < 0) {
    reply_error(p, client, "ERR offset is out of range");
    return;
  }
  route_single(p, client, op_code::set_range, argv[1], argv[3], shard::offset_args{offset});
}

// INCRBYFLOAT key increment: the increment is checked here, the stored value by
// the shard.
void plan_incrbyfloat(plan& p, const client_context& client, const args& argv) {
  long double delta = 0;
  if (!protocol::parse_long_double(argv[2], delta)) {
    reply_error(p, client, protocol::errors::not_a_float);
    return;
  }
  route_single(p, client, op_code::incr_by_float, argv[1], argv[2]);
}

} // namespace stairkv::commands
