// Sets through the real node: redis-py's set helpers as applications call
// them, SMOVE and SINTERSTORE across shards seen whole by concurrent readers,
// and kill -9 under appendfsync always.

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

TEST(Sets, RedisPySetHelpersWorkAsApplicationsCallThem) {
  server_process server{{"--stairs=3"}};
  const std::string script = R"(
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.sadd("tags:1", "red", "green", "blue") == 3
assert r.sadd("tags:2", "green", "blue", "pink") == 3
assert r.smembers("tags:1") == {"red", "green", "blue"}
assert r.sinter("tags:1", "tags:2") == {"green", "blue"}
assert r.sunion("tags:1", "tags:2") == {"red", "green", "blue", "pink"}
assert r.sdiff("tags:1", "tags:2") == {"red"}
assert r.sinterstore("both", ["tags:1", "tags:2"]) == 2 and r.scard("both") == 2
assert r.sintercard(2, ["tags:1", "tags:2"]) == 2
assert r.smove("tags:1", "tags:2", "red") and r.sismember("tags:2", "red")
assert r.smismember("tags:2", ["red", "nope"]) == [1, 0]
assert r.srem("tags:2", "red", "nope") == 1
assert r.spop("both") in {"green", "blue"} and r.scard("both") == 1
assert r.srandmember("tags:2") in {"green", "blue", "pink"}
r.sadd("ids", *range(1000))
assert r.object("encoding", "ids") == "hashtable"
assert set(r.sscan_iter("ids")) == {str(i) for i in range(1000)}
assert r.type("ids") == "set"
try:
    r.sadd("both", "x") and r.hset("both", "f", "v")
    raise SystemExit("HSET on a set did not fail")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
r.rename("ids", "moved")
assert r.scard("moved") == 1000
print("ok")
)";
  auto result = run_python(server.port(), script);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

// Eight tokens move between two sets on different shards while readers take
// the union: every reader sees every token exactly once (an SMOVE seen half
// done would show a token in neither set, or in both).
TEST(Sets, SmoveBetweenShardsIsOneStepForReaders) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i)
    tokens.push_back("t" + std::to_string(i));
  std::vector<std::string> add{"SADD", "left"};
  add.insert(add.end(), tokens.begin(), tokens.end());
  ASSERT_TRUE(is_integer(c.command(add), 8));
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0}, reads{0};
  auto reader = [&] {
    hiredis_connection r{server.port()};
    while (!done) {
      auto left = r.command({"SCARD", "left"});
      auto both = r.command({"SUNION", "left", "right"});
      auto inter = r.command({"SINTERCARD", "2", "left", "right"});
      if (both->elements != 8 || inter->integer != 0)
        ++wrong;
      (void)left;
      ++reads;
    }
  };
  std::thread a{reader}, b{reader};
  std::vector<std::thread> movers;
  for (int m = 0; m < 4; ++m)
    movers.emplace_back([&, m] {
      hiredis_connection w{server.port()};
      for (int round = 0; round < 300; ++round) {
        const auto& token = tokens[static_cast<std::size_t>((m + round) % 8)];
        w.command({"SMOVE", "left", "right", token});
        w.command({"SMOVE", "right", "left", token});
      }
    });
  for (auto& t : movers)
    t.join();
  done = true;
  a.join();
  b.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "of " << reads.load() << " reads";
  auto left = c.command({"SCARD", "left"});
  auto right = c.command({"SCARD", "right"});
  EXPECT_EQ(left->integer + right->integer, 8);
}

TEST(Sets, KillNineUnderAppendfsyncAlwaysLosesNoAcknowledgedMember) {
  auto dir = make_test_dir("set-aof");
  std::vector<std::string> args{"--appendonly=yes", "--dir=" + dir, "--appendfsync=always"};
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 700; ++i) // past the intset bound: the large encoding
      ASSERT_TRUE(is_integer(c.command({"SADD", "ids", std::to_string(i)}), 1));
    ASSERT_TRUE(is_integer(c.command({"SREM", "ids", "7", "8"}), 2));
    ASSERT_TRUE(is_integer(c.command({"SADD", "a", "x", "y"}), 2));
    ASSERT_TRUE(is_integer(c.command({"SADD", "b", "y", "z"}), 2));
    ASSERT_TRUE(is_integer(c.command({"SUNIONSTORE", "u", "a", "b"}), 3));
    ASSERT_TRUE(is_integer(c.command({"SMOVE", "a", "b", "x"}), 1));
    ::kill(server.pid(), SIGKILL);
    EXPECT_EQ(server.stop(), 128 + SIGKILL);
  }
  server_process server{args};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"SCARD", "ids"}), 698));
  EXPECT_TRUE(is_integer(c.command({"SISMEMBER", "ids", "7"}), 0));
  EXPECT_TRUE(is_integer(c.command({"SCARD", "u"}), 3));
  EXPECT_TRUE(is_integer(c.command({"SISMEMBER", "b", "x"}), 1));
  EXPECT_TRUE(is_integer(c.command({"SISMEMBER", "a", "x"}), 0));
}
