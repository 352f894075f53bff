// Set commands on one key: one planner per command, named after it. Members
// travel to the key's shard packed in the operation's value
// (values/packed.hpp). The commands over several sets (SINTER, SUNION, SDIFF,
// their STORE forms, SINTERCARD, SMOVE) read before they write, across
// shards: gateway/set_steps.cpp.

#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::commands {

namespace {

using shard::op_code;

} // namespace

void plan_sadd(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::sadd, argv[1], pack_arguments(argv, 2));
}

void plan_srem(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::srem, argv[1], pack_arguments(argv, 2));
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
  route_single(p, client, op_code::smismember, argv[1], pack_arguments(argv, 2));
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
  if (auto error = read_draw_count(argv, {}, random); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::srandmember, argv[1], {}, random);
}

// SSCAN key cursor [MATCH pattern] [COUNT count].
void plan_sscan(plan& p, const client_context& client, const args& argv) {
  shard::field_scan_args scan;
  std::string_view pattern;
  if (auto error = read_field_scan(argv, scan, pattern); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::sscan, argv[1], pattern, scan);
}

} // namespace stairkv::commands
