#include "modules/commands/plan.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "modules/commands/command_table.hpp"
#include "modules/shard/table.hpp"

using namespace stairkv;
using namespace stairkv::commands;

namespace {

constexpr shard::deadline_ms t0 = 1'700'000'000'000;

// Shards simulated by plain tables: the plan only needs the staircase shape to
// route, so the layout's actor handles stay empty.
class Planner : public ::testing::Test {
protected:
  Planner() : tables_(engine::shards_in(3)) {
    auto l = std::make_shared<engine::layout>();
    l->stairs = 3;
    l->shards.resize(engine::shards_in(3));
    routing_ = engine::settled_routing(l);
  }

  // Plans every command of `commands` for `client`, runs the batches, and returns
  // the replies in order.
  std::vector<std::string> run(const std::vector<std::vector<std::string>>& commands,
                               shard::deadline_ms now = t0, int resp = 2) {
    plan p{routing_, now};
    client_context client{7, resp};
    for (const auto& cmd : commands) {
      std::vector<std::string_view> argv(cmd.begin(), cmd.end());
      EXPECT_NE(p.add(client, argv), outcome::gateway) << cmd[0];
    }
    execute(p, now);
    std::vector<std::string> replies;
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_EQ(p.client_of(i), 7u);
      std::string out;
      p.write_reply(i, out, info_);
      replies.push_back(out);
    }
    return replies;
  }

  std::string run1(std::vector<std::string> command, shard::deadline_ms now = t0,
                   int resp = 2) {
    return run({std::move(command)}, now, resp).at(0);
  }

  void execute(plan& p, shard::deadline_ms now) {
    auto busy = p.busy_shards();
    for (auto s : busy) {
      auto work = p.take_batch(s);
      shard::batch_result result;
      tables_[s].execute(work, result, now);
      p.deliver(s, std::move(result));
    }
    ASSERT_TRUE(p.complete());
  }

  engine::routing_ptr routing_;
  std::vector<shard::table> tables_;
  info_renderer info_;
};

} // namespace

TEST_F(Planner, RepliesComeBackInRequestOrderAcrossShards) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 50; ++i)
    cmds.push_back({"SET", "key:" + std::to_string(i), std::to_string(i)});
  for (int i = 0; i < 50; ++i)
    cmds.push_back({"GET", "key:" + std::to_string(i)});
  auto replies = run(cmds);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(replies[i], "+OK\r\n");
    auto v = std::to_string(i);
    EXPECT_EQ(replies[50 + i], "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n");
  }
}

TEST_F(Planner, KeysOfOneCycleUseOneBatchPerShard) {
  plan p{routing_, t0};
  client_context client;
  for (int i = 0; i < 200; ++i) {
    auto key = "k" + std::to_string(i);
    p.add(client, {"GET", key});
  }
  EXPECT_LE(p.busy_shards().size(), engine::shards_in(3));
  std::size_t ops = 0;
  for (auto s : p.busy_shards())
    ops += p.take_batch(s).ops.size();
  EXPECT_EQ(ops, 200u);
}

