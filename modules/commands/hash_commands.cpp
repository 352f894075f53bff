// Hash commands: one planner per command, named after it. A command's fields
// (and values) travel to the key's shard as one packed list in the
// operation's value (values/packed.hpp); everything that can be checked
// without the stored hash is checked here.

#include <string>

#include "modules/commands/options.hpp"
#include "modules/commands/planners.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::commands {

namespace {

using shard::hash_args;
using shard::hash_mode;
using shard::op_code;

hash_args with_resp(const client_context& client, hash_mode mode = hash_mode::all) {
  return hash_args{mode, static_cast<std::uint8_t>(client.resp_version)};
}

void plan_set_fields(plan& p, const client_context& client, const args& argv,
                     hash_mode mode, std::string_view name) {
  if (argv.size() % 2 != 0) {
    reply_error(p, client, protocol::errors::wrong_arity(name));
    return;
  }
  route_single(p, client, op_code::hset, argv[1], pack_arguments(argv, 2), hash_args{mode});
}

void plan_fields_view(plan& p, const client_context& client, const args& argv,
                      hash_mode mode) {
  route_single(p, client, op_code::hgetall, argv[1], {}, with_resp(client, mode));
}

} // namespace

// HSET key field value [field value ...]: how many fields are new.
void plan_hset(plan& p, const client_context& client, const args& argv) {
  plan_set_fields(p, client, argv, hash_mode::count_added, "hset");
}

// HMSET key field value [field value ...]: +OK.
void plan_hmset(plan& p, const client_context& client, const args& argv) {
  plan_set_fields(p, client, argv, hash_mode::ok, "hmset");
}

// HSETNX key field value: :1 when the field was missing and is set now.
void plan_hsetnx(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hset, argv[1], pack_arguments(argv, 2),
               hash_args{hash_mode::if_absent});
}

void plan_hget(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hget, argv[1], argv[2]);
}

void plan_hmget(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hmget, argv[1], pack_arguments(argv, 2), with_resp(client));
}

void plan_hdel(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hdel, argv[1], pack_arguments(argv, 2));
}

void plan_hlen(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hlen, argv[1]);
}

void plan_hstrlen(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hstrlen, argv[1], argv[2]);
}

void plan_hexists(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hexists, argv[1], argv[2]);
}

void plan_hgetall(plan& p, const client_context& client, const args& argv) {
  plan_fields_view(p, client, argv, hash_mode::all);
}

void plan_hkeys(plan& p, const client_context& client, const args& argv) {
  plan_fields_view(p, client, argv, hash_mode::fields);
}

void plan_hvals(plan& p, const client_context& client, const args& argv) {
  plan_fields_view(p, client, argv, hash_mode::values);
}

// HINCRBY key field increment: the increment must be a 64-bit integer.
void plan_hincrby(plan& p, const client_context& client, const args& argv) {
  std::int64_t delta = 0;
  if (!protocol::parse_int64(argv[3], delta)) {
    reply_error(p, client, protocol::errors::not_an_integer);
    return;
  }
  route_single(p, client, op_code::hincrby, argv[1], argv[2], shard::incr_args{delta});
}

// HINCRBYFLOAT key field increment (checked by the shard, with the stored
// value, as INCRBYFLOAT's).
void plan_hincrbyfloat(plan& p, const client_context& client, const args& argv) {
  route_single(p, client, op_code::hincrbyfloat, argv[1], pack_arguments(argv, 2));
}

// HRANDFIELD key [count [WITHVALUES]].
void plan_hrandfield(plan& p, const client_context& client, const args& argv) {
  shard::random_args random;
  random.resp = static_cast<std::uint8_t>(client.resp_version);
  if (auto error = read_draw_count(argv, "withvalues", random); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::hrandfield, argv[1], {}, random);
}

// HSCAN key cursor [MATCH pattern] [COUNT count].
void plan_hscan(plan& p, const client_context& client, const args& argv) {
  shard::field_scan_args scan;
  std::string_view pattern;
  if (auto error = read_field_scan(argv, scan, pattern); !error.empty()) {
    reply_error(p, client, error);
    return;
  }
  route_single(p, client, op_code::hscan, argv[1], pattern, scan);
}

} // namespace stairkv::commands
