// Set commands on one key: one planner per command, named after it. Members
// travel to the key's shard packed in the operation's value
// (values/packed.hpp). The commands over several sets (SINTER, SUNION, SDIFF,
// their STORE forms, SINTERCARD, SMOVE) read before they write, across
// shards: gateway/set_steps.cpp.

#include <limits>
#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;

std::string_view pack(const args& argv, std::size_t from) {
  thread_local std::string packed;
  packed.clear();
  for (std::size_t i = from; i < argv.size(); ++i)
    values::append_item(packed, argv[i]);
  return packed;
}

} // namespace

void plan_sadd(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::sadd, argv[1], pack(argv, 2));
}

void plan_srem(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::srem, argv[1], pack(argv, 2));
}

void plan_smembers(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::smembers, argv[1], {},
               shard::hash_args{shard::hash_mode::all,
                                static_cast<std::uint8_t>(client.resp_version)});
}

void plan_sismember(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::sismember, argv[1], argv[2]);
}

void plan_smismember(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::smismember, argv[1], pack(argv, 2));
}

void plan_scard(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::scard, argv[1]);
}

// SPOP key [count]: the count must be a non-negative integer.
void plan_spop(plan& p, const client_context& client, const args& argv) {
  shard::random_args random;
  random.resp = static_cast<std::uint8_t>(client.resp_version);
  if (argv.size() > 3) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  if (argv.size() == 3) {
    if (!protocol::parse_int64(argv[2], random.count) || random.count < 0) {
      reply_error(p, client, "ERR value is out of range, must be positive");
      return;
    }
    random.counted = true;
  }
  route_single(p, client, op_code::spop, argv[1], {}, random);
}

// SRANDMEMBER key [count].
void plan_srandmember(plan& p, const client_context& client, const args& argv) {
  shard::random_args random;
  random.resp = static_cast<std::uint8_t>(client.resp_version);
  if (argv.size() > 3) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  if (argv.size() == 3) {
    if (!protocol::parse_int64(argv[2], random.count)) {
      reply_error(p, client, protocol::errors::not_an_integer);
      return;
    }
    constexpr auto most = std::numeric_limits<std::int64_t>::max();
    if (random.count < -most) {
      reply_error(p, client, "ERR value is out of range");
      return;
    }
    // More draws than this are refused rather than built for one client.
    if (random.count < -100'000'000) {
      reply_error(p, client, "ERR count is too large (at most 100000000 draws)");
      return;
    }
    random.counted = true;
  }
  route_single(p, client, op_code::srandmember, argv[1], {}, random);
}

// SSCAN key cursor [MATCH pattern] [COUNT count].
void plan_sscan(plan& p, const client_context& client, const args& argv) {
  scan_options options;
  if (auto error = read_scan_options(argv, 2, options); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  if (options.typed) {
    reply_error(p, client, protocol::errors::syntax);
    return;
  }
  route_single(p, client, op_code::sscan, argv[1], options.pattern,
               shard::field_scan_args{options.cursor, options.count});
}

} // namespace stairkv::commands
