// Sixteen databases through the real node: SELECT and the commands that see a
// database (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB, FLUSHALL, MOVE, COPY ... DB,
// SWAPDB, CLIENT LIST, INFO keyspace), a Celery worker with its broker on /1
// and its results on /2, SWAPDB under a reading load while the engine grows,
// keyspace events named by their database, and keys in five databases that
// survive kill -9 under appendfsync always.

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
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

std::string keyspace_of(hiredis_connection& c) {
  return text_of(c.command({"INFO", "keyspace"}));
}

// The next message of a pattern subscription: "channel message".
std::string next_message(hiredis_connection& c) {
  auto r = c.get_reply();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4)
    return text_of(r);
  return std::string(r->element[2]->str, r->element[2]->len) + " "
         + std::string(r->element[3]->str, r->element[3]->len);
}

} // namespace

TEST(Databases, EachNumberHoldsItsOwnKeys) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  for (int db = 0; db < 16; ++db) {
    ASSERT_TRUE(is_status(c.command({"SELECT", std::to_string(db)}), "OK"));
    for (int i = 0; i <= db; ++i)
      ASSERT_TRUE(is_status(c.command({"SET", "k" + std::to_string(i), std::to_string(db)}),
                            "OK"));
  }
  for (int db = 0; db < 16; ++db) {
    SCOPED_TRACE("database " + std::to_string(db));
    ASSERT_TRUE(is_status(c.command({"SELECT", std::to_string(db)}), "OK"));
    EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), db + 1));
    EXPECT_TRUE(is_bulk(c.command({"GET", "k0"}), std::to_string(db)));
    auto keys = c.command({"KEYS", "*"});
    ASSERT_TRUE(keys && keys->type == REDIS_REPLY_ARRAY);
    EXPECT_EQ(keys->elements, static_cast<std::size_t>(db + 1));
    // SCAN to its end lists this database's keys, each once.
    std::set<std::string> scanned;
    std::string cursor = "0";
    do {
      auto page = c.command({"SCAN", cursor, "COUNT", "3"});
      ASSERT_TRUE(page && page->type == REDIS_REPLY_ARRAY && page->elements == 2);
      cursor = page->element[0]->str;
      for (std::size_t i = 0; i < page->element[1]->elements; ++i)
        scanned.insert(page->element[1]->element[i]->str);
    } while (cursor != "0");
    EXPECT_EQ(scanned.size(), static_cast<std::size_t>(db + 1));
    auto random = text_of(c.command({"RANDOMKEY"}));
    EXPECT_TRUE(scanned.count(random)) << random;
  }
  EXPECT_NE(keyspace_of(c).find("db0:keys=1,expires=0,avg_ttl=0\r\ndb1:keys=2,"),
            std::string::npos)
    << keyspace_of(c);
  EXPECT_NE(keyspace_of(c).find("db15:keys=16,"), std::string::npos);
  EXPECT_TRUE(is_error(c.command({"SELECT", "16"}), "ERR DB index is out of range"));
  EXPECT_TRUE(is_error(c.command({"SELECT", "x"}), "ERR value is not an integer or out of range"));
  // The connection shows its database, and keeps it across HELLO.
  ASSERT_TRUE(is_status(c.command({"SELECT", "7"}), "OK"));
  EXPECT_NE(text_of(c.command({"CLIENT", "INFO"})).find(" db=7 "), std::string::npos);
  c.command({"HELLO", "2"});
  EXPECT_TRUE(is_bulk(c.command({"GET", "k0"}), "7"));
  // FLUSHDB empties this database alone; FLUSHALL every one.
  EXPECT_TRUE(is_status(c.command({"FLUSHDB"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
  ASSERT_TRUE(is_status(c.command({"SELECT", "6"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 7));
  EXPECT_TRUE(is_status(c.command({"FLUSHALL"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
  EXPECT_EQ(keyspace_of(c), "# Keyspace\r\n");
  // RESET goes back to database 0.
  c.command({"SET", "in6", "x"});
  EXPECT_TRUE(is_status(c.command({"RESET"}), "RESET"));
  EXPECT_TRUE(is_nil(c.command({"GET", "in6"})));
}

TEST(Databases, MoveCopySwapdbAndTransactions) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  ASSERT_TRUE(is_status(c.command({"SET", "k", "v", "EX", "1000"}), "OK"));
  EXPECT_TRUE(is_integer(c.command({"MOVE", "k", "3"}), 1));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "k"}), 0));
  EXPECT_TRUE(is_integer(c.command({"MOVE", "k", "3"}), 0)); // no longer here
  EXPECT_TRUE(is_error(c.command({"MOVE", "k", "0"}),
                       "ERR source and destination objects are the same"));
  EXPECT_TRUE(is_error(c.command({"MOVE", "k", "16"}), "ERR DB index is out of range"));
  ASSERT_TRUE(is_status(c.command({"SELECT", "3"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "k"}), "v"));
  auto ttl = integer_of(c.command({"TTL", "k"}));
  EXPECT_GT(ttl, 990); // the deadline went with it
  // A name taken in the target stays: MOVE answers 0 and moves nothing.
  c.command({"SET", "taken", "here"});
  c.command({"SELECT", "4"});
  c.command({"SET", "taken", "there"});
  c.command({"SELECT", "3"});
  EXPECT_TRUE(is_integer(c.command({"MOVE", "taken", "4"}), 0));
  EXPECT_TRUE(is_bulk(c.command({"GET", "taken"}), "here"));
  // COPY ... DB: a value of any type into another database.
  c.command({"RPUSH", "list", "a", "b"});
  EXPECT_TRUE(is_integer(c.command({"COPY", "list", "list", "DB", "5"}), 1));
  EXPECT_TRUE(is_integer(c.command({"COPY", "list", "list", "DB", "5"}), 0));
  EXPECT_TRUE(is_integer(c.command({"COPY", "list", "list", "DB", "5", "REPLACE"}), 1));
  EXPECT_TRUE(is_error(c.command({"COPY", "list", "list"}),
                       "ERR source and destination objects are the same"));
  c.command({"SELECT", "5"});
  EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "list", "0", "-1"}), {"a", "b"}));
  // SWAPDB: the two numbers trade their keys, for every client at once.
  hiredis_connection other{server.port()};
  other.command({"SELECT", "3"});
  EXPECT_TRUE(is_status(c.command({"SWAPDB", "3", "5"}), "OK"));
  EXPECT_TRUE(is_integer(other.command({"EXISTS", "list"}), 1));
  EXPECT_TRUE(is_integer(other.command({"EXISTS", "k"}), 0));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "k"}), 1));
  EXPECT_TRUE(is_error(c.command({"SWAPDB", "0", "16"}), "ERR DB index is out of range"));
  EXPECT_TRUE(is_error(c.command({"SWAPDB", "x", "1"}), "ERR invalid first DB index"));
  EXPECT_TRUE(is_error(c.command({"SWAPDB", "1", "x"}), "ERR invalid second DB index"));
  // A transaction may SELECT: its later commands, and the connection after
  // it, work on that database.
  c.command({"SELECT", "0"});
  c.command({"MULTI"});
  c.command({"SET", "t", "zero"});
  c.command({"SELECT", "9"});
  c.command({"SET", "t", "nine"});
  auto done = c.command({"EXEC"});
  ASSERT_TRUE(done && done->type == REDIS_REPLY_ARRAY && done->elements == 3);
  EXPECT_TRUE(is_bulk(c.command({"GET", "t"}), "nine"));
  EXPECT_TRUE(is_bulk(other.command({"EVAL", "redis.call('select', 0) return redis.call('get', 't')",
                                     "0"}),
                      "zero"));
  // A script's SELECT is its own: the caller stays where it was (Redis 7).
  EXPECT_TRUE(is_integer(other.command({"EXISTS", "list"}), 1));
  // WATCH knows a key's database: a write to the same name elsewhere leaves
  // it alone.
  c.command({"WATCH", "t"});
  other.command({"SELECT", "0"});
  other.command({"SET", "t", "changed in 0"});
  c.command({"MULTI"});
  c.command({"PING"});
  auto kept = c.command({"EXEC"});
  EXPECT_TRUE(kept && kept->type == REDIS_REPLY_ARRAY) << text_of(kept);
  // A key MOVEd or COPYed into the watched database touches it there.
  auto fails_after = [&](const std::vector<std::string>& command) {
    c.command({"SELECT", "12"});
    c.command({"WATCH", "arrives"});
    other.command({"SELECT", "0"});
    other.command({"SET", "arrives", "x"});
    auto done = other.command(command);
    EXPECT_TRUE(is_integer(done, 1)) << text_of(done);
    c.command({"MULTI"});
    c.command({"PING"});
    auto reply = c.command({"EXEC"});
    c.command({"DEL", "arrives"});
    return reply && reply->type == REDIS_REPLY_NIL;
  };
  EXPECT_TRUE(fails_after({"MOVE", "arrives", "12"}));
  EXPECT_TRUE(fails_after({"COPY", "arrives", "arrives", "DB", "12"}));
}

