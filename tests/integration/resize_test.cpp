// The node grows its staircase while redis-benchmark writes and a checker writes,
// reads back and counts its own keys; afterwards every checked key holds its last
// value. Deleting everything makes it shrink back to one shard.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

constexpr int benchmark_keyspace = 200000;
constexpr int checked_keys = 20000;

long long engine_field(hiredis_connection& c, const std::string& name) {
  auto reply = c.command({"INFO", "engine"});
  return parse_info(std::string(reply->str, reply->len)).integer_field(name).value_or(-1);
}

// Polls INFO (bounded) until `field` satisfies `ok`.
template <class Pred>
bool await_engine(hiredis_connection& c, const std::string& field, Pred ok) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok(engine_field(c, field)) && engine_field(c, "engine_migrating") == 0)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string value_of(int key, int round) {
  return "v" + std::to_string(key) + "/" + std::to_string(round);
}

} // namespace

TEST(Resize, GrowsUnderAWriteLoadLosesNoKeyAndShrinksWhenKeysAreDeleted) {
  server_process server{{"--grow-keys-per-shard=10000", "--resize-check-ms=20"}};
  hiredis_connection observer{server.port()};
  ASSERT_EQ(engine_field(observer, "engine_shards"), 1);

  // The checker: writes its keys in pipelined rounds, reading each round back and
  // comparing, while redis-benchmark floods the node with SETs over 200,000 keys.
  std::atomic<bool> benchmark_done{false};
  std::atomic<int> mismatches{0};
  std::atomic<int> rounds_checked{0};
  std::thread checker([&] {
    hiredis_connection c{server.port()};
    for (int round = 0; round < 3 || !benchmark_done; ++round) {
      for (int k = 0; k < checked_keys; ++k)
        c.append({"SET", "check:" + std::to_string(k), value_of(k, round)});
      for (int k = 0; k < checked_keys; ++k)
        c.get_reply();
      for (int k = 0; k < checked_keys; ++k)
        c.append({"GET", "check:" + std::to_string(k)});
      for (int k = 0; k < checked_keys; ++k)
        if (!is_bulk(c.get_reply(), value_of(k, round)))
          ++mismatches;
      rounds_checked = round + 1;
    }
  });
  auto bench = run_redis_benchmark(
    server.port(), {"-q", "-t", "set", "-n", "400000", "-r",
                    std::to_string(benchmark_keyspace), "-c", "20", "-P", "8"},
    300s);
  benchmark_done = true;
  checker.join();
  ASSERT_EQ(bench.exit_code, 0) << bench.describe();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GE(rounds_checked.load(), 3);

  // ~170,000 benchmark keys + 20,000 checked ones at 10,000 per shard: at least
  // 15 shards (4 stairs) once the engine has caught up.
  ASSERT_TRUE(await_engine(observer, "engine_shards", [](long long n) { return n >= 15; }))
    << server.log();
  EXPECT_GE(engine_field(observer, "engine_resizes_up"), 3);
  EXPECT_GT(engine_field(observer, "engine_keys_migrated"), 0);
  EXPECT_NE(server.log().find("resize finished"), std::string::npos);

  // Every checked key, read once more after all resizes, holds its last value.
  auto last_round = rounds_checked.load() - 1;
  for (int k = 0; k < checked_keys; ++k)
    observer.append({"GET", "check:" + std::to_string(k)});
  for (int k = 0; k < checked_keys; ++k)
    ASSERT_TRUE(is_bulk(observer.get_reply(), value_of(k, last_round))) << k;

  // Delete every key; the engine shrinks back by itself.
  for (int k = 0; k < checked_keys; ++k)
    observer.append({"DEL", "check:" + std::to_string(k)});
  for (int k = 0; k < checked_keys; ++k)
    observer.get_reply();
  char name[32];
  for (int k = 0; k < benchmark_keyspace; ++k) {
    std::snprintf(name, sizeof(name), "key:%012d", k);
    observer.append({"DEL", name});
  }
  for (int k = 0; k < benchmark_keyspace; ++k)
    observer.get_reply();
  EXPECT_TRUE(is_integer(observer.command({"DBSIZE"}), 0));
  ASSERT_TRUE(await_engine(observer, "engine_shards", [](long long n) { return n == 1; }))
    << server.log();
  EXPECT_GE(engine_field(observer, "engine_resizes_down"), 4);
  // Still serving.
  EXPECT_TRUE(is_status(observer.command({"SET", "after", "shrink"}), "OK"));
  EXPECT_TRUE(is_bulk(observer.command({"GET", "after"}), "shrink"));
  EXPECT_EQ(server.stop(), 0) << server.log();
}
