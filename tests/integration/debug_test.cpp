// DEBUG through the real node: its gate, and the subcommands Redis's tests and
// operators lean on (DIGEST, POPULATE, RELOAD, LOADAOF, SET-ACTIVE-EXPIRE,
// OBJECT, PROTOCOL, SLEEP).

#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

const std::string empty_digest(40, '0');

std::string digest(hiredis_connection& c) {
  return text_of(c.command({"DEBUG", "DIGEST"}));
}

} // namespace

TEST(Debug, IsRefusedUnlessEnabledAndLocalMeansLoopback) {
  {
    server_process server;
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_error_starting_with(c.command({"DEBUG", "HELP"}),
                                       "ERR DEBUG command not allowed."));
    EXPECT_TRUE(is_error_starting_with(c.command({"DEBUG", "DIGEST"}),
                                       "ERR DEBUG command not allowed."));
    auto config = c.command({"CONFIG", "GET", "enable-debug-command"});
    ASSERT_EQ(config->elements, 2u);
    EXPECT_EQ(std::string{config->element[1]->str}, "no");
  }
  server_process server{{"--enable-debug-command=local"}};
  hiredis_connection c{server.port()};
  auto help = c.command({"DEBUG", "HELP"});
  ASSERT_EQ(help->type, REDIS_REPLY_ARRAY) << describe(help.get());
  EXPECT_GT(help->elements, 10u);
  EXPECT_TRUE(is_error_starting_with(c.command({"DEBUG", "NO-SUCH-THING"}),
                                     "ERR unknown subcommand 'NO-SUCH-THING'"));
}

TEST(Debug, PopulateDigestAndReloadKeepEveryKeyValueAndDeadline) {
  auto dir = make_test_dir("debug");
  server_process server{{"--enable-debug-command=yes", "--dir=" + dir}};
  hiredis_connection c{server.port()};
  EXPECT_EQ(digest(c), empty_digest);
  EXPECT_TRUE(is_status(c.command({"SET", "key:7", "mine"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "10000"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 10000));
  EXPECT_TRUE(is_bulk(c.command({"GET", "key:7"}), "mine")); // existing keys stay
  EXPECT_TRUE(is_bulk(c.command({"GET", "key:9999"}), "value:9999"));
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "3", "sized", "10"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "sized:2"}), std::string("value:2\0\0\0", 10)));
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "2", "cut", "3"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "cut:1"}), "val"));
  EXPECT_TRUE(is_integer(c.command({"PEXPIRE", "key:1", "1000000"}), 1));

  auto before = digest(c);
  EXPECT_EQ(before.size(), 40u);
  EXPECT_NE(before, empty_digest);
  EXPECT_EQ(digest(c), before);
  EXPECT_TRUE(is_status(c.command({"DEBUG", "RELOAD"}), "OK"));
  EXPECT_EQ(digest(c), before);
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 10005));
  EXPECT_GT(integer_of(c.command({"PTTL", "key:1"})), 900000);
  EXPECT_TRUE(server.wait_for_log("DB reloaded by DEBUG RELOAD", 5s)) << server.log();

  // A change shows; undoing it restores the digest.
  EXPECT_TRUE(is_status(c.command({"SET", "key:3", "changed"}), "OK"));
  EXPECT_NE(digest(c), before);
  EXPECT_TRUE(is_status(c.command({"SET", "key:3", "value:3"}), "OK"));
  EXPECT_EQ(digest(c), before);

  // DIGEST-VALUE: equal values, equal digests, whatever the key.
  auto values = c.command({"DEBUG", "DIGEST-VALUE", "key:3", "key:3", "nokey"});
  ASSERT_EQ(values->elements, 3u);
  EXPECT_EQ(std::string{values->element[0]->str}, values->element[1]->str);
  EXPECT_EQ(std::string{values->element[2]->str}, empty_digest);
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(Debug, LoadaofPlaysTheAppendOnlyFileBack) {
  auto dir = make_test_dir("debug");
  server_process server{{"--enable-debug-command=yes", "--dir=" + dir,
                         "--appendonly=yes", "--appendfsync=always"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "5000"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"DEL", "key:0"}), 1));
  EXPECT_TRUE(is_status(c.command({"SET", "ttl", "v", "EX", "1000"}), "OK"));
  auto before = digest(c);
  EXPECT_TRUE(is_status(c.command({"DEBUG", "LOADAOF"}), "OK"));
  EXPECT_EQ(digest(c), before);
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 5000));
  EXPECT_TRUE(is_nil(c.command({"GET", "key:0"})));
  EXPECT_GT(integer_of(c.command({"TTL", "ttl"})), 990);
  // Without the append-only file there is nothing to load.
  server_process plain{{"--enable-debug-command=yes"}};
  hiredis_connection p{plain.port()};
  EXPECT_TRUE(is_error_starting_with(p.command({"DEBUG", "LOADAOF"}), "ERR"));
}