// DEBUG DIGEST covers every database, as Redis's does: the same key and value
// in two databases do not cancel out, and a change in any database shows.
TEST(Databases, DebugDigestCoversEveryDatabase) {
  server_process server{{"--stairs=3", "--enable-debug-command=yes"}};
  hiredis_connection c{server.port()};
  auto digest = [&] { return text_of(c.command({"DEBUG", "DIGEST"})); };
  const std::string empty(40, '0');
  EXPECT_EQ(digest(), empty);
  c.command({"SET", "k", "v"});
  auto only_zero = digest();
  c.command({"SELECT", "1"});
  c.command({"SET", "k", "v"});
  auto both = digest();
  EXPECT_NE(both, empty);
  EXPECT_NE(both, only_zero);
  c.command({"SELECT", "0"});
  EXPECT_EQ(digest(), both); // whichever database asks
  c.command({"SELECT", "1"});
  c.command({"FLUSHDB"});
  EXPECT_EQ(digest(), only_zero);
}

TEST(Databases, CeleryKeepsItsBrokerOnOneAndItsResultsOnTwo) {
  server_process server{{"--stairs=3"}};
  const std::string script = R"(
import sys, redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
url = "redis://127.0.0.1:%s" % sys.argv[1]
app = Celery("jobs", broker=url + "/1", backend=url + "/2")
app.conf.broker_connection_retry_on_startup = True

@app.task
def add(x, y):
    return x + y

with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
    results = [add.delay(i, i) for i in range(20)]
    assert [r.get(timeout=30) for r in results] == [2 * i for i in range(20)]

broker = redis.Redis.from_url(url + "/1")
backend = redis.Redis.from_url(url + "/2")
plain = redis.Redis.from_url(url + "/0")
metas = list(backend.scan_iter("celery-task-meta-*"))
assert len(metas) == 20, metas
assert all(0 < backend.ttl(m) <= 86400 for m in metas)
assert plain.dbsize() == 0, plain.keys()
assert not list(broker.scan_iter("celery-task-meta-*"))
assert broker.exists("_kombu.binding.celery")
print("ok")
)";
  auto result = run_python(server.port(), script);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

