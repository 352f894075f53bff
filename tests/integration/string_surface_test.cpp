// The rest of the string and key surface through the real node: SETNX, GETSET,
// GETRANGE, SETRANGE, INCRBYFLOAT, UNLINK, TYPE, KEYS, RANDOMKEY, TIME, FUNCTION
// FLUSH. Expected replies were taken from redis-server 7.0.15.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
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
  EXPECT_TRUE(is_error(run({"FUNCTION", "LOAD", "x"}), "ERR Missing library metadata"));
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

TEST_F(StringSurface, RenameMovesValueAndDeadline) {
  run({"SET", "a", "1", "EX", "100"});
  run({"SET", "b", "old", "EX", "5000"});
  EXPECT_TRUE(is_status(run({"RENAME", "a", "b"}), "OK"));
  EXPECT_TRUE(is_nil(run({"GET", "a"})));
  EXPECT_TRUE(is_bulk(run({"GET", "b"}), "1"));
  EXPECT_TRUE(is_integer(run({"TTL", "b"}), 100)); // the source's deadline, not the target's
  EXPECT_TRUE(is_error(run({"RENAME", "a", "c"}), "ERR no such key"));
  EXPECT_TRUE(is_status(run({"RENAME", "b", "b"}), "OK"));
  EXPECT_TRUE(is_error(run({"RENAME", "zz", "zz"}), "ERR no such key"));
  run({"SET", "x", "1"});
  EXPECT_TRUE(is_integer(run({"RENAMENX", "x", "b"}), 0));
  EXPECT_TRUE(is_integer(run({"RENAMENX", "x", "y"}), 1));
  EXPECT_TRUE(is_integer(run({"RENAMENX", "y", "y"}), 0));
  EXPECT_TRUE(is_integer(run({"TTL", "y"}), -1));
}

TEST_F(StringSurface, APipelineSeesWhatRenameAndMsetnxDid) {
  // Many keys, so that sources and targets sit on different shards too.
  for (int i = 0; i < 50; ++i) {
    auto n = std::to_string(i);
    client().append({"SET", "src" + n, "v" + n});
    client().append({"RENAME", "src" + n, "dst" + n});
    client().append({"GET", "dst" + n});
    client().append({"EXISTS", "src" + n});
    client().append({"MSETNX", "m" + n, "1", "dst" + n, "x"});
    client().append({"MSETNX", "m" + n, "1", "n" + n, "2"});
    client().append({"MGET", "m" + n, "n" + n});
  }
  for (int i = 0; i < 50; ++i) {
    auto n = std::to_string(i);
    EXPECT_TRUE(is_status(client().get_reply(), "OK"));
    EXPECT_TRUE(is_status(client().get_reply(), "OK"));
    EXPECT_TRUE(is_bulk(client().get_reply(), "v" + n));
    EXPECT_TRUE(is_integer(client().get_reply(), 0));
    EXPECT_TRUE(is_integer(client().get_reply(), 0)) << "dst" << n << " exists";
    EXPECT_TRUE(is_integer(client().get_reply(), 1));
    EXPECT_TRUE(is_bulk_array(client().get_reply(), {std::string{"1"}, std::string{"2"}}));
  }
  EXPECT_TRUE(is_error(run({"MSETNX", "a", "1", "b"}),
                       "ERR wrong number of arguments for 'msetnx' command"));
}

namespace {

// A full SCAN iteration; `between` runs after every call.
template <class F>
std::vector<std::string> full_scan(hiredis_connection& c,
                                   const std::vector<std::string>& options, F between) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  int calls = 0;
  do {
    if (++calls > 100000)
      throw std::runtime_error("SCAN did not finish in 100,000 calls");
    std::vector<std::string> argv{"SCAN", cursor};
    argv.insert(argv.end(), options.begin(), options.end());
    auto r = c.command(argv);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
      throw std::runtime_error("bad SCAN reply " + describe(r.get()));
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (std::size_t i = 0; i < r->element[1]->elements; ++i)
      keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    between();
  } while (cursor != "0");
  return keys;
}

} // namespace

TEST_F(StringSurface, ScanVisitsEveryKeyOnceWithMatchCountAndType) {
  for (int i = 0; i < 1000; ++i)
    client().append({"SET", "key:" + std::to_string(i), "v"});
  for (int i = 0; i < 1000; ++i)
    client().get_reply();
  auto all = full_scan(client(), {}, [] {});
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(unique.size(), 1000u);
  EXPECT_EQ(full_scan(client(), {"MATCH", "key:1??"}, [] {}).size(), 100u);
  EXPECT_EQ(full_scan(client(), {"COUNT", "200", "TYPE", "string"}, [] {}).size(), 1000u);
  EXPECT_TRUE(full_scan(client(), {"TYPE", "hash"}, [] {}).empty());
  EXPECT_TRUE(is_error(run({"SCAN", "x"}), "ERR invalid cursor"));
  EXPECT_TRUE(is_error(run({"SCAN", "0", "COUNT", "0"}), "ERR syntax error"));
}

TEST_F(StringSurfaceAcrossResizes, ScanReturnsEveryKeyThatStayedWhileTheEngineGrows) {
  constexpr int stable = 1000;
  for (int i = 0; i < stable; ++i)
    client().append({"SET", "stable:" + std::to_string(i), "v"});
  for (int i = 0; i < stable; ++i)
    client().get_reply();
  hiredis_connection writer{port()};
  int added = 0;
  // After every SCAN call, 400 more keys arrive: the engine grows (past 1,400
  // and 3,000 keys) during the iteration, and keys move between shards under it.
  auto keys = full_scan(client(), {"COUNT", "300"}, [&] {
    for (int i = 0; i < 400; ++i)
      writer.append({"SET", "new:" + std::to_string(added++), "v"});
    for (int i = 0; i < 400; ++i)
      writer.get_reply();
  });
  std::set<std::string> seen(keys.begin(), keys.end());
  int missing = 0;
  for (int i = 0; i < stable; ++i)
    if (!seen.count("stable:" + std::to_string(i)))
      ++missing;
  EXPECT_EQ(missing, 0);
  auto info = text_of(run({"INFO", "engine"}));
  EXPECT_EQ(info.find("engine_resizes_up:0\r\n"), std::string::npos) << "never grew";
}
