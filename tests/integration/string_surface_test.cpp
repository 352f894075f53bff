// The rest of the string and key surface through the real node: SETNX, GETSET,
// GETRANGE, SETRANGE, INCRBYFLOAT, UNLINK, TYPE, KEYS, RANDOMKEY, TIME, FUNCTION
// FLUSH. Expected replies were taken from redis-server 7.0.15.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_fixture.hpp"

using namespace stairkv::testing;

namespace {

class StringSurface : public server_test {};

std::vector<std::string> sorted_strings(const reply_ptr& r) {
  std::vector<std::string> out;
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return {"(not an array: " + describe(r.get()) + ")"};
  for (std::size_t i = 0; i < r->elements; ++i)
    out.emplace_back(r->element[i]->str, r->element[i]->len);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_F(StringSurface, SetnxAndGetset) {
  EXPECT_TRUE(is_integer(run({"SETNX", "a", "1"}), 1));
  EXPECT_TRUE(is_integer(run({"SETNX", "a", "2"}), 0));
  EXPECT_TRUE(is_bulk(run({"GETSET", "a", "3"}), "1"));
  EXPECT_TRUE(is_nil(run({"GETSET", "fresh", "x"})));
  run({"SET", "t", "v", "EX", "100"});
  EXPECT_TRUE(is_bulk(run({"GETSET", "t", "w"}), "v"));
  EXPECT_TRUE(is_integer(run({"TTL", "t"}), -1)); // GETSET drops the deadline
}

TEST_F(StringSurface, GetrangeClampsLikeRedis) {
  run({"SET", "s", "Hello"});
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "s", "0", "3"}), "Hell"));
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "s", "-3", "-1"}), "llo"));
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "s", "0", "-100"}), "H"));
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "s", "10", "100"}), ""));
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "s", "-1", "-5"}), ""));
  EXPECT_TRUE(is_bulk(run({"GETRANGE", "missing", "0", "1"}), ""));
  EXPECT_TRUE(is_error(run({"GETRANGE", "s", "a", "1"}),
                       "ERR value is not an integer or out of range"));
}

TEST_F(StringSurface, SetrangeOverwritesAndPadsWithZeroBytes) {
  run({"SET", "s", "Hello World"});
  EXPECT_TRUE(is_integer(run({"SETRANGE", "s", "6", "Redis"}), 11));
  EXPECT_TRUE(is_bulk(run({"GET", "s"}), "Hello Redis"));
  EXPECT_TRUE(is_integer(run({"SETRANGE", "new", "3", "x"}), 4));
  EXPECT_TRUE(is_bulk(run({"GET", "new"}), std::string("\0\0\0x", 4)));
  EXPECT_TRUE(is_integer(run({"SETRANGE", "empty", "5", ""}), 0));
  EXPECT_TRUE(is_integer(run({"EXISTS", "empty"}), 0));
  EXPECT_TRUE(is_error(run({"SETRANGE", "s", "-1", "x"}), "ERR offset is out of range"));
  EXPECT_TRUE(is_error(run({"SETRANGE", "s", "536870911", "xy"}),
                       "ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
}

TEST_F(StringSurface, IncrbyfloatFormatsAsRedisDoes) {
  run({"SET", "f", "10.5"});
  EXPECT_TRUE(is_bulk(run({"INCRBYFLOAT", "f", "0.1"}), "10.6"));
  EXPECT_TRUE(is_bulk(run({"INCRBYFLOAT", "f", "-5"}), "5.6"));
  EXPECT_TRUE(is_bulk(run({"INCRBYFLOAT", "f", "5.0e3"}), "5005.60000000000000009"));
  EXPECT_TRUE(is_bulk(run({"INCRBYFLOAT", "n", "3"}), "3"));
  EXPECT_TRUE(is_error(run({"INCRBYFLOAT", "f", "abc"}), "ERR value is not a valid float"));
  run({"SET", "text", "abc"});
  EXPECT_TRUE(is_error(run({"INCRBYFLOAT", "text", "1"}), "ERR value is not a valid float"));
  run({"SET", "big", "1e4932"}); // near the top of an x87 long double
  EXPECT_TRUE(is_error(run({"INCRBYFLOAT", "big", "1e4932"}),
                       "ERR increment would produce NaN or Infinity"));
  run({"SET", "ttl", "1", "EX", "100"});
  run({"INCRBYFLOAT", "ttl", "1.5"});
  EXPECT_TRUE(is_integer(run({"TTL", "ttl"}), 100)); // the deadline stays
}

TEST_F(StringSurface, UnlinkTypeKeysRandomkey) {
  EXPECT_TRUE(is_nil(run({"RANDOMKEY"})));
  for (int i = 0; i < 300; ++i)
    client().append({"SET", "k:" + std::to_string(i), "v"});
  client().append({"SET", "other", "v"});
  for (int i = 0; i < 301; ++i)
    client().get_reply();
  EXPECT_TRUE(is_status(run({"TYPE", "other"}), "string"));
  EXPECT_TRUE(is_status(run({"TYPE", "nope"}), "none"));
  EXPECT_EQ(sorted_strings(run({"KEYS", "o*"})), std::vector<std::string>{"other"});
  EXPECT_EQ(sorted_strings(run({"KEYS", "*"})).size(), 301u);
  EXPECT_EQ(sorted_strings(run({"KEYS", "k:1?"})).size(), 10u);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i)
    seen.insert(text_of(run({"RANDOMKEY"})));
  EXPECT_GT(seen.size(), 20u);
  EXPECT_TRUE(is_integer(run({"UNLINK", "other", "k:1", "nope"}), 2));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 299));
}

TEST_F(StringSurface, TimeAndFunctionFlush) {
  auto r = run({"TIME"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) << describe(r.get());
  EXPECT_GT(std::stoll(r->element[0]->str), 1700000000);
  EXPECT_LT(std::stoll(r->element[1]->str), 1000000);
  EXPECT_TRUE(is_status(run({"FUNCTION", "FLUSH"}), "OK"));
  EXPECT_TRUE(is_error(run({"FUNCTION", "LOAD", "x"}),
                       "ERR unknown subcommand 'LOAD'. Try FUNCTION HELP."));
}

class StringSurfaceAcrossResizes : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--grow-keys-per-shard=200", "--resize-check-ms=5"};
  }
};

TEST_F(StringSurfaceAcrossResizes, KeysListsEveryKeyWhileTheEngineGrows) {
  constexpr int total = 3000;
  for (int i = 0; i < total; ++i) {
    client().append({"SET", "g:" + std::to_string(i), "v"});
    if (i % 250 == 249) {
      client().append({"KEYS", "g:*"});
      for (int j = 0; j < 250; ++j)
        client().get_reply();
      auto listed = sorted_strings(client().get_reply());
      EXPECT_EQ(listed.size(), static_cast<std::size_t>(i + 1)) << "after " << i + 1;
      EXPECT_FALSE(text_of(run({"RANDOMKEY"})).empty());
    }
  }
  auto info = text_of(run({"INFO", "engine"}));
  EXPECT_EQ(info.find("engine_resizes_up:0\r\n"), std::string::npos);
}