// Readers MGET a hundred keys spread over the shards while SWAPDB exchanges
// the two databases again and again, and the engine grows under a write load
// in a third: every read sees one database whole, never a mix.
TEST(Databases, ReadersNeverSeeAHalfSwappedState) {
  server_process server{{"--grow-keys-per-shard=3000", "--resize-check-ms=20"}};
  hiredis_connection setup{server.port()};
  std::vector<std::string> mget{"MGET"};
  for (int db : {0, 1}) {
    setup.command({"SELECT", std::to_string(db)});
    for (int i = 0; i < 100; ++i) {
      setup.append({"SET", "k" + std::to_string(i), db == 0 ? "A" : "B"});
      if (db == 0)
        mget.push_back("k" + std::to_string(i));
    }
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(is_status(setup.get_reply(), "OK"));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> mixed{0}, reads{0}, swaps{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      hiredis_connection c{server.port()};
      while (!stop) {
        auto reply = c.command(mget);
        if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 100) {
          ++mixed;
          continue;
        }
        std::string first = reply->element[0]->str;
        for (std::size_t i = 1; i < reply->elements; ++i)
          if (first != reply->element[i]->str)
            ++mixed;
        ++reads;
      }
    });
  std::thread writer([&] {
    hiredis_connection c{server.port()};
    c.command({"SELECT", "2"});
    for (int i = 0; i < 30000 && !stop; i += 100) {
      for (int j = i; j < i + 100; ++j)
        c.append({"SET", "filler:" + std::to_string(j), "x"});
      for (int j = i; j < i + 100; ++j)
        c.get_reply();
    }
  });
  hiredis_connection swapper{server.port()};
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(is_status(swapper.command({"SWAPDB", "0", "1"}), "OK"));
    ++swaps;
  }
  writer.join();
  stop = true;
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(mixed, 0);
  EXPECT_GT(reads, 100);
  EXPECT_GT(swaps, 100);
  EXPECT_GT(info_integer(swapper, "engine_resizes_up"), 0); // it grew meanwhile
  swapper.command({"SELECT", "2"});
  EXPECT_TRUE(is_integer(swapper.command({"DBSIZE"}), 30000));
  // After an even number of swaps database 0 holds the A's again.
  if (swaps % 2 == 1)
    swapper.command({"SWAPDB", "0", "1"});
  swapper.command({"SELECT", "0"});
  EXPECT_TRUE(is_bulk(swapper.command({"GET", "k42"}), "A"));
}