TEST_F(Planner, MgetGathersEveryShardInKeyOrderWithNulls) {
  run1({"MSET", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(run1({"MGET", "a", "missing", "c", "b"}),
            "*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n$1\r\n2\r\n");
}

TEST_F(Planner, Resp3ClientsGetUnderscoreForMissingValues) {
  EXPECT_EQ(run1({"GET", "missing"}, t0, 3), "_\r\n");
  EXPECT_EQ(run1({"MGET", "missing"}, t0, 3), "*1\r\n_\r\n");
}

TEST_F(Planner, DelAndExistsSumOverShards) {
  run1({"MSET", "a", "1", "b", "2", "c", "3"});
  EXPECT_EQ(run1({"EXISTS", "a", "b", "zz", "a"}), ":3\r\n");
  EXPECT_EQ(run1({"DEL", "a", "b", "zz", "a"}), ":2\r\n");
  EXPECT_EQ(run1({"DBSIZE"}), ":1\r\n");
}

TEST_F(Planner, MsetWithAnOddArgumentCountIsAnArityError) {
  EXPECT_EQ(run1({"MSET", "a", "1", "b"}),
            "-ERR wrong number of arguments for 'mset' command\r\n");
}

TEST_F(Planner, ArityErrorsNameTheCommandInLowerCase) {
  EXPECT_EQ(run1({"GeT"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run1({"set", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
}

TEST_F(Planner, UnknownCommandsQuoteNameAndFirstArguments) {
  EXPECT_EQ(run1({"FOO", "a", "b"}),
            "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
  EXPECT_EQ(run1({"XADD", "l", "x\r\ny"}),
            "-ERR unknown command 'XADD', with args beginning with: 'l' 'x  y' \r\n");
}

TEST_F(Planner, SetExBecomesAnAbsoluteDeadline) {
  EXPECT_EQ(run1({"SET", "k", "v", "EX", "10"}), "+OK\r\n");
  EXPECT_EQ(run1({"GET", "k"}, t0 + 9999), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"GET", "k"}, t0 + 10000), "$-1\r\n");
  EXPECT_EQ(run1({"SET", "p", "v", "px", "5"}), "+OK\r\n");
  EXPECT_EQ(run1({"GET", "p"}, t0 + 5), "$-1\r\n");
  EXPECT_EQ(run1({"SET", "x", "v", "PXAT", std::to_string(t0 + 20)}), "+OK\r\n");
  EXPECT_EQ(run1({"GET", "x"}, t0 + 19), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"GET", "x"}, t0 + 20), "$-1\r\n");
}

TEST_F(Planner, SetOptionErrorsUseRedisWording) {
  const std::string syntax = "-ERR syntax error\r\n";
  EXPECT_EQ(run1({"SET", "k", "v", "NX", "XX"}), syntax);
  EXPECT_EQ(run1({"SET", "k", "v", "EX"}), syntax);
  EXPECT_EQ(run1({"SET", "k", "v", "EX", "10", "PX", "10"}), syntax);
  EXPECT_EQ(run1({"SET", "k", "v", "KEEPTTL", "EX", "1"}), syntax);
  EXPECT_EQ(run1({"SET", "k", "v", "BOGUS"}), syntax);
  EXPECT_EQ(run1({"SET", "k", "v", "EX", "ten"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run1({"SET", "k", "v", "EX", "0"}),
            "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run1({"SET", "k", "v", "PX", "-5"}),
            "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run1({"SET", "k", "v", "EX", "9223372036854775807"}),
            "-ERR invalid expire time in 'set' command\r\n");
  // None of the refused commands wrote anything.
  EXPECT_EQ(run1({"EXISTS", "k"}), ":0\r\n");
}

TEST_F(Planner, SetNxGetAndXxCombinations) {
  EXPECT_EQ(run1({"SET", "k", "a", "NX", "GET"}), "$-1\r\n");
  EXPECT_EQ(run1({"SET", "k", "b", "NX", "GET"}), "$1\r\na\r\n");
  EXPECT_EQ(run1({"SET", "k", "c", "XX", "GET"}), "$1\r\na\r\n");
  EXPECT_EQ(run1({"GET", "k"}), "$1\r\nc\r\n");
}

TEST_F(Planner, CounterCommandsValidateTheirArgument) {
  EXPECT_EQ(run1({"INCR", "n"}), ":1\r\n");
  EXPECT_EQ(run1({"INCRBY", "n", "41"}), ":42\r\n");
  EXPECT_EQ(run1({"DECR", "n"}), ":41\r\n");
  EXPECT_EQ(run1({"DECRBY", "n", "40"}), ":1\r\n");
  EXPECT_EQ(run1({"INCRBY", "n", "1.5"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run1({"DECRBY", "n", "-9223372036854775808"}),
            "-ERR decrement would overflow\r\n");
}

TEST_F(Planner, ConnectionCommandsAnswerWithoutShards) {
  plan p{routing_, t0};
  client_context client;
  p.add(client, {"PING"});
  p.add(client, {"PING", "hi"});
  p.add(client, {"ECHO", "x\0y"});
  p.add(client, {"SELECT", "0"});
  p.add(client, {"SELECT", "1"});
  p.add(client, {"SELECT", "x"});
  EXPECT_TRUE(p.busy_shards().empty());
  EXPECT_TRUE(p.complete());
  std::vector<std::string> expected = {
    "+PONG\r\n", "$2\r\nhi\r\n", "$1\r\nx\r\n", "+OK\r\n",
    "-ERR DB index is out of range\r\n",
    "-ERR value is not an integer or out of range\r\n"};
  for (std::size_t i = 0; i < p.size(); ++i) {
    std::string out;
    p.write_reply(i, out, nullptr);
    EXPECT_EQ(out, expected[i]);
  }
}

TEST_F(Planner, GatewayCommandsAreHandedBack) {
  plan p{routing_, t0};
  client_context client;
  EXPECT_EQ(p.add(client, {"QUIT"}), outcome::gateway);
  EXPECT_EQ(p.add(client, {"info"}), outcome::gateway);
  EXPECT_EQ(p.add(client, {"CONFIG", "GET", "save"}), outcome::gateway);
  EXPECT_EQ(p.size(), 0u);
}

TEST_F(Planner, FlushEmptiesEveryShard) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 100; ++i)
    cmds.push_back({"SET", std::to_string(i), "v"});
  run(cmds);
  EXPECT_EQ(run1({"DBSIZE"}), ":100\r\n");
  EXPECT_EQ(run1({"FLUSHALL"}), "+OK\r\n");
  EXPECT_EQ(run1({"DBSIZE"}), ":0\r\n");
  EXPECT_EQ(run1({"FLUSHDB", "ASYNC"}), "+OK\r\n");
  EXPECT_EQ(run1({"FLUSHDB", "LATER"}), "-ERR syntax error\r\n");
}

TEST_F(Planner, InfoTotalsEveryShardBeforeRendering) {
  run({{"SET", "a", "1", "EX", "100"}, {"SET", "b", "2"}, {"GET", "a"}, {"GET", "zz"}});
  keyspace_totals seen;
  std::string seen_section;
  info_ = [&](std::string& out, std::string_view section, const keyspace_totals& t) {
    seen = t;
    seen_section = std::string{section};
    out = "body";
  };
  plan p{routing_, t0};
  p.add_info(client_context{}, "keyspace");
  execute(p, t0);
  std::string out;
  p.write_reply(0, out, info_);
  EXPECT_EQ(out, "$4\r\nbody\r\n");
  EXPECT_EQ(seen_section, "keyspace");
  EXPECT_EQ(seen.keys, 2);
  EXPECT_EQ(seen.keys_with_deadline, 1);
  EXPECT_EQ(seen.hits, 1);
  EXPECT_EQ(seen.misses, 1);
  EXPECT_EQ(seen.avg_ttl_ms, 100000);
}

TEST_F(Planner, AverageTtlIsWeightedOverShards) {
  std::vector<std::vector<std::string>> cmds;
  // 40 keys with 10 s left and 10 keys with 60 s left, over all shards.
  for (int i = 0; i < 40; ++i)
    cmds.push_back({"SET", "short" + std::to_string(i), "v", "PX", "10000"});
  for (int i = 0; i < 10; ++i)
    cmds.push_back({"SET", "long" + std::to_string(i), "v", "PX", "60000"});
  run(cmds);
  keyspace_totals seen;
  info_renderer info = [&](std::string&, std::string_view, const keyspace_totals& t) {
    seen = t;
  };
  plan p{routing_, t0};
  p.add_info(client_context{}, "keyspace");
  execute(p, t0);
  std::string out;
  p.write_reply(0, out, info);
  EXPECT_EQ(seen.keys_with_deadline, 50);
  // Each shard reports a whole-millisecond mean: within a millisecond.
  EXPECT_NEAR(static_cast<double>(seen.avg_ttl_ms), 20000.0, 1.0);
}

TEST_F(Planner, CommandCountMatchesTheTable) {
  EXPECT_EQ(run1({"COMMAND", "COUNT"}),
            ":" + std::to_string(all_commands().size()) + "\r\n");
  auto info = run1({"COMMAND", "INFO", "get", "nosuch"});
  EXPECT_EQ(info.rfind("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n", 0), 0u) << info;
  EXPECT_NE(info.find("*-1\r\n"), std::string::npos);
  EXPECT_EQ(run1({"COMMAND", "NOPE"}),
            "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n");
}

// COMMAND INFO gives Redis 7.0's ACL categories, the ones ACL CAT and the
// user rules use (SORT is @write @set @sortedset @list @slow @dangerous).
TEST_F(Planner, CommandInfoShowsTheCategoriesAclsUse) {
  auto sort = run1({"COMMAND", "INFO", "sort"});
  for (const char* category : {"+@write", "+@set", "+@sortedset", "+@list", "+@slow",
                               "+@dangerous"})
    EXPECT_NE(sort.find(category), std::string::npos) << category << " in " << sort;
  EXPECT_EQ(sort.find("+@fast"), std::string::npos) << sort;
  auto get = run1({"COMMAND", "INFO", "get"});
  EXPECT_NE(get.find("+@read"), std::string::npos) << get;
  EXPECT_EQ(get.find("+@write"), std::string::npos) << get;
}

TEST_F(Planner, ExpireSetsDeadlinesUnderTheirConditions) {
  run1({"SET", "k", "v"});
  EXPECT_EQ(run1({"TTL", "k"}), ":-1\r\n");
  EXPECT_EQ(run1({"TTL", "missing"}), ":-2\r\n");
  EXPECT_EQ(run1({"EXPIRE", "missing", "10"}), ":0\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "XX"}), ":0\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "GT"}), ":0\r\n"); // no deadline = never
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "NX"}), ":1\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "20", "NX"}), ":0\r\n");
  EXPECT_EQ(run1({"PTTL", "k"}), ":10000\r\n");
  EXPECT_EQ(run1({"TTL", "k"}, t0 + 1499), ":9\r\n"); // rounded, as Redis does
  EXPECT_EQ(run1({"EXPIRE", "k", "5", "GT"}), ":0\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "5", "LT"}), ":1\r\n");
  EXPECT_EQ(run1({"PEXPIREAT", "k", std::to_string(t0 + 7000), "GT"}), ":1\r\n");
  EXPECT_EQ(run1({"PEXPIRETIME", "k"}), ":" + std::to_string(t0 + 7000) + "\r\n");
  EXPECT_EQ(run1({"EXPIRETIME", "k"}), ":" + std::to_string((t0 + 7000) / 1000) + "\r\n");
  EXPECT_EQ(run1({"PERSIST", "k"}), ":1\r\n");
  EXPECT_EQ(run1({"PERSIST", "k"}), ":0\r\n");
  EXPECT_EQ(run1({"TTL", "k"}), ":-1\r\n");
}

TEST_F(Planner, ADeadlineAlreadyPastDeletesTheKey) {
  run1({"SET", "k", "v"});
  EXPECT_EQ(run1({"EXPIRE", "k", "-1"}), ":1\r\n");
  EXPECT_EQ(run1({"EXISTS", "k"}), ":0\r\n");
  run1({"SET", "k", "v"});
  EXPECT_EQ(run1({"EXPIREAT", "k", "1"}), ":1\r\n");
  EXPECT_EQ(run1({"GET", "k"}), "$-1\r\n");
}

TEST_F(Planner, ExpireOptionErrorsUseRedisWording) {
  run1({"SET", "k", "v"});
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "NX", "XX"}),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "GT", "LT"}),
            "-ERR GT and LT options at the same time are not compatible\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "10", "SOON"}), "-ERR Unsupported option SOON\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "ten"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run1({"EXPIRE", "k", "9223372036854775807"}),
            "-ERR invalid expire time in 'expire' command\r\n");
  EXPECT_EQ(run1({"PEXPIRE", "k", "9223372036854775807"}),
            "-ERR invalid expire time in 'pexpire' command\r\n");
  EXPECT_EQ(run1({"TTL", "k"}), ":-1\r\n");
}

