// Lists through the real node: their commands' replies, the blocking pops waking the moment a push reaches their key (first blocked,
// first served; after a transaction; on another shard; while the engine
// grows), their timeouts, CLIENT UNBLOCK, a client that leaves while blocked,
// and lists that survive kill -9 under appendfsync always.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/blocked_clients.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

std::vector<long long> integers_of(const reply_ptr& reply) {
  std::vector<long long> out;
  if (reply && reply->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i < reply->elements; ++i)
      out.push_back(reply->element[i]->integer);
  return out;
}

} // namespace

TEST(Lists, CommandsAnswerAsRedis) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "l", "a", "b", "c"}), 3));
  EXPECT_TRUE(is_integer(c.command({"LPUSH", "l", "z"}), 4));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "l", "0", "-1"}), {"z", "a", "b", "c"}));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "l", "-2", "100"}), {"b", "c"}));
  EXPECT_TRUE(is_bulk(c.command({"LINDEX", "l", "-1"}), "c"));
  EXPECT_TRUE(is_nil(c.command({"LINDEX", "l", "9"})));
  EXPECT_TRUE(is_status(c.command({"LSET", "l", "1", "A"}), "OK"));
  EXPECT_TRUE(is_error(c.command({"LSET", "l", "9", "x"}), "ERR index out of range"));
  EXPECT_TRUE(is_error(c.command({"LSET", "missing", "0", "x"}), "ERR no such key"));
  EXPECT_TRUE(is_integer(c.command({"LINSERT", "l", "BEFORE", "b", "ab"}), 5));
  EXPECT_TRUE(is_integer(c.command({"LINSERT", "l", "AFTER", "nope", "x"}), -1));
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "l", "b", "b"}), 7));
  EXPECT_TRUE(is_integer(c.command({"LPOS", "l", "b"}), 3));
  EXPECT_EQ(integers_of(c.command({"LPOS", "l", "b", "RANK", "-1", "COUNT", "2"})),
            (std::vector<long long>{6, 5}));
  EXPECT_EQ(integers_of(c.command({"LPOS", "l", "b", "COUNT", "0"})),
            (std::vector<long long>{3, 5, 6}));
  EXPECT_EQ(integers_of(c.command({"LPOS", "l", "b", "COUNT", "0", "MAXLEN", "5"})),
            (std::vector<long long>{3}));
  EXPECT_TRUE(is_error_starting_with(c.command({"LPOS", "l", "b", "RANK", "0"}),
                                     "ERR RANK can't be zero"));
  EXPECT_TRUE(is_integer(c.command({"LREM", "l", "-2", "b"}), 2));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "l", "0", "-1"}), {"z", "A", "ab", "b", "c"}));
  EXPECT_TRUE(is_status(c.command({"LTRIM", "l", "1", "-2"}), "OK"));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "l", "0", "-1"}), {"A", "ab", "b"}));
  EXPECT_TRUE(is_bulk_array(c.command({"RPOP", "l", "2"}), {"b", "ab"}));
  EXPECT_TRUE(is_bulk(c.command({"LPOP", "l"}), "A"));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "l"}), 0)); // the last pop took the key
  EXPECT_TRUE(is_integer(c.command({"LPUSHX", "l", "x"}), 0));
  EXPECT_TRUE(is_status(c.command({"SET", "s", "v"}), "OK"));
  EXPECT_TRUE(is_error_starting_with(c.command({"LPUSH", "s", "x"}), "WRONGTYPE"));
  EXPECT_TRUE(is_error_starting_with(c.command({"BLPOP", "s", "0"}), "WRONGTYPE"));
  EXPECT_TRUE(is_error(c.command({"BLPOP", "l", "-1"}), "ERR timeout is negative"));
  EXPECT_TRUE(is_error(c.command({"BLPOP", "l", "abc"}),
                       "ERR timeout is not a float or out of range"));
  // LMOVE between lists (each on whichever shard), and to a key of another type.
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "src", "1", "2", "3"}), 3));
  EXPECT_TRUE(is_bulk(c.command({"LMOVE", "src", "dst", "RIGHT", "LEFT"}), "3"));
  EXPECT_TRUE(is_bulk(c.command({"RPOPLPUSH", "src", "dst"}), "2"));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "dst", "0", "-1"}), {"2", "3"}));
  EXPECT_TRUE(is_error_starting_with(c.command({"LMOVE", "src", "s", "LEFT", "LEFT"}),
                                     "WRONGTYPE"));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "src", "0", "-1"}), {"1"}));
  EXPECT_TRUE(is_nil(c.command({"LMOVE", "nothing", "dst", "LEFT", "LEFT"})));
  // LMPOP: the first key with elements, up to COUNT of them.
  auto mpop = c.command({"LMPOP", "3", "nothing", "dst", "src", "LEFT", "COUNT", "5"});
  ASSERT_EQ(mpop->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(mpop->elements, 2u);
  EXPECT_EQ(std::string(mpop->element[0]->str), "dst");
  EXPECT_EQ(mpop->element[1]->elements, 2u);
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "t", "x"}), 1));
  EXPECT_TRUE(is_status(c.command({"TYPE", "t"}), "list"));
  EXPECT_TRUE(is_bulk(c.command({"OBJECT", "ENCODING", "t"}), "quicklist"));
}