TEST(Databases, EventsNameTheirDatabase) {
  server_process server{{"--stairs=3", "--notify-keyspace-events=KEA"}};
  hiredis_connection sub{server.port()};
  sub.command({"PSUBSCRIBE", "__key*"});
  hiredis_connection c{server.port()};
  c.command({"SELECT", "3"});
  c.command({"SET", "k", "v"});
  EXPECT_EQ(next_message(sub), "__keyspace@3__:k set");
  EXPECT_EQ(next_message(sub), "__keyevent@3__:set k");
  c.command({"MOVE", "k", "5"});
  EXPECT_EQ(next_message(sub), "__keyspace@3__:k move_from");
  EXPECT_EQ(next_message(sub), "__keyevent@3__:move_from k");
  EXPECT_EQ(next_message(sub), "__keyspace@5__:k move_to");
  EXPECT_EQ(next_message(sub), "__keyevent@5__:move_to k");
  // The database of number 5 is number 7's after the swap: its key's expiry
  // is announced under 7.
  c.command({"SWAPDB", "5", "7"});
  c.command({"SELECT", "7"});
  c.command({"PEXPIRE", "k", "30"});
  EXPECT_EQ(next_message(sub), "__keyspace@7__:k expire");
  EXPECT_EQ(next_message(sub), "__keyevent@7__:expire k");
  EXPECT_EQ(next_message(sub), "__keyspace@7__:k expired");
  EXPECT_EQ(next_message(sub), "__keyevent@7__:expired k");
  // A channel of one database hears that one only.
  hiredis_connection nine{server.port()};
  nine.command({"SUBSCRIBE", "__keyevent@9__:set"});
  c.command({"SET", "elsewhere", "1"}); // database 7
  c.command({"SELECT", "9"});
  c.command({"SET", "here", "1"});
  auto heard = nine.get_reply();
  ASSERT_TRUE(heard && heard->type == REDIS_REPLY_ARRAY && heard->elements == 3);
  EXPECT_EQ(std::string(heard->element[2]->str), "here");
}