TEST_F(Planner, SetexPsetexGetexGetdel) {
  EXPECT_EQ(run1({"SETEX", "a", "10", "v"}), "+OK\r\n");
  EXPECT_EQ(run1({"PTTL", "a"}), ":10000\r\n");
  EXPECT_EQ(run1({"PSETEX", "b", "250", "w"}), "+OK\r\n");
  EXPECT_EQ(run1({"GET", "b"}, t0 + 250), "$-1\r\n");
  EXPECT_EQ(run1({"SETEX", "c", "0", "v"}),
            "-ERR invalid expire time in 'setex' command\r\n");
  EXPECT_EQ(run1({"PSETEX", "c", "-5", "v"}),
            "-ERR invalid expire time in 'psetex' command\r\n");
  EXPECT_EQ(run1({"SETEX", "c", "x", "v"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run1({"EXISTS", "c"}), ":0\r\n");
  EXPECT_EQ(run1({"GETEX", "a", "PERSIST"}), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"TTL", "a"}), ":-1\r\n");
  EXPECT_EQ(run1({"GETEX", "a", "PX", "500"}), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"PTTL", "a"}), ":500\r\n");
  EXPECT_EQ(run1({"GETEX", "a"}), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"PTTL", "a"}), ":500\r\n");
  EXPECT_EQ(run1({"GETEX", "a", "EX", "0"}),
            "-ERR invalid expire time in 'getex' command\r\n");
  EXPECT_EQ(run1({"GETEX", "a", "EX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run1({"GETEX", "a", "PERSIST", "EX", "1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run1({"GETEX", "missing"}), "$-1\r\n");
  EXPECT_EQ(run1({"GETDEL", "a"}), "$1\r\nv\r\n");
  EXPECT_EQ(run1({"GETDEL", "a"}), "$-1\r\n");
  EXPECT_EQ(run1({"EXISTS", "a"}), ":0\r\n");
}

TEST_F(Planner, KeysJoinsTheSharesOfEveryShardIntoOneArray) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 40; ++i)
    cmds.push_back({"SET", "k:" + std::to_string(i), "v"});
  cmds.push_back({"SET", "other", "v"});
  cmds.push_back({"KEYS", "k:*"});
  auto replies = run(cmds);
  const auto& keys = replies.back();
  ASSERT_EQ(keys.substr(0, 5), "*40\r\n") << keys;
  for (int i = 0; i < 40; ++i) {
    auto k = "k:" + std::to_string(i);
    auto bulk = "$" + std::to_string(k.size()) + "\r\n" + k + "\r\n";
    EXPECT_NE(keys.find(bulk), std::string::npos) << k;
  }
  EXPECT_EQ(keys.find("other"), std::string::npos);
}

