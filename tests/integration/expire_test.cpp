// Deadlines through the real node: the EXPIRE family, TTL readings, SETEX/GETEX,
// and a deadline that survives the key's move to a new engine.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/info.hpp"
#include "tests/support/server_fixture.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

class Expire : public server_test {};

// Polls (bounded) until `key` is gone; returns how long that took.
std::chrono::milliseconds await_gone(hiredis_connection& c, const std::string& key) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 10s) {
    if (integer_of(c.command({"EXISTS", key})) == 0)
      break;
    std::this_thread::sleep_for(5ms);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - start);
}

} // namespace

TEST_F(Expire, ExpireAndTtlFollowRedis) {
  ASSERT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_integer(run({"TTL", "k"}), -1));
  EXPECT_TRUE(is_integer(run({"TTL", "nokey"}), -2));
  EXPECT_TRUE(is_integer(run({"EXPIRE", "k", "100", "GT"}), 0));
  EXPECT_TRUE(is_integer(run({"EXPIRE", "k", "100"}), 1));
  auto ttl = integer_of(run({"TTL", "k"}));
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
  EXPECT_TRUE(is_integer(run({"EXPIRE", "k", "50", "LT"}), 1));
  EXPECT_LE(integer_of(run({"PTTL", "k"})), 50000);
  EXPECT_TRUE(is_error(run({"EXPIRE", "k", "10", "NX", "XX"}),
                       "ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_TRUE(is_integer(run({"PERSIST", "k"}), 1));
  EXPECT_TRUE(is_integer(run({"TTL", "k"}), -1));
  EXPECT_TRUE(is_integer(run({"EXPIRE", "k", "-1"}), 1));
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

TEST_F(Expire, AKeyIsGoneOnceItsDeadlinePassesAndNotBefore) {
  ASSERT_TRUE(is_status(run({"SET", "soon", "v", "PX", "300"}), "OK"));
  auto took = await_gone(client(), "soon");
  EXPECT_GE(took.count(), 250);
  EXPECT_LT(took.count(), 5000);
  EXPECT_TRUE(is_nil(run({"GET", "soon"})));
}

TEST_F(Expire, SetexGetexGetdel) {
  EXPECT_TRUE(is_status(run({"SETEX", "a", "100", "v"}), "OK"));
  EXPECT_GT(integer_of(run({"PTTL", "a"})), 99000);
  EXPECT_TRUE(is_bulk(run({"GETEX", "a", "PERSIST"}), "v"));
  EXPECT_TRUE(is_integer(run({"TTL", "a"}), -1));
  EXPECT_TRUE(is_error(run({"SETEX", "b", "0", "v"}),
                       "ERR invalid expire time in 'setex' command"));
  EXPECT_TRUE(is_bulk(run({"GETDEL", "a"}), "v"));
  EXPECT_TRUE(is_nil(run({"GETDEL", "a"})));
}

class ExpireAcrossResizes : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--grow-keys-per-shard=500", "--resize-check-ms=5"};
  }
};

TEST_F(ExpireAcrossResizes, DeadlinesMoveWithTheirKeys) {
  // 200 keys with a long deadline, 200 with a short one, then enough keys to grow
  // the engine twice while they wait.
  for (int i = 0; i < 200; ++i) {
    client().append({"SET", "long:" + std::to_string(i), "v", "EX", "1000"});
    client().append({"SET", "short:" + std::to_string(i), "v", "PX", "1500"});
  }
  for (int i = 0; i < 400; ++i)
    client().get_reply();
  for (int i = 0; i < 5000; ++i)
    client().append({"SET", "filler:" + std::to_string(i), "x"});
  for (int i = 0; i < 5000; ++i)
    client().get_reply();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  long long shards = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = parse_info(text_of(run({"INFO", "engine"})));
    shards = info.integer_field("engine_shards").value_or(0);
    if (shards >= 7 && info.integer_field("engine_migrating").value_or(1) == 0)
      break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(shards, 7);
  for (int i = 0; i < 200; ++i) {
    auto ttl = integer_of(run({"TTL", "long:" + std::to_string(i)}));
    ASSERT_GE(ttl, 990) << i;
    ASSERT_LE(ttl, 1000) << i;
  }
  for (int i = 0; i < 200; ++i)
    await_gone(client(), "short:" + std::to_string(i));
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(is_nil(run({"GET", "short:" + std::to_string(i)}))) << i;
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 5200));
}

TEST_F(Expire, KeysAreRetiredOnTimeWithoutBeingRead) {
  for (int i = 0; i < 1000; ++i)
    client().append({"SET", "t:" + std::to_string(i), "v", "PX", "200"});
  for (int i = 0; i < 1000; ++i)
    client().get_reply();
  ASSERT_TRUE(is_status(run({"SET", "stays", "v"}), "OK"));
  // DBSIZE counts every key still held, expired or not, so it only reaches 1 if
  // the node retired the others by itself. Bounded poll.
  auto until = std::chrono::steady_clock::now() + 10s;
  long long keys = -1;
  while (std::chrono::steady_clock::now() < until) {
    keys = integer_of(run({"DBSIZE"}));
    if (keys == 1)
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(keys, 1);
  auto info = parse_info(text_of(run({"INFO", "stats"})));
  EXPECT_EQ(info.integer_field("expired_keys").value_or(0), 1000);
}
