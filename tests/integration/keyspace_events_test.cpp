// Keyspace notifications beyond `expired`, CONFIG GET/SET of
// notify-keyspace-events, and the pub/sub output limit, through the real node.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_fixture.hpp"

using namespace stairkv::testing;

namespace {

class KeyspaceEvents : public server_test {};

// The next pushed message as "channel payload" ("pattern channel payload" for a
// pmessage); "" if the reply is not a message.
std::string next_push(hiredis_connection& c) {
  auto r = c.get_reply();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
    return describe(r.get());
  std::string out;
  for (std::size_t i = 1; i < r->elements; ++i) {
    if (i > 1)
      out += ' ';
    out.append(r->element[i]->str, r->element[i]->len);
  }
  return out;
}

} // namespace

TEST_F(KeyspaceEvents, ByDefaultOnlyExpiredEventsAreSent) {
  EXPECT_TRUE(is_bulk_array(run({"CONFIG", "GET", "notify-keyspace-events"}),
                            {std::string{"notify-keyspace-events"}, std::string{"xE"}}));
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__key*__:*"});
  run({"SET", "plain", "1"});
  run({"DEL", "plain"});
  run({"SET", "short", "1", "PX", "20"});
  // The first message heard is the expiry: SET and DEL sent nothing.
  EXPECT_EQ(next_push(sub), "__key*__:* __keyevent@0__:expired short");
}

TEST_F(KeyspaceEvents, WritesAreAnnouncedOnBothChannelsInOrder) {
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "KEA"}), "OK"));
  EXPECT_TRUE(is_bulk_array(run({"CONFIG", "GET", "notify-keyspace-events"}),
                            {std::string{"notify-keyspace-events"}, std::string{"AKE"}}));
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__key*__:*"});
  run({"SET", "foo", "bar"});
  run({"EXPIRE", "foo", "100"});
  run({"PERSIST", "foo"});
  run({"APPEND", "foo", "!"});
  run({"DEL", "foo", "never-there"});
  run({"INCRBY", "n", "3"});
  run({"GETDEL", "n"});
  run({"SET", "t", "1", "EX", "50"});
  run({"EXPIRE", "t", "-1"}); // a deadline in the past deletes the key
  const std::vector<std::pair<std::string, std::string>> expected = {
    {"foo", "set"}, {"foo", "expire"}, {"foo", "persist"}, {"foo", "append"},
    {"foo", "del"}, {"n", "incrby"},   {"n", "del"},       {"t", "set"},
    {"t", "expire"}, {"t", "del"},
  };
  for (const auto& [key, event] : expected) {
    EXPECT_EQ(next_push(sub), "__key*__:* __keyspace@0__:" + key + " " + event);
    EXPECT_EQ(next_push(sub), "__key*__:* __keyevent@0__:" + event + " " + key);
  }
  // Nothing else was sent in between: the next message is this PUBLISH.
  run({"PUBLISH", "__key_marker__:end", "."});
  EXPECT_EQ(next_push(sub), "__key*__:* __key_marker__:end .");
}

TEST_F(KeyspaceEvents, ClassesAndTargetsFollowTheLetters) {
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__key*__:*"});
  // Keyspace channel only, string commands only.
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "K$"}), "OK"));
  run({"SET", "a", "1"});
  run({"DEL", "a"});
  run({"INCR", "b"});
  EXPECT_EQ(next_push(sub), "__key*__:* __keyspace@0__:a set");
  EXPECT_EQ(next_push(sub), "__key*__:* __keyspace@0__:b incrby");
  // Key misses and new keys are outside A, as in Redis.
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "Emn"}), "OK"));
  run({"GET", "missing"});
  run({"SET", "fresh", "1"});
  EXPECT_EQ(next_push(sub), "__key*__:* __keyevent@0__:keymiss missing");
  EXPECT_EQ(next_push(sub), "__key*__:* __keyevent@0__:new fresh");
  // Without K or E nothing is sent at all.
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "A"}), "OK"));
  run({"SET", "quiet", "1"});
  run({"PUBLISH", "__key_marker__:end", "."});
  EXPECT_EQ(next_push(sub), "__key*__:* __key_marker__:end .");
}

