// Pub/sub and expiry notifications through the real node: SUBSCRIBE/PUBLISH,
// the subscribed-mode rules, and one `expired` event per key, never early.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_fixture.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

class PubSub : public server_test {};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Reads one pushed message: returns {channel, payload}.
std::pair<std::string, std::string> next_message(hiredis_connection& c) {
  auto r = c.get_reply();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
    return {};
  return {std::string(r->element[1]->str, r->element[1]->len),
          std::string(r->element[2]->str, r->element[2]->len)};
}

// Reads `count` messages on a subscription to __keyevent@0__:expired and tallies
// them against the deadlines the keys were given.
struct expiry_tally {
  std::set<std::string> heard;
  int duplicates = 0;
  int early = 0;          // heard before the key's deadline
  int unknown = 0;        // a key that was never set with a deadline
  int other_messages = 0; // anything but an expired event
};

expiry_tally hear_expiries(hiredis_connection& sub,
                           const std::map<std::string, std::int64_t>& earliest,
                           int count) {
  expiry_tally t;
  for (int i = 0; i < count; ++i) {
    auto [channel, key] = next_message(sub);
    if (channel != "__keyevent@0__:expired") {
      ++t.other_messages;
      continue;
    }
    if (!t.heard.insert(key).second)
      ++t.duplicates;
    auto it = earliest.find(key);
    if (it == earliest.end())
      ++t.unknown;
    else if (unix_ms() < it->second)
      ++t.early;
  }
  return t;
}

// Every one of `keys` keys heard, once, and none before its deadline.
void expect_each_heard_once_on_time(const expiry_tally& tally, int keys) {
  EXPECT_EQ(tally.other_messages, 0);
  EXPECT_EQ(tally.unknown, 0);
  EXPECT_EQ(tally.heard.size(), static_cast<std::size_t>(keys));
  EXPECT_EQ(tally.duplicates, 0);
  EXPECT_EQ(tally.early, 0);
}

} // namespace

TEST_F(PubSub, PublishReachesEverySubscriberAndCountsThem) {
  hiredis_connection a{port()};
  hiredis_connection b{port()};
  auto confirm = a.command({"SUBSCRIBE", "news", "other"});
  ASSERT_TRUE(confirm && confirm->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string(confirm->element[0]->str), "subscribe");
  a.get_reply(); // the second channel's confirmation
  b.command({"SUBSCRIBE", "news"});
  EXPECT_TRUE(is_integer(run({"PUBLISH", "news", "hello"}), 2));
  EXPECT_TRUE(is_integer(run({"PUBLISH", "nobody", "x"}), 0));
  EXPECT_EQ(next_message(a), std::make_pair(std::string{"news"}, std::string{"hello"}));
  EXPECT_EQ(next_message(b), std::make_pair(std::string{"news"}, std::string{"hello"}));
}