TEST_F(Planner, ScanCursorsVisitEveryKeyOnceAcrossShards) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 300; ++i)
    cmds.push_back({"SET", "k:" + std::to_string(i), "v"});
  run(cmds);
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    auto reply = run1({"SCAN", cursor, "COUNT", "50"});
    // *2 $<n> cursor *<m> then m bulks.
    ASSERT_EQ(reply.substr(0, 5), "*2\r\n$");
    auto pos = reply.find("\r\n", 5);
    pos += 2;
    auto end = reply.find("\r\n", pos);
    cursor = reply.substr(pos, end - pos);
    pos = reply.find("\r\n", end + 2) + 2; // past *<m>
    while (pos < reply.size()) {
      auto len_end = reply.find("\r\n", pos);
      auto len = std::stoul(reply.substr(pos + 1, len_end - pos - 1));
      seen.insert(reply.substr(len_end + 2, len));
      pos = len_end + 2 + len + 2;
    }
    ASSERT_LT(++calls, 10000);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 300u);
  for (int i = 0; i < 300; ++i)
    EXPECT_EQ(seen.count("k:" + std::to_string(i)), 1u) << i;
}

namespace {

// Plans `commands` and takes every batch out, for the grouping tests.
std::vector<shard::batch> batches_of(const engine::routing_ptr& routing,
                                     const std::vector<std::vector<std::string>>& commands,
                                     bool order_events = false) {
  plan p{routing, t0};
  p.order_group_events(order_events);
  client_context client{7, 2};
  for (const auto& cmd : commands) {
    std::vector<std::string_view> argv(cmd.begin(), cmd.end());
    p.add(client, argv);
  }
  std::vector<shard::batch> out;
  auto busy = p.busy_shards();
  for (auto s : busy)
    out.push_back(p.take_batch(s));
  return out;
}

} // namespace