TEST(Debug, DigestStaysTheSameWhileTheEngineGrows) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "60000"}), "OK"));
  auto first = digest(c);
  // Digests taken while keys move between engines (shares of old shards
  // gathered from the new ones) must equal the one before.
  int during = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool moving_before = info_integer(c, "engine_migrating") == 1;
    EXPECT_EQ(digest(c), first);
    bool moving_after = info_integer(c, "engine_migrating") == 1;
    if (moving_before && moving_after)
      ++during;
    if (!moving_before && !moving_after && info_integer(c, "engine_shards") >= 15)
      break;
  }
  EXPECT_GE(info_integer(c, "engine_shards"), 15);
  EXPECT_GT(during, 0) << "no digest was taken during a resize";
  EXPECT_EQ(digest(c), first);
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 60000));
}

TEST(Debug, SetActiveExpireZeroLeavesKeysToBeRetiredOnAccess) {
  server_process server{{"--enable-debug-command=yes"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SET-ACTIVE-EXPIRE", "0"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "short", "v", "PX", "50"}), "OK"));
  wait_on_node_clock(c, 300);
  // Well past its deadline and still held: nothing retired it.
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 1));
  EXPECT_TRUE(is_nil(c.command({"GET", "short"})));
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
  // Back on: a key goes by itself once its deadline passes.
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SET-ACTIVE-EXPIRE", "1"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "short", "v", "PX", "50"}), "OK"));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (integer_of(c.command({"DBSIZE"})) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
}

TEST(Debug, ObjectProtocolAndSleep) {
  server_process server{{"--enable-debug-command=yes", "--slowlog-log-slower-than=100000"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"SET", "n", "20000"}), "OK"));
  auto line = text_of(c.command({"DEBUG", "OBJECT", "n"}));
  EXPECT_EQ(line.rfind("Value at:0x", 0), 0u) << line;
  EXPECT_NE(line.find("encoding:int"), std::string::npos) << line;
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "n"}), "int"));
  EXPECT_TRUE(is_error(c.command({"DEBUG", "OBJECT", "missing"}), "ERR no such key"));
  EXPECT_TRUE(is_bulk(c.command({"DEBUG", "PROTOCOL", "double"}), "3.141"));
  EXPECT_TRUE(is_integer(c.command({"DEBUG", "PROTOCOL", "true"}), 1));
  EXPECT_TRUE(is_error(c.command({"DEBUG", "PROTOCOL", "push"}),
                       "ERR RESP2 is not supported by this command"));
  // SLEEP holds the node that long, and the slow log sees it.
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(is_status(c.command({"DEBUG", "SLEEP", "0.2"}), "OK"));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  auto slow = c.command({"SLOWLOG", "GET", "1"});
  ASSERT_EQ(slow->elements, 1u);
  EXPECT_GE(slow->element[0]->element[2]->integer, 200000);
  EXPECT_EQ(std::string{slow->element[0]->element[3]->element[0]->str}, "DEBUG");
}

TEST(Debug, SteppedSubcommandsThatEndAtOnceStillAnswer) {
  auto dir = make_test_dir("debug");
  server_process server{{"--enable-debug-command=yes", "--dir=" + dir}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "0"}), "OK"));
  // No snapshot to load back: the error, and the client goes on.
  EXPECT_TRUE(is_error_starting_with(c.command({"DEBUG", "RELOAD", "NOSAVE"}),
                                     "ERR Error trying to load"));
  EXPECT_TRUE(is_bulk(c.command({"ECHO", "still here"}), "still here"));
  EXPECT_TRUE(is_error(c.command({"DEBUG", "RELOAD", "SOMETIMES"}),
                       "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                       "options."));
  EXPECT_TRUE(is_error_starting_with(c.command({"DEBUG", "POPULATE", "-1"}), "ERR"));
}