TEST_F(KeyspaceEvents, ConfigSetChecksEveryPairBeforeApplyingAny) {
  EXPECT_TRUE(is_error(
    run({"CONFIG", "SET", "notify-keyspace-events", "Kq"}),
    "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."));
  EXPECT_TRUE(is_error_starting_with(
    run({"CONFIG", "SET", "maxclients", "50", "notify-keyspace-events", "Kq"}),
    "ERR CONFIG SET failed"));
  EXPECT_TRUE(is_bulk_array(run({"CONFIG", "GET", "maxclients"}),
                            {std::string{"maxclients"}, std::string{"10000"}}));
  EXPECT_TRUE(is_error(run({"CONFIG", "SET", "nosuch", "1"}),
                       "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"));
  EXPECT_TRUE(is_error(
    run({"CONFIG", "SET", "port", "1"}),
    "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"));
  EXPECT_TRUE(is_error(
    run({"CONFIG", "SET", "maxclients", "5", "MAXCLIENTS", "6"}),
    "ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter"));
  EXPECT_TRUE(is_error(run({"CONFIG", "SET", "maxclients"}),
                       "ERR wrong number of arguments for 'config|set' command"));
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "maxclients", "50", "notify-keyspace-events", "Ex"}), "OK"));
  EXPECT_TRUE(is_bulk_array(run({"CONFIG", "GET", "maxclients"}),
                            {std::string{"maxclients"}, std::string{"50"}}));
  EXPECT_EQ(info_text(client(), "maxclients"), "50");
}

TEST_F(KeyspaceEvents, PlainSetCancelsThePendingExpiry) {
  hiredis_connection sub{port()};
  sub.command({"SUBSCRIBE", "__keyevent@0__:expired"});
  run({"SET", "k", "v", "PX", "100"});
  run({"SET", "k", "v2"});
  // A key due after k's old deadline: if k were still due, it would be heard first.
  run({"SET", "sentinel", "v", "PX", "300"});
  auto r = sub.get_reply();
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) << describe(r.get());
  EXPECT_EQ(std::string(r->element[2]->str), "sentinel");
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v2"));
  EXPECT_TRUE(is_integer(run({"TTL", "k"}), -1));
}

TEST_F(KeyspaceEvents, InfoCountsChannelsPatternsAndStaleKeys) {
  hiredis_connection a{port()};
  a.command({"SUBSCRIBE", "one", "two"});
  a.get_reply();
  hiredis_connection b{port()};
  b.command({"PSUBSCRIBE", "p*"});
  b.command({"SUBSCRIBE", "one"});
  EXPECT_EQ(info_text(client(), "pubsub_channels"), "2");
  EXPECT_EQ(info_text(client(), "pubsub_patterns"), "1");
  EXPECT_EQ(info_text(client(), "expired_stale_perc"), "0.00");
}

class SlowSubscriber : public server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--client-output-buffer-limit=pubsub 4mb 1mb 60"};
  }
};

