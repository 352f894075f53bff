// Sorted sets through the real node: their commands' replies (scores printed
// as Redis 7.0 prints them), redis-py's helpers and RQ's enqueue as
// applications call them, the commands over several keys on different shards,
// BZPOPMIN and friends waking at once, a leader board under ZINCRBY load
// while the engine grows, and sorted sets that survive kill -9 under
// appendfsync always.

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/blocked_clients.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

TEST(SortedSets, CommandsAnswerAsRedis) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"ZADD", "z", "1", "a", "2", "b", "3", "c"}), 3));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "z", "XX", "CH", "10", "a", "5", "new"}), 1));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "z", "GT", "CH", "0", "b", "4", "c"}), 1));
  EXPECT_TRUE(is_nil(c.command({"ZADD", "z", "NX", "INCR", "1", "a"})));
  EXPECT_TRUE(is_bulk(c.command({"ZINCRBY", "z", "0.1", "b"}), "2.1000000000000001"));
  EXPECT_TRUE(is_bulk(c.command({"ZADD", "z", "INCR", "-inf", "d"}), "-inf"));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "z", "0", "-1", "WITHSCORES"}),
                            {"d", "-inf", "b", "2.1000000000000001", "c", "4", "a", "10"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "z", "(4", "+inf", "BYSCORE"}), {"a"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV",
                                       "LIMIT", "1", "2"}),
                            {"c", "b"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZREVRANGE", "z", "0", "1"}), {"a", "c"}));
  EXPECT_TRUE(is_integer(c.command({"ZRANK", "z", "c"}), 2));
  EXPECT_TRUE(is_integer(c.command({"ZREVRANK", "z", "c"}), 1));
  auto ranked = c.command({"ZRANK", "z", "a", "WITHSCORE"});
  ASSERT_TRUE(ranked && ranked->type == REDIS_REPLY_ARRAY && ranked->elements == 2);
  EXPECT_EQ(ranked->element[0]->integer, 3);
  EXPECT_EQ(std::string(ranked->element[1]->str), "10");
  EXPECT_TRUE(is_nil(c.command({"ZRANK", "z", "nobody"})));
  EXPECT_TRUE(is_integer(c.command({"ZCOUNT", "z", "-inf", "(10"}), 3));
  EXPECT_TRUE(is_integer(c.command({"ZCARD", "z"}), 4));
  EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "z", "c"}), "4"));
  EXPECT_TRUE(is_error(c.command({"ZADD", "z", "NX", "XX", "1", "a"}),
                       "ERR XX and NX options at the same time are not compatible"));
  EXPECT_TRUE(is_error(c.command({"ZADD", "z", "1x", "a"}), "ERR value is not a valid float"));
  EXPECT_TRUE(is_error(c.command({"ZADD", "z", "INCR", "1", "a", "2", "b"}),
                       "ERR INCR option supports a single increment-element pair"));
  EXPECT_TRUE(is_error(c.command({"ZRANGEBYSCORE", "z", "x", "1"}),
                       "ERR min or max is not a float"));
  EXPECT_TRUE(is_error(c.command({"ZINCRBY", "z", "+inf", "d"}),
                       "ERR resulting score is not a number (NaN)"));
  // Lex ranges over equal scores.
  EXPECT_TRUE(is_integer(c.command({"ZADD", "names", "0", "ann", "0", "bob", "0", "cat",
                                    "0", "dan"}),
                         4));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGEBYLEX", "names", "[b", "(d"}), {"bob", "cat"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZREVRANGEBYLEX", "names", "+", "-", "LIMIT", "0", "1"}),
                            {"dan"}));
  EXPECT_TRUE(is_integer(c.command({"ZLEXCOUNT", "names", "-", "+"}), 4));
  EXPECT_TRUE(is_integer(c.command({"ZREMRANGEBYLEX", "names", "[a", "[b"}), 1));
  EXPECT_TRUE(is_integer(c.command({"ZREMRANGEBYRANK", "names", "0", "0"}), 1));
  EXPECT_TRUE(is_bulk_array(c.command({"ZPOPMIN", "names", "5"}), {"cat", "0", "dan", "0"}));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "names"}), 0));
  // The type everywhere else.
  EXPECT_TRUE(is_status(c.command({"TYPE", "z"}), "zset"));
  // Small sets are compact until zset-max-listpack-entries (128) members or
  // a member past zset-max-listpack-value (64) bytes, then skip lists.
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "z"}), "listpack"));
  for (int i = 0; i < 128; ++i)
    ASSERT_TRUE(is_integer(c.command({"ZADD", "grown", std::to_string(i), "m" + std::to_string(i)}),
                           1));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "grown"}), "listpack"));
  auto compact_bytes = integer_of(c.command({"MEMORY", "USAGE", "grown"}));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "grown", "1000", "one-more"}), 1));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "grown"}), "skiplist"));
  EXPECT_GT(integer_of(c.command({"MEMORY", "USAGE", "grown"})), compact_bytes);
  EXPECT_TRUE(is_integer(c.command({"ZREMRANGEBYRANK", "grown", "0", "100"}), 101));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "grown"}), "skiplist")); // for good
  EXPECT_TRUE(is_integer(c.command({"ZADD", "long", "1", std::string(65, 'x')}), 1));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "long"}), "skiplist"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "zset-max-listpack-entries", "2"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "tiny", "1", "a", "2", "b", "3", "c"}), 3));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "tiny"}), "skiplist"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "zset-max-listpack-entries", "128"}), "OK"));
  EXPECT_TRUE(is_error_starting_with(c.command({"GET", "z"}), "WRONGTYPE"));
  EXPECT_TRUE(is_status(c.command({"SET", "str", "v"}), "OK"));
  EXPECT_TRUE(is_error_starting_with(c.command({"ZCARD", "str"}), "WRONGTYPE"));
  EXPECT_GT(integer_of(c.command({"MEMORY", "USAGE", "z"})), 0);
  std::vector<std::string> zsets;
  std::string cursor = "0";
  do {
    auto scanned = c.command({"SCAN", cursor, "TYPE", "zset", "COUNT", "1000"});
    ASSERT_TRUE(scanned && scanned->type == REDIS_REPLY_ARRAY && scanned->elements == 2);
    cursor = scanned->element[0]->str;
    for (std::size_t i = 0; i < scanned->element[1]->elements; ++i)
      zsets.emplace_back(scanned->element[1]->element[i]->str);
  } while (cursor != "0");
  std::sort(zsets.begin(), zsets.end());
  EXPECT_EQ(zsets, (std::vector<std::string>{"grown", "long", "tiny", "z"}));
}

