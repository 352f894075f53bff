// Hashes through the real node: redis-py's hash helpers (and RENAME, DUMP,
// RESTORE and COPY of a hash) as applications call them, RESP3 shapes, hashes
// written while the engine grows (a million-field one and a million-member
// set too), kill -9 under appendfsync always, and eviction with hashes
// and strings mixed.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

TEST(Hashes, RedisPyHashHelpersWorkAsApplicationsCallThem) {
  server_process server{{"--stairs=3"}};
  const std::string script = R"(
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.hset("session:1", mapping={"user": "ann", "visits": 1, "cart": ""}) == 3
assert r.hset("session:1", "user", "bob") == 0
assert r.hincrby("session:1", "visits", 4) == 5
assert abs(r.hincrbyfloat("session:1", "score", 2.5) - 2.5) < 1e-9
assert r.hgetall("session:1") == {"user": "bob", "visits": "5", "cart": "", "score": "2.5"}
assert r.hmget("session:1", ["user", "nope"]) == ["bob", None]
assert sorted(r.hkeys("session:1")) == ["cart", "score", "user", "visits"]
assert r.hlen("session:1") == 4 and r.hexists("session:1", "cart")
assert r.hdel("session:1", "cart", "nope") == 1
assert r.hsetnx("session:1", "user", "carl") == 0
assert r.type("session:1") == "hash"
with r.pipeline() as p:          # MULTI/EXEC, as redis-py sends it
    p.hset("a", "f", "1").hincrby("a", "f", 1).hget("a", "f")
    assert p.execute() == [1, 2, "2"]
r.hset("big", mapping={"f%d" % i: i for i in range(1000)})
assert r.object("encoding", "big") == "hashtable"
assert dict(r.hscan_iter("big")) == {"f%d" % i: str(i) for i in range(1000)}
assert r.hrandfield("big") in {"f%d" % i for i in range(1000)}
try:
    r.get("big")
    raise SystemExit("GET on a hash did not fail")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
r.expire("big", 100)
assert 0 < r.ttl("big") <= 100
r.rename("big", "moved")
assert r.hlen("moved") == 1000 and not r.exists("big")
payload = r.dump("moved")
r.delete("moved")
r.restore("moved", 0, payload)
assert r.hget("moved", "f999") == "999"
assert r.copy("moved", "copied") and not r.copy("moved", "copied")
r.hset("moved", "f1", "changed")
assert r.hget("copied", "f1") == "1" and r.hlen("copied") == 1000
print("ok")
)";
  auto result = run_python(server.port(), script);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

TEST(Hashes, RespThreeGetsAMapAndNullsInsideArrays) {
  server_process server;
  raw_connection c{server.port()};
  // HELLO's own reply is a map of the server's facts; PING's +PONG ends it.
  ASSERT_TRUE(c.send_all(encode_command({"HSET", "h", "f", "v", "g", "w"})
                         + encode_command({"HELLO", "3"}) + encode_command({"PING"})));
  std::string seen;
  while (seen.size() < 7 || seen.compare(seen.size() - 7, 7, "+PONG\r\n") != 0) {
    auto line = c.read_line();
    ASSERT_FALSE(line.empty()) << seen;
    seen += line;
  }
  ASSERT_TRUE(c.send_all(encode_command({"HGETALL", "h"})));
  std::string map = "%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n";
  EXPECT_EQ(c.read_exactly(map.size()), map);
  ASSERT_TRUE(c.send_all(encode_command({"HMGET", "h", "f", "missing"})));
  std::string nulls = "*2\r\n$1\r\nv\r\n_\r\n";
  EXPECT_EQ(c.read_exactly(nulls.size()), nulls);
  ASSERT_TRUE(c.send_all(encode_command({"HRANDFIELD", "h", "1", "WITHVALUES"})));
  EXPECT_EQ(c.read_exactly(8), "*1\r\n*2\r\n"); // each pair an array
}

// Fields keep coming while the engine grows: every acknowledged field is
// there afterwards, in hashes that moved between engines.
TEST(Hashes, HashesWrittenWhileTheEngineGrowsKeepEveryField) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port(), 60s};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "30000"}), "OK"));
  constexpr int hashes = 20;
  int written = 0;
  bool moved_during = rounds_while_keys_move(
    c,
    [&] {
      for (int batch = 0; batch < 5; ++batch) {
        for (int h = 0; h < hashes; ++h)
          c.append({"HSET", "hash:" + std::to_string(h), "f" + std::to_string(written),
                    std::to_string(written)});
        for (int h = 0; h < hashes; ++h)
          ASSERT_TRUE(is_integer(c.get_reply(), 1));
        ++written;
      }
    },
    [&] { return info_integer(c, "engine_migrating") == 0 && written >= 200; });
  EXPECT_TRUE(moved_during) << "no field was written while keys moved";
  for (int h = 0; h < hashes; ++h) {
    auto key = "hash:" + std::to_string(h);
    EXPECT_TRUE(is_integer(c.command({"HLEN", key}), written)) << key;
    EXPECT_TRUE(is_bulk(c.command({"HGET", key, "f" + std::to_string(written - 1)}),
                        std::to_string(written - 1)));
  }
}