TEST_F(Planner, OneShardWritesStayOffTheGroupPath) {
  // Single-key commands, many shards: each write has one shard, no group.
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 40; ++i)
    sets.push_back({"SET", "k" + std::to_string(i), "v"});
  sets.push_back({"MGET", "a", "b", "c", "d", "e"}); // reads over shards: no group
  auto batches = batches_of(routing_, sets, true);
  ASSERT_GT(batches.size(), 1u);
  for (const auto& b : batches) {
    EXPECT_EQ(b.group, 0u);
    EXPECT_TRUE(b.positions.empty());
  }
}

TEST_F(Planner, AWriteOverShardsGroupsThePlanWithWeightsThatAddUp) {
  std::vector<std::string> mset{"MSET"};
  for (int i = 0; i < 24; ++i) {
    mset.push_back("k" + std::to_string(i));
    mset.push_back("v");
  }
  auto batches = batches_of(routing_, {{"GET", "x"}, mset}, true);
  ASSERT_GT(batches.size(), 1u);
  std::uint64_t weight = 0;
  std::set<std::uint32_t> positions;
  for (const auto& b : batches) {
    EXPECT_NE(b.group, 0u);
    EXPECT_EQ(b.group, batches[0].group);
    EXPECT_TRUE(b.group_events);
    weight += b.group_weight;
    // Each operation knows its place in the plan, increasing within a batch.
    ASSERT_EQ(b.positions.size(), b.ops.size());
    for (std::size_t i = 1; i < b.positions.size(); ++i)
      EXPECT_LT(b.positions[i - 1], b.positions[i]);
    positions.insert(b.positions.begin(), b.positions.end());
  }
  EXPECT_EQ(weight, std::uint64_t{1} << 32);
  EXPECT_EQ(positions.size(), 1u + 24u); // the GET and every SET, once each
  // Another grouped plan draws another number.
  auto again = batches_of(routing_, {mset});
  EXPECT_NE(again[0].group, batches[0].group);
  EXPECT_FALSE(again[0].group_events);
  EXPECT_TRUE(again[0].positions.empty()); // events not ordered: no positions
}