TEST(SortedSets, CommandsOverSeveralKeysCombineAcrossShards) {
  server_process server{{"--stairs=4"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"ZADD", "k1", "1", "x", "2", "y", "3", "z"}), 3));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "k2", "10", "y", "20", "z", "30", "w"}), 3));
  EXPECT_TRUE(is_integer(c.command({"SADD", "k3", "x", "w"}), 2));
  EXPECT_TRUE(is_bulk_array(c.command({"ZUNION", "3", "k1", "k2", "k3", "WITHSCORES"}),
                            {"x", "2", "y", "12", "z", "23", "w", "31"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZINTER", "2", "k1", "k2", "WEIGHTS", "2", "1",
                                       "AGGREGATE", "MIN", "WITHSCORES"}),
                            {"y", "4", "z", "6"}));
  EXPECT_TRUE(is_bulk_array(c.command({"ZDIFF", "2", "k1", "k3"}), {"y", "z"}));
  EXPECT_TRUE(is_integer(c.command({"ZINTERCARD", "2", "k1", "k2", "LIMIT", "1"}), 1));
  EXPECT_TRUE(is_integer(c.command({"ZUNIONSTORE", "dest", "2", "k1", "k2"}), 4));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "dest", "0", "-1"}), {"x", "y", "z", "w"}));
  EXPECT_TRUE(is_integer(c.command({"ZINTERSTORE", "dest", "2", "k1", "nothing"}), 0));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "dest"}), 0));
  EXPECT_TRUE(is_integer(c.command({"ZRANGESTORE", "top", "k2", "0", "1", "REV"}), 2));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "top", "0", "-1", "WITHSCORES"}),
                            {"z", "20", "w", "30"}));
  EXPECT_TRUE(is_integer(c.command({"ZDIFFSTORE", "d2", "2", "k2", "k1"}), 1));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "d2", "0", "-1"}), {"w"}));
  auto popped = c.command({"ZMPOP", "2", "none", "k1", "MAX", "COUNT", "2"});
  ASSERT_TRUE(popped && popped->type == REDIS_REPLY_ARRAY && popped->elements == 2);
  EXPECT_EQ(std::string(popped->element[0]->str), "k1");
  ASSERT_EQ(popped->element[1]->elements, 2u);
  EXPECT_EQ(std::string(popped->element[1]->element[0]->element[0]->str), "z");
  EXPECT_EQ(std::string(popped->element[1]->element[1]->element[0]->str), "y");
  EXPECT_TRUE(is_error_starting_with(c.command({"ZUNION", "1", "str-missing", "k3", "x"}),
                                     "ERR syntax error"));
  EXPECT_TRUE(is_status(c.command({"SET", "str", "v"}), "OK"));
  EXPECT_TRUE(is_error_starting_with(c.command({"ZUNION", "2", "k1", "str"}), "WRONGTYPE"));
  // DUMP, RESTORE, COPY and RENAME carry a sorted set with its scores.
  EXPECT_TRUE(is_integer(c.command({"ZADD", "orig", "1.5", "m1", "-2", "m2"}), 2));
  auto payload = c.command({"DUMP", "orig"});
  ASSERT_TRUE(payload && payload->type == REDIS_REPLY_STRING);
  std::string bytes(payload->str, payload->len);
  EXPECT_TRUE(is_status(c.command({"RESTORE", "back", "0", bytes}), "OK"));
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "back", "0", "-1", "WITHSCORES"}),
                            {"m2", "-2", "m1", "1.5"}));
  EXPECT_TRUE(is_integer(c.command({"COPY", "orig", "copied"}), 1));
  EXPECT_TRUE(is_status(c.command({"RENAME", "orig", "renamed"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "renamed", "m1"}), "1.5"));
  EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "copied", "m2"}), "-2"));
}