// A million-field hash and a million-member set, written (a thousand
// commands of ten fields or members at a time) while the engine grows: both
// move between engines whole, and every field and member is there after.
TEST(Hashes, AMillionFieldHashAndSetWrittenWhileTheEngineGrowsKeepEverything) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=4000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port(), 120s};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "50000"}), "OK"));
  constexpr int total = 1'000'000;
  int written = 0;
  auto write_some = [&] {
    for (int command = 0; command < 1000 && written < total; ++command) {
      std::vector<std::string> hset{"HSET", "big-hash"}, sadd{"SADD", "big-set"};
      for (int i = 0; i < 10; ++i, ++written) {
        hset.push_back("f" + std::to_string(written));
        hset.push_back(std::to_string(written));
        sadd.push_back("m" + std::to_string(written));
      }
      c.append(hset);
      c.append(sadd);
    }
    c.flush();
  };
  bool moved_during = rounds_while_keys_move(
    c,
    [&] {
      int before = written;
      write_some();
      for (int i = before; i < written; i += 10) {
        ASSERT_TRUE(is_integer(c.get_reply(), 10));
        ASSERT_TRUE(is_integer(c.get_reply(), 10));
      }
    },
    [&] { return written >= total; }, 120s);
  EXPECT_TRUE(moved_during) << "nothing was written while keys moved";
  while (written < total) { // the rest, if the moves ended first
    int before = written;
    write_some();
    for (int i = before; i < written; i += 10) {
      ASSERT_TRUE(is_integer(c.get_reply(), 10));
      ASSERT_TRUE(is_integer(c.get_reply(), 10));
    }
  }
  EXPECT_TRUE(is_integer(c.command({"HLEN", "big-hash"}), total));
  EXPECT_TRUE(is_integer(c.command({"SCARD", "big-set"}), total));
  for (int probe : {0, 1, 499'999, 999'999}) {
    EXPECT_TRUE(is_bulk(c.command({"HGET", "big-hash", "f" + std::to_string(probe)}),
                        std::to_string(probe)));
    EXPECT_TRUE(is_integer(c.command({"SISMEMBER", "big-set", "m" + std::to_string(probe)}), 1));
  }
  EXPECT_TRUE(is_integer(c.command({"DEL", "big-hash", "big-set"}), 2));
  EXPECT_TRUE(is_status(c.command({"PING"}), "PONG"));
}

TEST(Hashes, KillNineUnderAppendfsyncAlwaysLosesNoAcknowledgedField) {
  auto dir = make_test_dir("hash-aof");
  std::vector<std::string> args{"--appendonly=yes", "--dir=" + dir, "--appendfsync=always",
                                "--hash-max-listpack-entries=16"};
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(is_integer(c.command({"HSET", "grown", "f" + std::to_string(i), "v"}), 1));
    ASSERT_TRUE(is_integer(c.command({"HSET", "small", "a", "1", "b", "2"}), 2));
    ASSERT_TRUE(is_integer(c.command({"HDEL", "grown", "f7", "f8"}), 2));
    ASSERT_TRUE(is_integer(c.command({"HINCRBY", "small", "a", "41"}), 42));
    ASSERT_TRUE(is_status(c.command({"RENAME", "small", "renamed"}), "OK"));
    ASSERT_TRUE(is_integer(c.command({"PEXPIRE", "renamed", "600000"}), 1));
    ::kill(server.pid(), SIGKILL);
    EXPECT_EQ(server.stop(), 128 + SIGKILL);
  }
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_integer(c.command({"HLEN", "grown"}), 298));
    EXPECT_TRUE(is_integer(c.command({"HEXISTS", "grown", "f7"}), 0));
    EXPECT_TRUE(is_bulk(c.command({"HGET", "grown", "f299"}), "v"));
    EXPECT_TRUE(is_bulk(c.command({"HGET", "renamed", "a"}), "42"));
    EXPECT_TRUE(is_integer(c.command({"EXISTS", "small"}), 0));
    auto ttl = c.command({"PTTL", "renamed"});
    ASSERT_EQ(ttl->type, REDIS_REPLY_INTEGER);
    EXPECT_GT(ttl->integer, 0);
    // A rewrite writes each hash whole; the next start reads it back.
    EXPECT_TRUE(is_status(c.command({"BGREWRITEAOF"}),
                          "Background append only file rewriting started"));
    ASSERT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully", 30s));
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{args};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"HLEN", "grown"}), 298));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "grown"}), "hashtable"));
  EXPECT_TRUE(is_bulk(c.command({"HGET", "renamed", "b"}), "2"));
}

// allkeys-lru with hashes and strings: used memory stays within 5% of the
// bound, and the hashes evicted free their bytes (writes keep succeeding).
TEST(Hashes, EvictionHoldsTheBoundWithHashesAndStringsMixed) {
  server_process server{{"--maxmemory=16mb", "--maxmemory-policy=allkeys-lru"}};
  hiredis_connection c{server.port(), 60s};
  auto limit = 16ll * 1024 * 1024;
  std::string value(200, 'v');
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < 1000; ++i) {
      auto n = std::to_string(round * 1000 + i);
      if (i % 2 == 0)
        c.append({"HSET", "h:" + n, "a", value, "b", value, "c", value});
      else
        c.append({"SET", "s:" + n, value});
    }
    for (int i = 0; i < 1000; ++i) {
      auto reply = c.get_reply();
      ASSERT_NE(reply->type, REDIS_REPLY_ERROR) << reply->str;
    }
  }
  EXPECT_GT(info_integer(c, "evicted_keys"), 0);
  EXPECT_LE(info_integer(c, "used_memory"), limit + limit / 20);
  EXPECT_GT(info_integer(c, "used_memory"), limit / 2);
}