TEST_F(SlowSubscriber, IsCutOffAloneWhileOthersGetEveryMessage) {
  EXPECT_TRUE(is_bulk_array(
    run({"CONFIG", "GET", "client-output-buffer-limit"}),
    {std::string{"client-output-buffer-limit"},
     std::string{"normal 0 0 0 slave 268435456 67108864 60 pubsub 4194304 1048576 60"}}));
  hiredis_connection slow{port()};
  slow.command({"SUBSCRIBE", "feed"});
  hiredis_connection fast{port()};
  fast.command({"SUBSCRIBE", "feed"});
  constexpr int messages = 1500; // 16 KB each: 24 MB, far past what sockets hold
  const std::string payload(16 * 1024, 'm');
  std::atomic<int> received{0};
  std::atomic<int> wrong{0};
  std::thread reader{[&] {
    try {
      for (int i = 0; i < messages; ++i) {
        auto r = fast.get_reply();
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3
            || r->element[2]->len != payload.size())
          ++wrong;
        ++received;
      }
    } catch (const std::exception&) {
      // counted below: fewer messages than sent
    }
  }};
  // In bursts of 10 (160 KB): far below the 4 MB limit for a subscriber that
  // reads, while one that does not read passes it once the kernel's buffers
  // (a few MB on loopback) are full.
  std::int64_t receivers_total = 0;
  for (int sent = 0; sent < messages; sent += 10) {
    for (int i = 0; i < 10; ++i)
      client().append({"PUBLISH", "feed", payload});
    for (int i = 0; i < 10; ++i)
      receivers_total += integer_of(client().get_reply());
  }
  reader.join();
  EXPECT_EQ(received.load(), messages);
  EXPECT_EQ(wrong.load(), 0);
  // The slow subscriber counted as a receiver until it was cut off.
  EXPECT_LT(receivers_total, 2 * messages);
  EXPECT_EQ(info_text(client(), "client_output_buffer_limit_disconnections"), "1");
  EXPECT_EQ(info_text(client(), "connected_clients"), "2");
  // The slow client finds its connection closed once it reads what the kernel
  // had already accepted for it.
  bool closed = false;
  try {
    for (int i = 0; i < messages + 1; ++i)
      slow.get_reply();
  } catch (const std::exception&) {
    closed = slow.context()->err == REDIS_ERR_EOF;
  }
  EXPECT_TRUE(closed) << "error: " << slow.context()->errstr;
  EXPECT_TRUE(is_status(run({"PING"}), "PONG"));
}

// Hash and set writes report Redis's event names (classes h and s), and a
// hash or set that loses its last field or member is deleted.
TEST_F(KeyspaceEvents, HashAndSetWritesReportTheirEvents) {
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "Khsg"}), "OK"));
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__keyspace@0__:*"});
  run({"HSET", "h", "f", "1"});
  run({"HINCRBY", "h", "f", "2"});
  run({"HINCRBYFLOAT", "h", "f", "0.5"});
  run({"HDEL", "h", "f"});
  run({"SADD", "s", "a", "b"});
  run({"SADD", "s", "a"}); // nothing new: no event
  run({"SREM", "s", "a"});
  run({"SPOP", "s"});
  run({"SADD", "t", "x"});
  run({"SADD", "u", "x"});
  run({"SINTERSTORE", "dst", "t", "u"});
  run({"SUNIONSTORE", "dst", "t", "u"});
  run({"SDIFFSTORE", "dst", "t", "u"}); // empty: the destination goes
  const std::vector<std::pair<std::string, std::string>> expected = {
    {"h", "hset"}, {"h", "hincrby"}, {"h", "hincrbyfloat"}, {"h", "hdel"}, {"h", "del"},
    {"s", "sadd"}, {"s", "srem"},    {"s", "spop"},         {"s", "del"},  {"t", "sadd"},
    {"u", "sadd"}, {"dst", "sinterstore"}, {"dst", "sunionstore"}, {"dst", "del"},
  };
  for (const auto& [key, event] : expected)
    EXPECT_EQ(next_push(sub), "__keyspace@0__:* __keyspace@0__:" + key + " " + event);
  run({"PUBLISH", "__keyspace@0__:marker", "."});
  EXPECT_EQ(next_push(sub), "__keyspace@0__:* __keyspace@0__:marker .");
}

TEST_F(KeyspaceEvents, RenameAnnouncesBothEnds) {
  EXPECT_TRUE(is_status(run({"CONFIG", "SET", "notify-keyspace-events", "Eg"}), "OK"));
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__keyevent@0__:rename_*"});
  run({"SET", "from", "1"});
  run({"RENAME", "from", "to"});
  EXPECT_EQ(next_push(sub), "__keyevent@0__:rename_* __keyevent@0__:rename_from from");
  EXPECT_EQ(next_push(sub), "__keyevent@0__:rename_* __keyevent@0__:rename_to to");
}