TEST(SortedSets, BlockedPopsWakeOnZaddInTheOrderTheyBlocked) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  deferred first{server.port(), {"BZPOPMIN", "jobs", "other", "0"}};
  await_blocked(c, 1);
  deferred second{server.port(), {"BZPOPMAX", "jobs", "5"}};
  await_blocked(c, 2);
  deferred third{server.port(), {"BZMPOP", "0", "2", "none", "jobs", "MIN", "COUNT", "5"}};
  await_blocked(c, 3);
  EXPECT_TRUE(is_integer(c.command({"ZADD", "jobs", "3", "c", "1", "a", "2", "b"}), 3));
  EXPECT_TRUE(is_bulk_array(first.reply(), {"jobs", "a", "1"}));
  EXPECT_TRUE(is_bulk_array(second.reply(), {"jobs", "c", "3"}));
  auto rest = third.reply();
  ASSERT_TRUE(rest && rest->type == REDIS_REPLY_ARRAY && rest->elements == 2);
  ASSERT_EQ(rest->element[1]->elements, 1u);
  EXPECT_EQ(std::string(rest->element[1]->element[0]->element[0]->str), "b");
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "jobs"}), 0));
  await_blocked(c, 0);
  // A timeout answers null; a list waiter is not served by a sorted set.
  EXPECT_TRUE(is_nil(c.command({"BZPOPMIN", "jobs", "0.05"})));
  deferred list_waiter{server.port(), {"BLPOP", "mixed", "0"}};
  await_blocked(c, 1);
  EXPECT_TRUE(is_integer(c.command({"ZADD", "mixed", "1", "m"}), 1));
  EXPECT_TRUE(is_integer(c.command({"ZCARD", "mixed"}), 1));
  EXPECT_EQ(info_integer(c, "blocked_clients"), 1);
  EXPECT_TRUE(is_integer(c.command({"DEL", "mixed"}), 1));
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "mixed", "e"}), 1));
  EXPECT_TRUE(is_bulk_array(list_waiter.reply(), {"mixed", "e"}));
}

