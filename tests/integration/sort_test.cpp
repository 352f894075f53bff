// SORT and SORT_RO through the real node: numeric and ALPHA order, BY and GET
// patterns naming keys and hash fields on other shards, LIMIT, STORE (which
// wakes a client blocked on its destination), and a set sorted the same way
// inside a script.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/blocked_clients.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

TEST(Sort, OrdersListsSetsAndSortedSetsAsRedis) {
  server_process server{{"--stairs=4"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "l", "3", "1", "2", "10"}), 4));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l"}), {"1", "2", "3", "10"}));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "DESC", "LIMIT", "1", "2"}), {"3", "2"}));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "ALPHA"}), {"1", "10", "2", "3"}));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT_RO", "l", "LIMIT", "-5", "1"}), {"1"}));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "LIMIT", "9", "1"}), {}));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "BY", "nosort", "DESC"}),
                            {"10", "2", "1", "3"}));
  // Weights and values from keys and hash fields, wherever they live.
  EXPECT_TRUE(is_status(c.command({"MSET", "w_1", "30", "w_2", "20", "w_3", "10", "w_10", "5"}),
                        "OK"));
  EXPECT_TRUE(is_integer(c.command({"HSET", "h_1", "name", "one"}), 1));
  EXPECT_TRUE(is_integer(c.command({"HSET", "h_10", "name", "ten"}), 1));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "BY", "w_*"}), {"10", "3", "2", "1"}));
  auto got = c.command({"SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->name"});
  ASSERT_TRUE(got && got->type == REDIS_REPLY_ARRAY && got->elements == 8);
  EXPECT_EQ(std::string(got->element[0]->str), "10");
  EXPECT_EQ(std::string(got->element[1]->str), "ten");
  EXPECT_EQ(got->element[3]->type, REDIS_REPLY_NIL);
  EXPECT_EQ(std::string(got->element[7]->str), "one");
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "l", "BY", "h_*->name", "ALPHA", "LIMIT", "2", "2"}),
                            {"1", "10"}));
  EXPECT_TRUE(is_integer(c.command({"SADD", "s", "b", "a", "c"}), 3));
  EXPECT_TRUE(is_error(c.command({"SORT", "s"}),
                       "ERR One or more scores can't be converted into double"));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "s", "ALPHA", "DESC"}), {"c", "b", "a"}));
  EXPECT_TRUE(is_integer(c.command({"ZADD", "z", "1", "x", "2", "y", "0", "w"}), 3));
  EXPECT_TRUE(is_bulk_array(c.command({"SORT", "z", "BY", "nosort"}), {"w", "x", "y"}));
  EXPECT_TRUE(is_status(c.command({"SET", "str", "v"}), "OK"));
  EXPECT_TRUE(is_error_starting_with(c.command({"SORT", "str"}), "WRONGTYPE"));
  EXPECT_TRUE(is_error(c.command({"SORT_RO", "l", "STORE", "x"}), "ERR syntax error"));
  EXPECT_TRUE(is_error(c.command({"SORT", "l", "LIMIT", "a", "1"}),
                       "ERR value is not an integer or out of range"));
  // A set without an order of its own is sorted in a script, and when stored.
  EXPECT_TRUE(is_bulk_array(c.command({"EVAL", "return redis.call('sort', KEYS[1], 'by', 'k')",
                                       "1", "s"}),
                            {"a", "b", "c"}));
  EXPECT_TRUE(is_integer(c.command({"SORT", "s", "BY", "k", "STORE", "sorted"}), 3));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "sorted", "0", "-1"}), {"a", "b", "c"}));
  EXPECT_TRUE(is_integer(c.command({"SORT", "missing", "STORE", "sorted"}), 0));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "sorted"}), 0));
}

TEST(Sort, StoreWakesAClientBlockedOnItsDestination) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  deferred waiting{server.port(), {"BLPOP", "dest", "0"}};
  await_blocked(c, 1);
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "src", "2", "1"}), 2));
  EXPECT_TRUE(is_integer(c.command({"SORT", "src", "STORE", "dest"}), 2));
  EXPECT_TRUE(is_bulk_array(waiting.reply(), {"dest", "1"}));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "dest", "0", "-1"}), {"2"}));
}