namespace {

class ThreeStairs : public server_test {
  std::vector<std::string> server_args() const override {
    return {"--stairs=3", "--notify-keyspace-events=KEA"};
  }
};

} // namespace

// A transaction's and a multi-key command's events go out after it, in its
// order, although its keys live on different shards; a later command's come
// after them.
TEST_F(ThreeStairs, EventsOfATransactionComeInItsOrderAfterIt) {
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__keyevent@0__:*"});
  std::vector<std::string> expected;
  hiredis_connection c{port()};
  for (int round = 0; round < 20; ++round) {
    c.append({"MULTI"});
    std::vector<std::string> mset{"MSET"};
    for (int i = 0; i < 12; ++i) {
      auto key = "k" + std::to_string((i * 7 + round) % 12);
      if (i % 3 == 0) {
        c.append({"INCR", key + ":n"});
        expected.push_back("incrby " + key + ":n");
      } else {
        c.append({"SET", key, "v"});
        expected.push_back("set " + key);
      }
      mset.push_back("m" + std::to_string((i * 5 + round) % 12));
      mset.push_back("x");
    }
    // Three of the keys just set (i = 1, 2, 4), each on its own shard or not.
    std::vector<std::string> del{"DEL"};
    for (int i : {4, 1, 2}) {
      del.push_back("k" + std::to_string((i * 7 + round) % 12));
      expected.push_back("del " + del.back());
    }
    c.append(del);
    c.append({"EXEC"});
    c.append(mset);
    for (std::size_t i = 1; i < mset.size(); i += 2)
      expected.push_back("set " + mset[i]);
    c.append({"SET", "k3", "after"});
    expected.push_back("set k3");
    for (int i = 0; i < 1 + 12 + 1 + 1 + 1 + 1; ++i) // MULTI, queued, DEL, EXEC, MSET, SET
      c.get_reply();
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto push = next_push(sub);
    auto space = push.find(' ');
    auto channel = push.substr(space + 1);
    ASSERT_EQ(channel, "__keyevent@0__:" + expected[i].substr(0, expected[i].find(' '))
                         + " " + expected[i].substr(expected[i].find(' ') + 1))
      << "event " << i;
  }
}

namespace {

class Growing : public server_test {
  std::vector<std::string> server_args() const override {
    return {"--notify-keyspace-events=KEA", "--enable-debug-command=yes",
            "--grow-keys-per-shard=2000", "--resize-check-ms=20"};
  }
};

} // namespace

// The same while keys move to a larger engine: an old shard splits its share
// of the events over the new shards it feeds, and the broker still orders them.
TEST_F(Growing, EventsOfATransactionKeepItsOrderWhileKeysMove) {
  // Keys enough to grow the engine several times (POPULATE's own events are
  // heard before the subscription starts).
  ASSERT_TRUE(is_status(run({"DEBUG", "POPULATE", "60000"}), "OK"));
  hiredis_connection sub{port()};
  sub.command({"PSUBSCRIBE", "__keyevent@0__:set"});
  hiredis_connection c{port()};
  std::vector<std::string> expected;
  int round = 0;
  bool moved_during = rounds_while_keys_move(
    c,
    [&] {
      c.append({"MULTI"});
      for (int i = 0; i < 16; ++i) {
        auto key = "key:" + std::to_string((round * 16 + i * 977) % 60000);
        c.append({"SET", key, "v"});
        expected.push_back(key);
      }
      c.append({"EXEC"});
      for (int i = 0; i < 18; ++i)
        c.get_reply();
      ++round;
    },
    [&] { return round >= 50 && info_integer(c, "engine_migrating") == 0; });
  EXPECT_TRUE(moved_during) << "no transaction ran while keys moved";
  for (std::size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ(next_push(sub), "__keyevent@0__:set __keyevent@0__:set " + expected[i])
      << "event " << i;
}