// Sharded pub/sub is a namespace of its own: SPUBLISH reaches SSUBSCRIBE's
// subscribers as smessage, PUBLISH of the same name reaches none of them.
TEST_F(PubSub, ShardChannelsAreApartFromChannels) {
  hiredis_connection sharded{port()};
  hiredis_connection plain{port()};
  auto confirm = sharded.command({"SSUBSCRIBE", "orders", "returns"});
  ASSERT_TRUE(confirm && confirm->type == REDIS_REPLY_ARRAY && confirm->elements == 3);
  EXPECT_EQ(std::string(confirm->element[0]->str), "ssubscribe");
  EXPECT_EQ(confirm->element[2]->integer, 1);
  auto second = sharded.get_reply();
  ASSERT_TRUE(second && second->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(second->element[2]->integer, 2); // counts shard channels alone
  plain.command({"SUBSCRIBE", "orders"});
  EXPECT_TRUE(is_integer(run({"SPUBLISH", "orders", "o-1"}), 1));
  EXPECT_TRUE(is_integer(run({"PUBLISH", "orders", "plain"}), 1));
  auto heard = sharded.get_reply();
  ASSERT_TRUE(heard && heard->type == REDIS_REPLY_ARRAY && heard->elements == 3);
  EXPECT_EQ(std::string(heard->element[0]->str), "smessage");
  EXPECT_EQ(std::string(heard->element[2]->str), "o-1");
  auto plain_heard = plain.get_reply();
  ASSERT_TRUE(plain_heard && plain_heard->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string(plain_heard->element[0]->str), "message");
  EXPECT_EQ(std::string(plain_heard->element[2]->str), "plain");
  auto listed = run({"PUBSUB", "SHARDCHANNELS"});
  ASSERT_TRUE(listed && listed->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(listed->elements, 2u);
  auto counted = run({"PUBSUB", "SHARDNUMSUB", "orders", "none"});
  ASSERT_TRUE(counted && counted->type == REDIS_REPLY_ARRAY && counted->elements == 4);
  EXPECT_EQ(counted->element[1]->integer, 1);
  EXPECT_EQ(counted->element[3]->integer, 0);
  // RESP2 subscribed mode: only subscription commands.
  EXPECT_TRUE(is_error_starting_with(sharded.command({"GET", "k"}), "ERR Can't execute 'get'"));
  auto bye = sharded.command({"SUNSUBSCRIBE"});
  ASSERT_TRUE(bye && bye->type == REDIS_REPLY_ARRAY);
  sharded.get_reply(); // the second channel's
  EXPECT_TRUE(is_nil(sharded.command({"GET", "k"})));
  EXPECT_TRUE(is_integer(run({"SPUBLISH", "orders", "o-2"}), 0));
}

TEST_F(PubSub, SubscribedConnectionsMayOnlyManageSubscriptionsPingAndQuit) {
  hiredis_connection c{port()};
  c.command({"SUBSCRIBE", "x"});
  EXPECT_TRUE(is_error_starting_with(c.command({"GET", "k"}), "ERR Can't execute 'get'"));
  auto pong = c.command({"PING"});
  ASSERT_TRUE(pong && pong->type == REDIS_REPLY_ARRAY && pong->elements == 2);
  EXPECT_EQ(std::string(pong->element[0]->str), "pong");
  auto bye = c.command({"UNSUBSCRIBE"});
  ASSERT_TRUE(bye && bye->type == REDIS_REPLY_ARRAY && bye->elements == 3);
  EXPECT_EQ(bye->element[2]->integer, 0);
  EXPECT_TRUE(is_nil(c.command({"GET", "k"})));
}

TEST_F(PubSub, EveryExpiringKeyIsAnnouncedOnceAndNeverBeforeItsDeadline) {
  hiredis_connection sub{port()};
  sub.command({"SUBSCRIBE", "__keyevent@0__:expired"});
  constexpr int keys = 2000;
  std::map<std::string, std::int64_t> earliest; // key -> no announcement before
  for (int i = 0; i < keys; ++i) {
    auto key = "exp:" + std::to_string(i);
    auto ttl = 100 + (i * 7) % 900;
    earliest[key] = unix_ms() + ttl;
    client().append({"SET", key, "v", "PX", std::to_string(ttl)});
  }
  client().append({"SET", "stays", "v"});
  for (int i = 0; i <= keys; ++i)
    client().get_reply();
  expect_each_heard_once_on_time(hear_expiries(sub, earliest, keys), keys);
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

class PubSubAcrossResizes : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--grow-keys-per-shard=300", "--resize-check-ms=5"};
  }
};

TEST_F(PubSubAcrossResizes, KeysExpiringWhileTheEngineGrowsAreAnnouncedOnce) {
  hiredis_connection sub{port()};
  sub.command({"SUBSCRIBE", "__keyevent@0__:expired"});
  // 3,000 keys expiring over ~1 s while their own arrival grows the engine from
  // one shard through several stairs: some expire before moving, some on the way
  // (reclaimed by the handover), some after.
  constexpr int keys = 3000;
  std::map<std::string, std::int64_t> earliest;
  for (int i = 0; i < keys; ++i) {
    auto key = "r:" + std::to_string(i);
    auto ttl = 50 + (i * 13) % 1000;
    earliest[key] = unix_ms() + ttl;
    client().append({"SET", key, "v", "PX", std::to_string(ttl)});
  }
  for (int i = 0; i < keys; ++i)
    client().get_reply();
  expect_each_heard_once_on_time(hear_expiries(sub, earliest, keys), keys);
  auto info = run({"INFO", "engine"});
  EXPECT_NE(text_of(info).find("engine_resizes_up:"), std::string::npos);
  EXPECT_EQ(text_of(info).find("engine_resizes_up:0\r\n"), std::string::npos)
    << "the engine never grew during the test";
}

TEST_F(PubSub, PatternSubscribersGetPmessagesAndPubsubReportsTheState) {
  hiredis_connection p{port()};
  hiredis_connection c{port()};
  p.command({"PSUBSCRIBE", "ne*"});
  c.command({"SUBSCRIBE", "news"});
  EXPECT_TRUE(is_integer(run({"PUBLISH", "news", "hi"}), 2));
  auto r = p.get_reply();
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 4);
  EXPECT_EQ(std::string(r->element[0]->str), "pmessage");
  EXPECT_EQ(std::string(r->element[1]->str), "ne*");
  EXPECT_EQ(std::string(r->element[2]->str), "news");
  EXPECT_EQ(std::string(r->element[3]->str), "hi");
  EXPECT_TRUE(is_bulk_array(run({"PUBSUB", "CHANNELS"}), {std::string{"news"}}));
  EXPECT_TRUE(is_bulk_array(run({"PUBSUB", "CHANNELS", "x*"}), {}));
  auto numsub = run({"PUBSUB", "NUMSUB", "news", "nope"});
  ASSERT_TRUE(numsub && numsub->type == REDIS_REPLY_ARRAY && numsub->elements == 4);
  EXPECT_EQ(numsub->element[1]->integer, 1);
  EXPECT_EQ(numsub->element[3]->integer, 0);
  EXPECT_TRUE(is_integer(run({"PUBSUB", "NUMPAT"}), 1));
  EXPECT_TRUE(is_error(run({"PUBSUB", "FOO"}), "ERR unknown subcommand 'FOO'. Try PUBSUB HELP."));
  auto bye = p.command({"PUNSUBSCRIBE"});
  ASSERT_TRUE(bye && bye->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string(bye->element[0]->str), "punsubscribe");
  EXPECT_TRUE(is_integer(run({"PUBSUB", "NUMPAT"}), 0));
}
