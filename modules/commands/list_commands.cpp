// List commands on one key: one planner per command, named after it. Elements
// travel to the key's shard packed in the operation's value (values/packed.hpp);
// everything that can be checked without the stored list is checked here. The
// commands over two lists or several keys (LMOVE, RPOPLPUSH, LMPOP) and the
// blocking pops run at the gateway: gateway/blocking_commands.cpp.

#include <limits>
#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::commands {

namespace {

using shard::list_args;
using shard::list_end;
using shard::op_code;

constexpr std::string_view must_be_positive = "ERR value is out of range, must be positive";

void plan_push(plan& p, const client_context& client, const args& argv, list_end end,
               bool only_if_exists) {
  list_args push;
  push.end = end;
  push.only_if_exists = only_if_exists;
  route_single(p, client, op_code::lpush, argv[1], pack_arguments(argv, 2), push);
}

// LPOP and RPOP: key [count].
void plan_pop(plan& p, const client_context& client, const args& argv, list_end end,
              std::string_view name) {
  list_args pop;
  pop.end = end;
  pop.resp = static_cast<std::uint8_t>(client.resp_version);
  if (argv.size() > 3) {
    reply_error(p, client, protocol::errors::wrong_arity(name));
    return;
  }
  if (argv.size() == 3) {
    if (!protocol::parse_int64(argv[2], pop.count) || pop.count < 0) {
      reply_error(p, client, must_be_positive);
      return;
    }
    pop.counted = true;
  }
  route_single(p, client, op_code::lpop, argv[1], {}, pop);
}

bool read_index(plan& p, const client_context& client, std::string_view text,
                std::int64_t& out) {
  if (protocol::parse_int64(text, out))
    return true;
  reply_error(p, client, protocol::errors::not_an_integer);
  return false;
}

} // namespace

void plan_lpush(plan& p, const client_context& client, const args& argv) {
  plan_push(p, client, argv, list_end::left, false);
}

void plan_rpush(plan& p, const client_context& client, const args& argv) {
  plan_push(p, client, argv, list_end::right, false);
}

void plan_lpushx(plan& p, const client_context& client, const args& argv) {
  plan_push(p, client, argv, list_end::left, true);
}

void plan_rpushx(plan& p, const client_context& client, const args& argv) {
  plan_push(p, client, argv, list_end::right, true);
}

void plan_lpop(plan& p, const client_context& client, const args& argv) {
  plan_pop(p, client, argv, list_end::left, "lpop");
}

void plan_rpop(plan& p, const client_context& client, const args& argv) {
  plan_pop(p, client, argv, list_end::right, "rpop");
}

void plan_llen(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::llen, argv[1]);
}

// LRANGE key start stop, and LTRIM's range: integers, negative from the end.
void plan_lrange(plan& p, const client_context& client, const args& argv) {
  shard::range_args range;
  if (read_index(p, client, argv[2], range.start) && read_index(p, client, argv[3], range.end))
    route_single(p, client, op_code::lrange, argv[1], {}, range);
}

void plan_ltrim(plan& p, const client_context& client, const args& argv) {
  shard::range_args range;
  if (read_index(p, client, argv[2], range.start) && read_index(p, client, argv[3], range.end))
    route_single(p, client, op_code::ltrim, argv[1], {}, range);
}

void plan_lindex(plan& p, const client_context& client, const args& argv) {
  shard::offset_args index;
  if (read_index(p, client, argv[2], index.offset))
    route_single(p, client, op_code::lindex, argv[1], {}, index);
}

void plan_lset(plan& p, const client_context& client, const args& argv) {
  shard::offset_args index;
  if (read_index(p, client, argv[2], index.offset))
    route_single(p, client, op_code::lset, argv[1], argv[3], index);
}

// LINSERT key BEFORE|AFTER pivot element.
void plan_linsert(plan& p, const client_context& client, const args& argv) {
  list_args where;
  if (equals_ignoring_case(argv[2], "before")) {
    where.end = list_end::left;
  } else if (equals_ignoring_case(argv[2], "after")) {
    where.end = list_end::right;
  } else {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  route_single(p, client, op_code::linsert, argv[1], pack_arguments(argv, 3), where);
}

// LREM key count element.
void plan_lrem(plan& p, const client_context& client, const args& argv) {
  list_args remove;
  if (read_index(p, client, argv[2], remove.count))
    route_single(p, client, op_code::lrem, argv[1], argv[3], remove);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
void plan_lpos(plan& p, const client_context& client, const args& argv) {
  shard::lpos_args pos;
  pos.resp = static_cast<std::uint8_t>(client.resp_version);
  for (std::size_t i = 3; i < argv.size(); ++i) {
    bool more = i + 1 < argv.size();
    if (more && equals_ignoring_case(argv[i], "rank")) {
      if (!read_index(p, client, argv[++i], pos.rank))
        return;
      if (pos.rank == 0) {
        reply_error(p, client,
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                    "second ... or use negative to start from the end of the list");
        return;
      }
      if (pos.rank == std::numeric_limits<std::int64_t>::min()) {
        reply_error(p, client, protocol::errors::not_an_integer);
        return;
      }
    } else if (more && equals_ignoring_case(argv[i], "count")) {
      if (!protocol::parse_int64(argv[++i], pos.count) || pos.count < 0) {
        reply_error(p, client, "ERR COUNT can't be negative");
        return;
      }
      pos.counted = true;
    } else if (more && equals_ignoring_case(argv[i], "maxlen")) {
      if (!protocol::parse_int64(argv[++i], pos.maxlen) || pos.maxlen < 0) {
        reply_error(p, client, "ERR MAXLEN can't be negative");
        return;
      }
    } else {
      reply_error(p, client, protocol::errors::syntax);
      return;
    }
  }
  route_single(p, client, op_code::lpos, argv[1], argv[2], pos);
}

} // namespace stairkv::commands