TEST(Lists, ABlockedPopWakesAtOnceAndFirstBlockedIsFirstServed) {
  server_process server;
  hiredis_connection c{server.port()};
  deferred first{server.port(), {"BLPOP", "queue", "0"}};
  await_blocked(c, 1);
  deferred second{server.port(), {"BRPOP", "other", "queue", "0"}};
  await_blocked(c, 2);
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "queue", "job1", "job2"}), 2));
  EXPECT_TRUE(is_bulk_array(first.reply(), {"queue", "job1"}));
  EXPECT_TRUE(is_bulk_array(second.reply(), {"queue", "job2"}));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "queue"}), 0));
  EXPECT_TRUE(is_integer(c.command({"LLEN", "other"}), 0));
  await_blocked(c, 0);
}

TEST(Lists, APushInsideMultiWakesAfterExec) {
  server_process server;
  hiredis_connection c{server.port()};
  deferred blocked{server.port(), {"BLPOP", "tx", "0"}};
  await_blocked(c, 1);
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"LPUSH", "tx", "a"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"LPUSH", "tx", "b"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"LPUSH", "tx", "c"}), "QUEUED"));
  c.command({"EXEC"});
  // The waiter sees the list as the transaction left it: its head is c.
  EXPECT_TRUE(is_bulk_array(blocked.reply(), {"tx", "c"}));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "tx", "0", "-1"}), {"b", "a"}));
}

TEST(Lists, TimeoutsUnblockAndLeavingClientsAreHonoured) {
  server_process server;
  hiredis_connection c{server.port()};
  auto started = std::chrono::steady_clock::now();
  auto timed = c.command({"BLPOP", "empty", "0.2"});
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(timed->type == REDIS_REPLY_NIL) << describe(timed.get());
  EXPECT_GE(took, 200ms);
  {
    deferred blocked{server.port(), {"BLMOVE", "empty", "dst", "LEFT", "RIGHT", "0"}};
    await_blocked(c, 1);
  }
  // The client above left while blocked: nothing waits for it now, and a push
  // stays in the list.
  await_blocked(c, 0);
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "empty", "kept"}), 1));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "empty", "0", "-1"}), {"kept"}));
  EXPECT_TRUE(is_integer(c.command({"LLEN", "dst"}), 0));
  // CLIENT UNBLOCK, with a null (TIMEOUT) and with an error.
  hiredis_connection waiting{server.port(), 60s};
  auto id = integer_of(waiting.command({"CLIENT", "ID"}));
  waiting.append({"BRPOP", "none", "0"});
  waiting.flush();
  await_blocked(c, 1);
  EXPECT_TRUE(is_integer(c.command({"CLIENT", "UNBLOCK", std::to_string(id)}), 1));
  EXPECT_EQ(waiting.get_reply()->type, REDIS_REPLY_NIL);
  waiting.append({"BRPOP", "none", "0"});
  waiting.flush();
  await_blocked(c, 1);
  EXPECT_TRUE(is_integer(c.command({"CLIENT", "UNBLOCK", std::to_string(id), "ERROR"}), 1));
  EXPECT_TRUE(is_error(waiting.get_reply(), "UNBLOCKED client unblocked via CLIENT UNBLOCK"));
  EXPECT_TRUE(is_integer(c.command({"CLIENT", "UNBLOCK", std::to_string(id)}), 0));
}

