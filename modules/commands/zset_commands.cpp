// Sorted-set commands on one key: one planner per command, named after it.
// Everything that can be checked without the stored set is checked here, with
// Redis's messages: scores and bounds are parsed once here and travel to the
// key's shard in the operation's value (ZADD's scores as 8-byte items, bounds
// as their text, values/sorted_set.hpp). The commands over several keys
// (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, ZRANGESTORE, ZMPOP)
// and the blocking pops run at the gateway: gateway/zset_steps.cpp and
// gateway/blocking_commands.cpp.

#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/zset_range.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/values/packed.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;
using shard::zrange_by;
using shard::zset_args;
namespace zflag = shard::zset_flag;

constexpr std::string_view not_a_float = "ERR value is not a valid float";
constexpr std::string_view bad_score_bound = "ERR min or max is not a float";
constexpr std::string_view bad_lex_bound = "ERR min or max not valid string range item";

zset_args with_protocol(const client_context& client) {
  zset_args args;
  args.resp = static_cast<std::uint8_t>(client.resp_version);
  return args;
}

// Checks min and max as bounds of their kind and packs them for the shard
// (min first); false with Redis's error otherwise.
bool bounds_of(zrange_by by, std::string_view min, std::string_view max, std::string& packed,
               std::string& error) {
  if (by == zrange_by::score) {
    values::score_bound a{0}, b{0};
    if (!values::parse_score_bound(min, a) || !values::parse_score_bound(max, b)) {
      error = bad_score_bound;
      return false;
    }
  } else {
    values::lex_bound a, b;
    if (!values::parse_lex_bound(min, a) || !values::parse_lex_bound(max, b)) {
      error = bad_lex_bound;
      return false;
    }
  }
  packed.clear();
  values::append_item(packed, min);
  values::append_item(packed, max);
  return true;
}

// The bounds min and max, checked for their kind, packed for the shard.
bool pack_bounds(plan& p, const client_context& client, zrange_by by, std::string_view min,
                 std::string_view max, std::string& packed) {
  std::string error;
  if (bounds_of(by, min, max, packed, error))
    return true;
  reply_error(p, client, error);
  return false;
}

bool read_integer(plan& p, const client_context& client, std::string_view text,
                  std::int64_t& out) {
  if (protocol::parse_int64(text, out))
    return true;
  reply_error(p, client, protocol::errors::not_an_integer);
  return false;
}

