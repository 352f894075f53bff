#pragma once

// The planner of each command: validates its arguments as Redis does and either
// records an immediate reply or routes its key operations to their shards.
// Internal to the commands package.

#include <string_view>
#include <vector>

#include "modules/commands/plan.hpp"

namespace stairkv::commands {

using args = std::vector<std::string_view>;

void reply_error(plan& p, const client_context& client, std::string_view msg);

// A command on one key whose reply is that key's shard reply.
void route_single(plan& p, const client_context& client, shard::op_code code,
                  std::string_view key, std::string_view value = {},
                  shard::op_args args = shard::no_args{});

// string commands (string_commands.cpp)
void plan_get(plan&, const client_context&, const args&);
void plan_set(plan&, const client_context&, const args&);
void plan_mget(plan&, const client_context&, const args&);
void plan_mset(plan&, const client_context&, const args&);
void plan_incr(plan&, const client_context&, const args&);
void plan_decr(plan&, const client_context&, const args&);
void plan_incrby(plan&, const client_context&, const args&);
void plan_decrby(plan&, const client_context&, const args&);
void plan_append(plan&, const client_context&, const args&);
void plan_strlen(plan&, const client_context&, const args&);
void plan_setnx(plan&, const client_context&, const args&);
void plan_getset(plan&, const client_context&, const args&);
void plan_getrange(plan&, const client_context&, const args&);
void plan_setrange(plan&, const client_context&, const args&);
void plan_incrbyfloat(plan&, const client_context&, const args&);

// hash commands (hash_commands.cpp)
void plan_hset(plan&, const client_context&, const args&);
void plan_hmset(plan&, const client_context&, const args&);
void plan_hsetnx(plan&, const client_context&, const args&);
void plan_hget(plan&, const client_context&, const args&);
void plan_hmget(plan&, const client_context&, const args&);
void plan_hdel(plan&, const client_context&, const args&);
void plan_hlen(plan&, const client_context&, const args&);
void plan_hstrlen(plan&, const client_context&, const args&);
void plan_hexists(plan&, const client_context&, const args&);
void plan_hgetall(plan&, const client_context&, const args&);
void plan_hkeys(plan&, const client_context&, const args&);
void plan_hvals(plan&, const client_context&, const args&);
void plan_hincrby(plan&, const client_context&, const args&);
void plan_hincrbyfloat(plan&, const client_context&, const args&);
void plan_hrandfield(plan&, const client_context&, const args&);
void plan_hscan(plan&, const client_context&, const args&);

// set commands on one key (set_commands.cpp)
void plan_sadd(plan&, const client_context&, const args&);
void plan_srem(plan&, const client_context&, const args&);
void plan_smembers(plan&, const client_context&, const args&);
void plan_sismember(plan&, const client_context&, const args&);
void plan_smismember(plan&, const client_context&, const args&);
void plan_scard(plan&, const client_context&, const args&);
void plan_spop(plan&, const client_context&, const args&);
void plan_srandmember(plan&, const client_context&, const args&);
void plan_sscan(plan&, const client_context&, const args&);

// list commands on one key (list_commands.cpp)
void plan_lpush(plan&, const client_context&, const args&);
void plan_rpush(plan&, const client_context&, const args&);
void plan_lpushx(plan&, const client_context&, const args&);
void plan_rpushx(plan&, const client_context&, const args&);
void plan_lpop(plan&, const client_context&, const args&);
void plan_rpop(plan&, const client_context&, const args&);
void plan_llen(plan&, const client_context&, const args&);
void plan_lrange(plan&, const client_context&, const args&);
void plan_lindex(plan&, const client_context&, const args&);
void plan_lset(plan&, const client_context&, const args&);
void plan_linsert(plan&, const client_context&, const args&);
void plan_lrem(plan&, const client_context&, const args&);
void plan_ltrim(plan&, const client_context&, const args&);
void plan_lpos(plan&, const client_context&, const args&);

// sorted-set commands on one key (zset_commands.cpp)
void plan_zadd(plan& p, const client_context& client, const args& argv);
void plan_zincrby(plan& p, const client_context& client, const args& argv);
void plan_zrem(plan& p, const client_context& client, const args& argv);
void plan_zcard(plan& p, const client_context& client, const args& argv);
void plan_zscore(plan& p, const client_context& client, const args& argv);
void plan_zmscore(plan& p, const client_context& client, const args& argv);
void plan_zrank(plan& p, const client_context& client, const args& argv);
void plan_zrevrank(plan& p, const client_context& client, const args& argv);
void plan_zcount(plan& p, const client_context& client, const args& argv);
void plan_zlexcount(plan& p, const client_context& client, const args& argv);
void plan_zrange(plan& p, const client_context& client, const args& argv);
void plan_zrevrange(plan& p, const client_context& client, const args& argv);
void plan_zrangebyscore(plan& p, const client_context& client, const args& argv);
void plan_zrevrangebyscore(plan& p, const client_context& client, const args& argv);
void plan_zrangebylex(plan& p, const client_context& client, const args& argv);
void plan_zrevrangebylex(plan& p, const client_context& client, const args& argv);
void plan_zremrangebyrank(plan& p, const client_context& client, const args& argv);
void plan_zremrangebyscore(plan& p, const client_context& client, const args& argv);
void plan_zremrangebylex(plan& p, const client_context& client, const args& argv);
void plan_zpopmin(plan& p, const client_context& client, const args& argv);
void plan_zpopmax(plan& p, const client_context& client, const args& argv);
void plan_zrandmember(plan& p, const client_context& client, const args& argv);
void plan_zscan(plan& p, const client_context& client, const args& argv);

// keys of any type (key_commands.cpp)
void plan_del(plan&, const client_context&, const args&);
void plan_exists(plan&, const client_context&, const args&);
void plan_type(plan&, const client_context&, const args&);
void plan_touch(plan&, const client_context&, const args&);
void plan_object(plan&, const client_context&, const args&);
void plan_memory(plan&, const client_context&, const args&);
void plan_keys(plan&, const client_context&, const args&);
void plan_randomkey(plan&, const client_context&, const args&);
void plan_scan(plan&, const client_context&, const args&);
void plan_dump(plan&, const client_context&, const args&);
void plan_restore(plan&, const client_context&, const args&);

// deadlines (expire_commands.cpp)
void plan_expire(plan&, const client_context&, const args&);
void plan_pexpire(plan&, const client_context&, const args&);
void plan_expireat(plan&, const client_context&, const args&);
void plan_pexpireat(plan&, const client_context&, const args&);
void plan_ttl(plan&, const client_context&, const args&);
void plan_pttl(plan&, const client_context&, const args&);
void plan_expiretime(plan&, const client_context&, const args&);
void plan_pexpiretime(plan&, const client_context&, const args&);
void plan_persist(plan&, const client_context&, const args&);
void plan_setex(plan&, const client_context&, const args&);
void plan_psetex(plan&, const client_context&, const args&);
void plan_getdel(plan&, const client_context&, const args&);
void plan_getex(plan&, const client_context&, const args&);

// server and connection commands (server_commands.cpp)
void plan_ping(plan&, const client_context&, const args&);
void plan_echo(plan&, const client_context&, const args&);
void plan_move(plan&, const client_context&, const args&);
void plan_dbsize(plan&, const client_context&, const args&);
void plan_flush(plan&, const client_context&, const args&);
void plan_command(plan&, const client_context&, const args&);
void plan_time(plan&, const client_context&, const args&);

} // namespace stairkv::commands