// A client that leaves while its pop is still between its keys (here the
// second of two pipelined BLPOPs, whose second key holds a string) must not
// leave anything half done behind: every other client keeps being answered,
// and nothing stays blocked.
TEST(Lists, AClientLeavingInTheMiddleOfAPopHoldsNobodyUp) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_status(c.command({"SET", "b2", "text"}), "OK"));
  auto pop = encode_command({"BLPOP", "b1", "b2", "1"});
  for (int i = 0; i < 50; ++i) {
    raw_connection leaving{server.port()};
    ASSERT_TRUE(leaving.send_all(pop + pop));
  }
  for (int i = 0; i < 8; ++i) {
    hiredis_connection fresh{server.port(), 5s};
    EXPECT_TRUE(is_status(fresh.command({"PING"}), "PONG")) << "connection " << i;
  }
  await_blocked(c, 0);
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "b1", "kept"}), 1));
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "b1", "0", "-1"}), {"kept"}));
}

TEST(Lists, WaitersOnManyKeysAndShardsKeepWaitingWhileTheEngineGrows) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port(), 60s};
  constexpr int clients = 20;
  std::vector<std::unique_ptr<deferred>> waiting;
  for (int i = 0; i < clients; ++i) {
    waiting.push_back(std::make_unique<deferred>(
      server.port(), std::vector<std::string>{"BLPOP", "a" + std::to_string(i),
                                              "b" + std::to_string(i), "0"}));
  }
  await_blocked(c, clients);
  auto before = info_integer(c, "engine_resizes_up");
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "50000"}), "OK"));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (info_integer(c, "engine_resizes_up") == before
         || info_integer(c, "engine_migrating") != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the engine never grew";
    std::this_thread::yield();
  }
  EXPECT_EQ(info_integer(c, "blocked_clients"), clients);
  for (int i = 0; i < clients; ++i)
    EXPECT_TRUE(is_integer(c.command({"RPUSH", "b" + std::to_string(i), "v"}), 1));
  for (int i = 0; i < clients; ++i)
    EXPECT_TRUE(is_bulk_array(waiting[static_cast<std::size_t>(i)]->reply(),
                              {"b" + std::to_string(i), "v"}));
  await_blocked(c, 0);
}

TEST(Lists, KillNineUnderAppendfsyncAlwaysLosesNoAcknowledgedChange) {
  auto dir = make_test_dir("list-aof");
  std::vector<std::string> args{"--appendonly=yes", "--dir=" + dir, "--appendfsync=always"};
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE(is_integer(c.command({"RPUSH", "log", std::to_string(i)}), i + 1));
    EXPECT_TRUE(is_status(c.command({"LTRIM", "log", "10", "-1"}), "OK"));
    EXPECT_TRUE(is_status(c.command({"LSET", "log", "0", "first"}), "OK"));
    EXPECT_TRUE(is_integer(c.command({"LINSERT", "log", "AFTER", "first", "second"}), 191));
    EXPECT_TRUE(is_integer(c.command({"LREM", "log", "0", "100"}), 1));
    EXPECT_TRUE(is_bulk(c.command({"LPOP", "log"}), "first"));
    EXPECT_TRUE(is_bulk_array(c.command({"RPOP", "log", "2"}), {"199", "198"}));
    ::kill(server.pid(), SIGKILL);
    EXPECT_EQ(server.stop(), 128 + SIGKILL);
  }
  server_process server{args};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"LLEN", "log"}), 187));
  EXPECT_TRUE(is_bulk(c.command({"LINDEX", "log", "0"}), "second"));
  EXPECT_TRUE(is_bulk(c.command({"LINDEX", "log", "1"}), "11"));
  EXPECT_TRUE(is_bulk(c.command({"LINDEX", "log", "-1"}), "197"));
  EXPECT_TRUE(is_nil(c.command({"LPOS", "log", "100"})));
  // A rewrite writes each list whole, with its version; the changes after it
  // build on that, and the next start reads both back.
  EXPECT_TRUE(is_status(c.command({"BGREWRITEAOF"}),
                        "Background append only file rewriting started"));
  ASSERT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully", 30s));
  EXPECT_TRUE(is_integer(c.command({"RPUSH", "log", "after"}), 188));
  EXPECT_TRUE(is_status(c.command({"LSET", "log", "0", "head"}), "OK"));
  ::kill(server.pid(), SIGKILL);
  server.stop();
  server_process again{args};
  hiredis_connection d{again.port()};
  EXPECT_TRUE(is_integer(d.command({"LLEN", "log"}), 188));
  EXPECT_TRUE(is_bulk(d.command({"LINDEX", "log", "0"}), "head"));
  EXPECT_TRUE(is_bulk(d.command({"LINDEX", "log", "-1"}), "after"));
}