TEST(Databases, KeysInFiveDatabasesSurviveKillNineUnderAppendfsyncAlways) {
  auto dir = make_test_dir("databases-aof");
  std::vector<std::string> args{"--stairs=3", "--appendonly=yes", "--dir=" + dir,
                                "--appendfsync=always"};
  const std::vector<int> dbs{0, 1, 5, 9, 15};
  auto write_all = [&](hiredis_connection& c) {
    for (int db : dbs) {
      auto n = std::to_string(db);
      ASSERT_TRUE(is_status(c.command({"SELECT", n}), "OK"));
      ASSERT_TRUE(is_status(c.command({"SET", "s", "string of " + n}), "OK"));
      ASSERT_TRUE(is_integer(c.command({"HSET", "h", "db", n}), 1));
      ASSERT_TRUE(is_integer(c.command({"RPUSH", "l", n, "end"}), 2));
      ASSERT_TRUE(is_integer(c.command({"SADD", "set", n}), 1));
      ASSERT_TRUE(is_integer(c.command({"ZADD", "z", n, "m"}), 1));
      ASSERT_TRUE(is_integer(c.command({"EXPIRE", "s", "1000"}), 1));
      ASSERT_TRUE(is_status(c.command({"SET", "gone", "x"}), "OK"));
      ASSERT_TRUE(is_integer(c.command({"DEL", "gone"}), 1));
    }
  };
  auto check = [&](hiredis_connection& c, bool swapped) {
    for (int db : dbs) {
      auto n = std::to_string(db);
      // After SWAPDB 1 5, number 1 holds what was written as 5's and back.
      auto written = swapped && db == 1 ? "5" : swapped && db == 5 ? "1" : n;
      SCOPED_TRACE("database " + n);
      ASSERT_TRUE(is_status(c.command({"SELECT", n}), "OK"));
      EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 5));
      EXPECT_TRUE(is_bulk(c.command({"GET", "s"}), std::string{"string of "} + written));
      EXPECT_GT(integer_of(c.command({"TTL", "s"})), 900);
      EXPECT_TRUE(is_bulk(c.command({"HGET", "h", "db"}), written));
      EXPECT_TRUE(is_bulk_array(c.command({"LRANGE", "l", "0", "-1"}), {written, "end"}));
      EXPECT_TRUE(is_integer(c.command({"SISMEMBER", "set", written}), 1));
      EXPECT_TRUE(is_bulk(c.command({"ZSCORE", "z", "m"}), written));
    }
    c.command({"SELECT", "2"});
    EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
  };
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    write_all(c);
    check(c, false);
    ::kill(server.pid(), SIGKILL);
    server.stop();
  }
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    check(c, false);
    EXPECT_TRUE(is_status(c.command({"SWAPDB", "1", "5"}), "OK"));
    check(c, true);
    ::kill(server.pid(), SIGKILL);
    server.stop();
  }
  {
    server_process server{args};
    hiredis_connection c{server.port()};
    check(c, true);
    // A rewrite keeps the numbering (written after the keys it walks).
    EXPECT_TRUE(is_status(c.command({"BGREWRITEAOF"}),
                          "Background append only file rewriting started"));
    ASSERT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully", 30s));
    c.command({"SELECT", "9"});
    EXPECT_TRUE(is_status(c.command({"FLUSHDB"}), "OK"));
    ::kill(server.pid(), SIGKILL);
    server.stop();
  }
  server_process server{args};
  hiredis_connection c{server.port()};
  c.command({"SELECT", "9"});
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 0));
  c.command({"SELECT", "1"});
  EXPECT_TRUE(is_bulk(c.command({"GET", "s"}), "string of 5"));
  c.command({"SELECT", "15"});
  EXPECT_TRUE(is_bulk(c.command({"HGET", "h", "db"}), "15"));
}