// A leader board under ZINCRBY load while the engine grows twice over: every
// increment counts, and ranks agree with scores afterwards.
TEST(SortedSets, ALeaderBoardUnderZincrbyLoadSurvivesResizes) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=3000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port(), 60s};
  constexpr int members = 1000000;
  constexpr int rounds = 2;
  auto before = info_integer(c, "engine_resizes_up");
  std::thread grow([&] {
    hiredis_connection d{server.port(), 60s};
    EXPECT_TRUE(is_status(d.command({"DEBUG", "POPULATE", "60000"}), "OK"));
  });
  for (int round = 0; round < rounds; ++round) {
    // In pipelines of 1,000, as a busy game server would send them.
    for (int from = 0; from < members; from += 1000) {
      for (int i = from; i < from + 1000; ++i)
        c.append({"ZINCRBY", "board", std::to_string(i % 7 + 1), "player:" + std::to_string(i)});
      c.flush();
      for (int i = from; i < from + 1000; ++i)
        ASSERT_TRUE(c.get_reply()) << "reply " << i;
    }
  }
  grow.join();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (info_integer(c, "engine_migrating") != 0)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  EXPECT_GT(info_integer(c, "engine_resizes_up"), before);
  EXPECT_TRUE(is_integer(c.command({"ZCARD", "board"}), members));
  for (int i : {0, 1, 6, 12345, 654321, members - 1})
    EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "board", "player:" + std::to_string(i)}),
                        std::to_string((i % 7 + 1) * rounds)));
  // Seven score groups: the top group (14) holds the members with i % 7 == 6.
  long long top = (members - 7) / 7 + 1;
  EXPECT_TRUE(is_integer(c.command({"ZCOUNT", "board", "14", "14"}), top));
  EXPECT_LT(integer_of(c.command({"ZREVRANK", "board", "player:6"})), top);
  EXPECT_LT(integer_of(c.command({"ZRANK", "board", "player:0"})), members / 7 + 1);
  // The last element: the top score, and among its members the greatest bytes.
  EXPECT_TRUE(is_bulk_array(c.command({"ZRANGE", "board", "-1", "-1", "WITHSCORES"}),
                            {"player:999998", "14"}));
}

TEST(SortedSets, KillNineUnderAppendfsyncAlwaysLosesNoAcknowledgedChange) {
  auto dir = make_test_dir("zset-aof");
  std::vector<std::string> args{"--appendonly=yes", "--dir=" + dir, "--appendfsync=always"};
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(is_integer(c.command({"ZADD", "s", std::to_string(i), "m" + std::to_string(i)}),
                             1));
    EXPECT_TRUE(is_bulk(c.command({"ZINCRBY", "s", "0.5", "m1"}), "1.5"));
    EXPECT_TRUE(is_integer(c.command({"ZREM", "s", "m2", "m3"}), 2));
    EXPECT_TRUE(is_bulk_array(c.command({"ZPOPMAX", "s"}), {"m99", "99"}));
    EXPECT_TRUE(is_integer(c.command({"ZREMRANGEBYSCORE", "s", "90", "+inf"}), 9));
    EXPECT_TRUE(is_bulk(c.command({"ZADD", "s", "INCR", "-inf", "m0"}), "-inf"));
    ::kill(server.pid(), SIGKILL);
    EXPECT_EQ(server.stop(), 128 + SIGKILL);
  }
  server_process server{args};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"ZCARD", "s"}), 88));
  EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "s", "m1"}), "1.5"));
  EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "s", "m0"}), "-inf"));
  EXPECT_TRUE(is_nil(c.command({"ZSCORE", "s", "m2"})));
  EXPECT_TRUE(is_bulk_array(c.command({"ZREVRANGE", "s", "0", "0"}), {"m89"}));
  EXPECT_TRUE(is_status(c.command({"BGREWRITEAOF"}),
                        "Background append only file rewriting started"));
  ASSERT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully", 30s));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "s", "1000", "after"}), 1));
  ::kill(server.pid(), SIGKILL);
  server.stop();
  server_process again{args};
  hiredis_connection d{again.port()};
  EXPECT_TRUE(is_integer(d.command({"ZCARD", "s"}), 89));
  EXPECT_TRUE(is_bulk(d.command({"ZSCORE", "s", "after"}), "1000"));
  EXPECT_TRUE(is_bulk(d.command({"ZSCORE", "s", "m1"}), "1.5"));
}

