#include "modules/store/store.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/testing/actor_system_config.hpp"

using namespace stairkv;

namespace {

class Store : public ::testing::TestWithParam<shard::placement> {
protected:
  Store() : system_(stairkv::testing::actor_system_config()), self_(system_) {
    store_config config;
    config.stairs = 2;
    config.placement = GetParam();
    config.resize_check_interval = std::chrono::milliseconds{0};
    store_ = spawn_store(system_, config);
  }

  ~Store() override {
    stop_store(store_);
    system_.clock().cancel_all(); // the system ends with the test (see stop_store)
  }


  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    T out{};
    self_->request(store_.actor, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
    return out;
  }

  caf::actor_system system_;
  caf::scoped_actor self_;
  store_handle store_;
};

} // namespace

TEST_P(Store, PutThenGetReturnsTheValue) {
  EXPECT_TRUE(ask<bool>(caf::put_atom::value, std::string{"k"}, std::string{"v"}));
  auto v = ask<caf::optional<std::string>>(caf::get_atom::value, std::string{"k"});
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "v");
  auto missing = ask<caf::optional<std::string>>(caf::get_atom::value,
                                                 std::string{"nope"});
  EXPECT_FALSE(missing);
}

TEST_P(Store, DeleteExistsAndSizeSpanShards) {
  for (int i = 0; i < 20; ++i)
    ask<bool>(caf::put_atom::value, std::to_string(i), std::string{"x"});
  EXPECT_EQ(ask<std::int64_t>(size_atom::value), 20);
  std::vector<std::string> some{"1", "2", "3", "nope"};
  EXPECT_EQ(ask<std::int64_t>(exists_atom::value, some), 3);
  EXPECT_EQ(ask<std::int64_t>(caf::delete_atom::value, some), 3);
  EXPECT_EQ(ask<std::int64_t>(size_atom::value), 17);
}

TEST_P(Store, IncrementReportsRedisErrorsAsCafErrors) {
  EXPECT_EQ(ask<std::int64_t>(incr_atom::value, std::string{"n"}, std::int64_t{5}), 5);
  ask<bool>(caf::put_atom::value, std::string{"s"}, std::string{"abc"});
  std::string message;
  self_->request(store_.actor, caf::infinite, incr_atom::value, std::string{"s"},
                 std::int64_t{1})
    .receive([](std::int64_t) { ADD_FAILURE() << "expected an error"; },
             [&](caf::error& e) { message = system_.render(e); });
  EXPECT_NE(message.find("value is not an integer"), std::string::npos) << message;
}

TEST_P(Store, PutWithTtlExpires) {
  using namespace std::chrono;
  ask<bool>(caf::put_atom::value, std::string{"t"}, std::string{"v"},
            caf::timespan{milliseconds{30}});
  auto deadline = steady_clock::now() + seconds{5};
  caf::optional<std::string> v = std::string{"v"};
  // Polls the store until the key is gone; a bounded wait, not a fixed sleep.
  while (v && steady_clock::now() < deadline)
    v = ask<caf::optional<std::string>>(caf::get_atom::value, std::string{"t"});
  EXPECT_FALSE(v);
}

TEST_P(Store, AnyCommandRunsThroughTheCommandInterface) {
  std::vector<std::string> mset{"MSET", "a", "1", "b", "2"};
  EXPECT_EQ(ask<std::string>(command_atom::value, mset), "+OK\r\n");
  std::vector<std::string> mget{"MGET", "a", "b", "c"};
  EXPECT_EQ(ask<std::string>(command_atom::value, mget),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
  std::vector<std::string> bad{"NOSUCH"};
  EXPECT_EQ(ask<std::string>(command_atom::value, bad),
            "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
}

// Hashes and sets through the embedding API, as through a socket: their
// commands, WRONGTYPE, and a DUMP payload RESTORE takes back.
TEST_P(Store, HashesAndSetsRunThroughTheCommandInterface) {
  using args = std::vector<std::string>;
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"HSET", "h", "f", "v", "g", "w"}),
            ":2\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"HGET", "h", "g"}), "$1\r\nw\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"SADD", "s", "1", "2"}), ":2\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"SISMEMBER", "s", "2"}), ":1\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"GET", "s"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  auto payload = ask<std::string>(command_atom::value, args{"DUMP", "h"});
  ASSERT_EQ(payload.front(), '$');
  auto body = payload.substr(payload.find("\r\n") + 2);
  body.resize(body.size() - 2);
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"RESTORE", "h2", "0", body}),
            "+OK\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"HLEN", "h2"}), ":2\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"TYPE", "s"}), "+set\r\n");
}