void plan_zadd_flags(plan& p, const client_context& client, const args& argv,
                     std::uint8_t flags) {
  std::size_t at = 2;
  for (; at < argv.size(); ++at) {
    auto word = argv[at];
    if (equals_ignoring_case(word, "nx"))
      flags |= zflag::only_new;
    else if (equals_ignoring_case(word, "xx"))
      flags |= zflag::only_existing;
    else if (equals_ignoring_case(word, "gt"))
      flags |= zflag::only_greater;
    else if (equals_ignoring_case(word, "lt"))
      flags |= zflag::only_less;
    else if (equals_ignoring_case(word, "ch"))
      flags |= zflag::count_changed;
    else if (equals_ignoring_case(word, "incr"))
      flags |= zflag::increment;
    else
      break;
  }
  auto elements = argv.size() - at;
  if (elements == 0 || elements % 2 != 0) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  if ((flags & zflag::only_new) && (flags & zflag::only_existing)) {
    reply_error(p, client, "ERR XX and NX options at the same time are not compatible");
    return;
  }
  int exclusive = ((flags & zflag::only_new) ? 1 : 0) + ((flags & zflag::only_greater) ? 1 : 0)
                  + ((flags & zflag::only_less) ? 1 : 0);
  if (exclusive > 1) {
    reply_error(p, client, "ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if ((flags & zflag::increment) && elements > 2) {
    reply_error(p, client, "ERR INCR option supports a single increment-element pair");
    return;
  }
  thread_local std::string pairs;
  pairs.clear();
  for (auto i = at; i < argv.size(); i += 2) {
    double score = 0;
    if (!values::parse_score(argv[i], score)) {
      reply_error(p, client, not_a_float);
      return;
    }
    values::append_item(pairs, argv[i + 1]);
    values::append_score(pairs, score);
  }
  auto args = with_protocol(client);
  args.flags = flags;
  route_single(p, client, op_code::zadd, argv[1], pairs, args);
}

void plan_remrange(plan& p, const client_context& client, const args& argv, zrange_by by) {
  auto args = with_protocol(client);
  args.by = by;
  if (by == zrange_by::rank) {
    if (read_integer(p, client, argv[2], args.start)
        && read_integer(p, client, argv[3], args.stop))
      route_single(p, client, op_code::zremrange, argv[1], {}, args);
    return;
  }
  thread_local std::string bounds;
  if (pack_bounds(p, client, by, argv[2], argv[3], bounds))
    route_single(p, client, op_code::zremrange, argv[1], bounds, args);
}

void plan_pop(plan& p, const client_context& client, const args& argv, bool highest) {
  auto args = with_protocol(client);
  if (highest)
    args.flags |= zflag::reverse;
  if (argv.size() > 3) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  if (argv.size() == 3) {
    if (!read_integer(p, client, argv[2], args.start))
      return;
    if (args.start < 0) {
      reply_error(p, client, "ERR value is out of range, must be positive");
      return;
    }
    args.counted = true;
  }
  route_single(p, client, op_code::zpop, argv[1], {}, args);
}

void plan_rank(plan& p, const client_context& client, const args& argv, bool reverse) {
  auto args = with_protocol(client);
  if (reverse)
    args.flags |= zflag::reverse;
  if (argv.size() > 4 || (argv.size() == 4 && !equals_ignoring_case(argv[3], "withscore"))) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  if (argv.size() == 4)
    args.flags |= zflag::with_scores;
  route_single(p, client, op_code::zrank, argv[1], argv[2], args);
}

} // namespace

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
void plan_zadd(plan& p, const client_context& client, const args& argv) {
  plan_zadd_flags(p, client, argv, 0);
}

// ZINCRBY key increment member: ZADD INCR, whose reply is the new score.
void plan_zincrby(plan& p, const client_context& client, const args& argv) {
  double by = 0;
  if (!values::parse_score(argv[2], by)) {
    reply_error(p, client, not_a_float);
    return;
  }
  thread_local std::string pair;
  pair.clear();
  values::append_item(pair, argv[3]);
  values::append_score(pair, by);
  auto args = with_protocol(client);
  args.flags = zflag::increment;
  route_single(p, client, op_code::zadd, argv[1], pair, args);
}

void plan_zrem(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::zrem, argv[1], pack_arguments(argv, 2));
}

void plan_zcard(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::zcard, argv[1]);
}

void plan_zscore(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::zscore, argv[1], argv[2], with_protocol(client));
}

void plan_zmscore(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::zmscore, argv[1], pack_arguments(argv, 2),
               with_protocol(client));
}

void plan_zrank(plan& p, const client_context& client, const args& argv) {
  plan_rank(p, client, argv, false);
}

void plan_zrevrank(plan& p, const client_context& client, const args& argv) {
  plan_rank(p, client, argv, true);
}

void plan_zcount(plan& p, const client_context& client, const args& argv) {
  thread_local std::string bounds;
  auto args = with_protocol(client);
  args.by = zrange_by::score;
  if (pack_bounds(p, client, args.by, argv[2], argv[3], bounds))
    route_single(p, client, op_code::zcount, argv[1], bounds, args);
}

void plan_zlexcount(plan& p, const client_context& client, const args& argv) {
  thread_local std::string bounds;
  auto args = with_protocol(client);
  args.by = zrange_by::lex;
  if (pack_bounds(p, client, args.by, argv[2], argv[3], bounds))
    route_single(p, client, op_code::zcount, argv[1], bounds, args);
}

void plan_range(plan& p, const client_context& client, const args& argv, zrange_form form) {
  thread_local std::string bounds;
  auto range = with_protocol(client);
  if (auto error = read_zrange(argv, 1, form, range, bounds); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::zrange, argv[1],
               range.by == zrange_by::rank ? std::string_view{} : std::string_view{bounds},
               range);
}

// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
void plan_zrange(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::general);
}

// ZREVRANGE key start stop [WITHSCORES]
void plan_zrevrange(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::rev_rank);
}

// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
void plan_zrangebyscore(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::by_score);
}

// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
void plan_zrevrangebyscore(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::rev_by_score);
}

// ZRANGEBYLEX key min max [LIMIT offset count]
void plan_zrangebylex(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::by_lex);
}

// ZREVRANGEBYLEX key max min [LIMIT offset count]
void plan_zrevrangebylex(plan& p, const client_context& client, const args& argv) {
  plan_range(p, client, argv, zrange_form::rev_by_lex);
}

void plan_zremrangebyrank(plan& p, const client_context& client, const args& argv) {
  plan_remrange(p, client, argv, zrange_by::rank);
}

void plan_zremrangebyscore(plan& p, const client_context& client, const args& argv) {
  plan_remrange(p, client, argv, zrange_by::score);
}

void plan_zremrangebylex(plan& p, const client_context& client, const args& argv) {
  plan_remrange(p, client, argv, zrange_by::lex);
}

void plan_zpopmin(plan& p, const client_context& client, const args& argv) {
  plan_pop(p, client, argv, false);
}

void plan_zpopmax(plan& p, const client_context& client, const args& argv) {
  plan_pop(p, client, argv, true);
}

// ZRANDMEMBER key [count [WITHSCORES]]
void plan_zrandmember(plan& p, const client_context& client, const args& argv) {
  shard::random_args random;
  random.resp = static_cast<std::uint8_t>(client.resp_version);
  if (auto error = read_draw_count(argv, "withscores", random); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::zrandmember, argv[1], {}, random);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]
void plan_zscan(plan& p, const client_context& client, const args& argv) {
  shard::field_scan_args scan;
  std::string_view pattern;
  if (auto error = read_field_scan(argv, scan, pattern); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::zscan, argv[1], pattern, scan);
}

std::string read_zrange(const std::vector<std::string_view>& argv, std::size_t key_at,
                        zrange_form form, zset_args& out, std::string& bounds) {
  bool general = form == zrange_form::general;
  bool scores_allowed = form != zrange_form::by_lex && form != zrange_form::rev_by_lex;
  bool limit_allowed = form != zrange_form::rev_rank;
  bool reverse = form == zrange_form::rev_rank || form == zrange_form::rev_by_score
                 || form == zrange_form::rev_by_lex;
  auto by = form == zrange_form::by_score || form == zrange_form::rev_by_score ? zrange_by::score
            : form == zrange_form::by_lex || form == zrange_form::rev_by_lex ? zrange_by::lex
                                                                              : zrange_by::rank;
  bool with_scores = false, limited = false;
  std::int64_t offset = 0, count = -1;
  for (std::size_t i = key_at + 3; i < argv.size(); ++i) {
    auto word = argv[i];
    if (scores_allowed && equals_ignoring_case(word, "withscores")) {
      with_scores = true;
    } else if (limit_allowed && equals_ignoring_case(word, "limit") && i + 2 < argv.size()) {
      if (!protocol::parse_int64(argv[i + 1], offset) || !protocol::parse_int64(argv[i + 2], count))
        return std::string{protocol::errors::not_an_integer};
      limited = true;
      i += 2;
    } else if (general && equals_ignoring_case(word, "byscore")) {
      by = zrange_by::score;
    } else if (general && equals_ignoring_case(word, "bylex")) {
      by = zrange_by::lex;
    } else if (general && equals_ignoring_case(word, "rev")) {
      reverse = true;
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  if (general && limited && by == zrange_by::rank)
    return "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
           "BYLEX";
  if (general && with_scores && by == zrange_by::lex)
    return "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
  out.by = by;
  if (reverse)
    out.flags |= zflag::reverse;
  if (with_scores)
    out.flags |= zflag::with_scores;
  auto first = argv[key_at + 1], second = argv[key_at + 2];
  if (by == zrange_by::rank) {
    if (!protocol::parse_int64(first, out.start) || !protocol::parse_int64(second, out.stop))
      return std::string{protocol::errors::not_an_integer};
    return {};
  }
  // REV by score or lex takes max first; the shard wants min first.
  std::string error;
  if (!bounds_of(by, reverse ? second : first, reverse ? first : second, bounds, error))
    return error;
  out.start = offset;
  out.stop = count;
  return {};
}

} // namespace stairkv::commands