TEST(SortedSets, RedisPyHelpersAndRqEnqueueWorkAsApplicationsCallThem) {
  server_process server{{"--stairs=3"}};
  const std::string script = R"(
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.zadd("board", {"ann": 10, "bob": 7.5, "cat": 12}) == 3
assert r.zincrby("board", 3, "bob") == 10.5
assert r.zrange("board", 0, -1, withscores=True) == [("ann", 10.0), ("bob", 10.5), ("cat", 12.0)]
assert r.zrevrank("board", "cat") == 0 and r.zscore("board", "ann") == 10.0
assert r.zrangebyscore("board", 10.2, "+inf") == ["bob", "cat"]
assert r.zpopmin("board") == [("ann", 10.0)]
assert r.bzpopmax(["none", "board"], timeout=1) == ("board", "cat", 12.0)
with r.pipeline() as p:
    p.zadd("delayed", {"job1": 100}).zcard("delayed").zrangebyscore("delayed", 0, 200)
    assert p.execute() == [1, 1, ["job1"]]

# RQ enqueues on these types (its worker also writes each result to a stream,
# XADD, which the node does not have yet).
from rq import Queue
from rq.job import Job
q = Queue("default", connection=redis.Redis(host="127.0.0.1", port=int(sys.argv[1])))
jobs = [q.enqueue("operator.add", i, 1) for i in range(5)]
assert q.count == 5 and q.job_ids == [j.id for j in jobs]
assert Job.fetch(jobs[2].id, connection=q.connection).args == (2, 1)
assert jobs[0].get_status() == "queued"
scheduled = q.enqueue_in(__import__("datetime").timedelta(seconds=60), "operator.add", 1, 2)
assert scheduled.id in q.scheduled_job_registry.get_job_ids()
print("ok")
)";
  auto result = run_python(server.port(), script);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

// WATCH sees what a command changes, not what it reads: a STORE form (and
// SORT) invalidates the watchers of its destination, never of its sources.
TEST(SortedSets, AStoreFormTouchesTheWatchersOfItsDestinationOnly) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  hiredis_connection other{server.port()};
  EXPECT_TRUE(is_integer(c.command({"ZADD", "src", "1", "a", "2", "b"}), 2));
  auto exec_after = [&](const std::string& watched, const std::vector<std::string>& command) {
    EXPECT_TRUE(is_status(c.command({"WATCH", watched}), "OK"));
    auto done = other.command(command);
    EXPECT_TRUE(done && done->type != REDIS_REPLY_ERROR) << text_of(done);
    EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
    EXPECT_TRUE(is_status(c.command({"PING"}), "QUEUED"));
    auto reply = c.command({"EXEC"});
    return reply && reply->type == REDIS_REPLY_ARRAY; // nil: the transaction failed
  };
  EXPECT_TRUE(exec_after("src", {"ZUNIONSTORE", "dst", "1", "src"}));
  EXPECT_FALSE(exec_after("dst", {"ZUNIONSTORE", "dst", "1", "src"}));
  EXPECT_TRUE(exec_after("src", {"ZRANGESTORE", "dst", "src", "0", "0"}));
  EXPECT_FALSE(exec_after("dst", {"ZRANGESTORE", "dst", "src", "0", "0"}));
  EXPECT_TRUE(exec_after("src", {"SORT", "src", "BY", "nosort"}));
  EXPECT_FALSE(exec_after("dst", {"SORT", "src", "BY", "nosort", "STORE", "dst"}));
}