TEST_P(Store, ATransactionRunsItsCommandsInOrderOrNothing) {
  using commands = std::vector<std::vector<std::string>>;
  auto replies = ask<std::vector<std::string>>(
    transaction_atom::value,
    commands{{"SET", "t", "1"}, {"INCRBY", "t", "41"}, {"APPEND", "t", "x"},
             {"INCR", "t"}, {"MSET", "u", "1", "v", "2"}, {"GET", "t"}});
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0], "+OK\r\n");
  EXPECT_EQ(replies[1], ":42\r\n");
  EXPECT_EQ(replies[2], ":3\r\n");
  EXPECT_EQ(replies[3].front(), '-'); // an error in place; the rest ran
  EXPECT_EQ(replies[4], "+OK\r\n");
  EXPECT_EQ(replies[5], "$3\r\n42x\r\n");
  // One bad command: nothing runs, and the error says why.
  std::string why;
  self_->request(store_.actor, caf::infinite, transaction_atom::value,
                 commands{{"SET", "w", "1"}, {"GET"}})
    .receive([&](std::vector<std::string>&) { ADD_FAILURE() << "it ran"; },
             [&](caf::error& e) { why = system_.render(e); });
  EXPECT_NE(why.find("EXECABORT"), std::string::npos) << why;
  EXPECT_NE(why.find("wrong number of arguments for 'get'"), std::string::npos) << why;
  EXPECT_EQ(ask<std::string>(command_atom::value, std::vector<std::string>{"EXISTS", "w"}),
            ":0\r\n");
}

TEST_P(Store, TheMemoryBoundHoldsForEmbeddedUseToo) {
  using args = std::vector<std::string>;
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"SET", "kept", "v"}), "+OK\r\n");
  // A bound far below what the tables hold: noeviction refuses what may grow.
  store_.memory->set_limit(1);
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"SET", "new", "v"}),
            "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"GET", "kept"}), "$1\r\nv\r\n");
  EXPECT_EQ(store_.memory->evicted(), 0);
  // An evicting policy takes the writes and evicts down to the bound.
  store_.memory->set_policy(memory::policy::allkeys_random);
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"SET", "new", "v"}), "+OK\r\n");
  // Every shard evicts at the end of its next batch (this DBSIZE's), so the
  // second one finds none.
  ask<std::int64_t>(size_atom::value);
  EXPECT_EQ(ask<std::int64_t>(size_atom::value), 0);
  EXPECT_EQ(store_.memory->evicted(), 2);
  store_.memory->set_limit(0);
  EXPECT_TRUE(ask<bool>(caf::put_atom::value, std::string{"k"}, std::string{"v"}));
  EXPECT_EQ(ask<std::int64_t>(size_atom::value), 1);
}

TEST_P(Store, CommandsAndTransactionsTakeADatabase) {
  using args = std::vector<std::string>;
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{3}, args{"SET", "k", "three"}),
            "+OK\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{3}, args{"GET", "k"}),
            "$5\r\nthree\r\n");
  auto replies = ask<std::vector<std::string>>(
    transaction_atom::value, std::int32_t{5},
    std::vector<args>{{"SET", "a", "1"}, {"INCR", "a"}, {"DBSIZE"}});
  EXPECT_EQ(replies, (std::vector<std::string>{"+OK\r\n", ":2\r\n", ":1\r\n"}));
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{5}, args{"GET", "a"}),
            "$1\r\n2\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, args{"DBSIZE"}), ":0\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{16}, args{"GET", "k"}),
            "-ERR DB index is out of range\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{3}, args{"NOPE"}).rfind(
              "-ERR unknown command", 0),
            0u);
}

TEST_P(Store, TypedMultiKeyAndExpiryCommands) {
  using namespace std::chrono_literals;
  using pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_TRUE(ask<bool>(mset_atom::value, pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}}));
  auto values = ask<std::vector<caf::optional<std::string>>>(
    mget_atom::value, std::vector<std::string>{"a", "missing", "b"});
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], caf::optional<std::string>{"3"}); // the later pair won
  EXPECT_FALSE(values[1]);
  EXPECT_EQ(values[2], caf::optional<std::string>{"2"});

  EXPECT_EQ(ask<std::int64_t>(ttl_atom::value, std::string{"missing"}), ttl_missing_key);
  EXPECT_EQ(ask<std::int64_t>(ttl_atom::value, std::string{"a"}), ttl_no_deadline);
  EXPECT_FALSE(ask<bool>(expire_atom::value, std::string{"missing"}, caf::timespan{10s}));
  EXPECT_TRUE(ask<bool>(expire_atom::value, std::string{"a"}, caf::timespan{100s}));
  auto left = ask<std::int64_t>(ttl_atom::value, std::string{"a"});
  EXPECT_GT(left, 90'000);
  EXPECT_LE(left, 100'000);
  // A deadline in the past deletes the key, as PEXPIRE does.
  EXPECT_TRUE(ask<bool>(expire_atom::value, std::string{"b"}, caf::timespan{-1s}));
  EXPECT_EQ(ask<std::int64_t>(exists_atom::value, std::vector<std::string>{"b"}), 0);
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, Store,
                         ::testing::Values(shard::placement::io_thread,
                                           shard::placement::scheduler),
                         [](const auto& info) {
                           return std::string{shard::to_string(info.param)};
                         });
