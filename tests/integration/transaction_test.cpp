// MULTI, EXEC, DISCARD and WATCH through the real node: Redis's replies and
// errors with hiredis, redis-py's transactional pipelines and its
// check-and-set loop from 8 processes, and all-or-nothing reads of what one
// EXEC or one MSET writes across every shard.

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
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

// Runs a Python script (Debian's python3 with python3-redis) with the node's
// port as its argument; returns its result.
process_result run_python(const std::string& script, std::uint16_t port) {
  const char* base = std::getenv("TEST_TMPDIR");
  auto path = std::string{base != nullptr ? base : "/tmp"} + "/tx-"
              + std::to_string(::getpid()) + ".py";
  {
    std::ofstream out{path};
    out << script;
  }
  auto result = run_process({"/usr/bin/python3", path, std::to_string(port)}, {}, 300s);
  std::remove(path.c_str());
  return result;
}

} // namespace

TEST(Transactions, QueueExecDiscardAndTheirErrorsAsRedis) {
  server_process server;
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_error(c.command({"EXEC"}), "ERR EXEC without MULTI"));
  EXPECT_TRUE(is_error(c.command({"DISCARD"}), "ERR DISCARD without MULTI"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_error(c.command({"MULTI"}), "ERR MULTI calls can not be nested"));
  EXPECT_TRUE(is_error(c.command({"WATCH", "x"}), "ERR WATCH inside MULTI is not allowed"));
  EXPECT_TRUE(is_status(c.command({"SET", "n", "1"}), "QUEUED"));
  {
    // CLIENT LIST shows the transaction: flag x, the queued count and bytes.
    hiredis_connection observer{server.port()};
    auto list = text_of(observer.command({"CLIENT", "LIST"}));
    EXPECT_NE(list.find("flags=x "), std::string::npos) << list;
    EXPECT_NE(list.find(" multi=1 "), std::string::npos) << list;
    // Only the observer has multi-mem=0: the queuing client counts its bytes.
    EXPECT_EQ(list.find(" multi-mem=0 "), list.rfind(" multi-mem=0 ")) << list;
  }
  EXPECT_TRUE(is_status(c.command({"INCRBY", "n", "41"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"APPEND", "n", "x"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"INCR", "n"}), "QUEUED")); // fails when it runs
  EXPECT_TRUE(is_status(c.command({"GET", "n"}), "QUEUED"));
  auto exec = c.command({"EXEC"});
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY) << describe(exec.get());
  ASSERT_EQ(exec->elements, 5u);
  EXPECT_EQ(exec->element[0]->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(exec->element[1]->integer, 42);
  EXPECT_EQ(exec->element[2]->integer, 3);
  EXPECT_EQ(exec->element[3]->type, REDIS_REPLY_ERROR); // in place; the rest ran
  EXPECT_EQ(std::string{exec->element[4]->str}, "42x");

  // A queuing error discards the whole transaction.
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "a", "1"}), "QUEUED"));
  EXPECT_TRUE(is_error_starting_with(c.command({"NOSUCH"}), "ERR unknown command"));
  EXPECT_TRUE(is_error_starting_with(c.command({"GET"}), "ERR wrong number of arguments"));
  EXPECT_TRUE(is_error_starting_with(c.command({"SAVE"}),
                                     "ERR Command not allowed inside a transaction"));
  EXPECT_TRUE(is_error(c.command({"EXEC"}),
                       "EXECABORT Transaction discarded because of previous errors."));
  EXPECT_TRUE(is_nil(c.command({"GET", "a"})));

  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "a", "1"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"DISCARD"}), "OK"));
  EXPECT_TRUE(is_nil(c.command({"GET", "a"})));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  auto none = c.command({"EXEC"});
  ASSERT_EQ(none->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(none->elements, 0u);

  // A client that leaves mid-transaction leaves nothing behind.
  {
    hiredis_connection leaving{server.port()};
    EXPECT_TRUE(is_status(leaving.command({"MULTI"}), "OK"));
    EXPECT_TRUE(is_status(leaving.command({"SET", "ghost", "1"}), "QUEUED"));
  }
  EXPECT_TRUE(is_nil(c.command({"GET", "ghost"})));
  auto stats = text_of(c.command({"INFO", "commandstats"}));
  EXPECT_NE(stats.find("cmdstat_exec:calls="), std::string::npos) << stats;
  EXPECT_NE(stats.find("cmdstat_incrby:calls=1,"), std::string::npos) << stats;
}

TEST(Transactions, WatchFailsExecOnceAWatchedKeyIsTouched) {
  server_process server;
  hiredis_connection c{server.port()};
  hiredis_connection other{server.port()};
  // Untouched: EXEC runs.
  EXPECT_TRUE(is_status(c.command({"WATCH", "k", "missing"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "k", "mine"}), "QUEUED"));
  EXPECT_EQ(c.command({"EXEC"})->elements, 1u);
  // Written by another client in between: a null reply, nothing run.
  EXPECT_TRUE(is_status(c.command({"WATCH", "k"}), "OK"));
  EXPECT_TRUE(is_status(other.command({"SET", "k", "theirs"}), "OK"));
  EXPECT_NE(text_of(c.command({"CLIENT", "INFO"})).find("flags=d "), std::string::npos);
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "k", "mine again"}), "QUEUED"));
  EXPECT_EQ(c.command({"EXEC"})->type, REDIS_REPLY_NIL);
  EXPECT_TRUE(is_bulk(c.command({"GET", "k"}), "theirs"));
  // The watch ends with EXEC: the next one runs.
  EXPECT_TRUE(is_status(other.command({"SET", "k", "later"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"GET", "k"}), "QUEUED"));
  EXPECT_EQ(c.command({"EXEC"})->elements, 1u);
  // FLUSHALL touches watched keys that exist, not those that do not.
  EXPECT_TRUE(is_status(c.command({"WATCH", "nothing"}), "OK"));
  EXPECT_TRUE(is_status(other.command({"FLUSHALL"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_EQ(c.command({"EXEC"})->type, REDIS_REPLY_ARRAY);
  EXPECT_TRUE(is_status(other.command({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"WATCH", "k"}), "OK"));
  EXPECT_TRUE(is_status(other.command({"FLUSHALL"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_EQ(c.command({"EXEC"})->type, REDIS_REPLY_NIL);
  // A watched key whose deadline passes before EXEC counts as touched.
  EXPECT_TRUE(is_status(other.command({"SET", "short", "v", "PX", "30"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"WATCH", "short"}), "OK"));
  auto until = std::chrono::steady_clock::now() + 100ms;
  while (std::chrono::steady_clock::now() < until || integer_of(other.command({"EXISTS", "short"})) != 0)
    std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_EQ(c.command({"EXEC"})->type, REDIS_REPLY_NIL);
  // UNWATCH and DISCARD forget the watch.
  EXPECT_TRUE(is_status(c.command({"WATCH", "k"}), "OK"));
  EXPECT_TRUE(is_status(other.command({"SET", "k", "x"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"UNWATCH"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_EQ(c.command({"EXEC"})->type, REDIS_REPLY_ARRAY);
}

TEST(Transactions, RedisPyPipelinesAndEightProcessesOfCheckAndSetLoseNoIncrement) {
  server_process server{{"--stairs=3"}};
  auto result = run_python(R"py(
import multiprocessing, sys
import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port)

# A transactional pipeline, as redis-py makes it by default.
with r.pipeline() as p:
    p.set("a", 1).incr("a").mset({"b": 2, "c": 3}).mget("a", "b", "c")
    assert p.execute() == [True, 2, True, [b"2", b"2", b"3"]], "pipeline"

def worker(n):
    c = redis.Redis(host="127.0.0.1", port=port)
    done = 0
    while done < 300:
        with c.pipeline() as p:
            try:
                p.watch("counter")
                value = int(p.get("counter") or 0)
                p.multi()
                p.set("counter", value + 1)
                p.execute()
                done += 1
            except redis.WatchError:
                continue
    return done

with multiprocessing.Pool(8) as pool:
    successes = sum(pool.map(worker, range(8)))
print(successes, int(r.get("counter")))
)py",
                           server.port());
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "2400 2400\n") << result.describe();
}

namespace {

// Two readers MGET 16 keys while a writer gives them `generations` generations
// one after another, alternately by MSET and by MULTI/SET.../EXEC. Returns how
// many reads saw two generations; `reads_done` is how many reads there were.
int torn_reads(std::uint16_t port, int generations, int& reads_done) {
  constexpr int keys = 16;
  auto key = [](int i) { return "gen:" + std::to_string(i); };
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    hiredis_connection r{port};
    std::vector<std::string> mget{"MGET"};
    for (int i = 0; i < keys; ++i)
      mget.push_back(key(i));
    while (!done) {
      auto reply = r.command(mget);
      std::string first;
      bool mixed = false;
      for (std::size_t i = 0; i < reply->elements; ++i) {
        std::string v = reply->element[i]->type == REDIS_REPLY_STRING
                          ? std::string{reply->element[i]->str}
                          : "";
        if (i == 0)
          first = v;
        else if (v != first)
          mixed = true;
      }
      torn += mixed ? 1 : 0;
      ++reads;
    }
  };
  std::thread a{reader};
  std::thread b{reader};
  hiredis_connection w{port};
  for (int gen = 1; gen <= generations; ++gen) {
    auto value = std::to_string(gen);
    if (gen % 2 == 0) {
      std::vector<std::string> mset{"MSET"};
      for (int i = 0; i < keys; ++i) {
        mset.push_back(key(i));
        mset.push_back(value);
      }
      EXPECT_TRUE(is_status(w.command(mset), "OK"));
    } else {
      w.append({"MULTI"});
      for (int i = 0; i < keys; ++i)
        w.append({"SET", key(i), value});
      w.append({"EXEC"});
      for (int i = 0; i < keys + 1; ++i)
        w.get_reply();
      EXPECT_EQ(w.get_reply()->elements, static_cast<std::size_t>(keys));
    }
  }
  done = true;
  a.join();
  b.join();
  reads_done = reads.load();
  return torn.load();
}

} // namespace

TEST(Transactions, ReadersNeverSeeHalfOfAnExecOrAnMsetAcrossShards) {
  // Shards on the I/O thread and on the scheduler's threads alike.
  for (const char* placement : {"--shard-placement=io", "--shard-placement=scheduler"}) {
    server_process server{{"--stairs=3", placement}};
    int reads = 0;
    EXPECT_EQ(torn_reads(server.port(), 1500, reads), 0)
      << "of " << reads << " reads, " << placement;
    EXPECT_GT(reads, 0);
  }
}

TEST(Transactions, ReadersNeverSeeHalfOfOneWhileTheEngineGrows) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port()};
  // 60,000 keys at 2,000 per shard: the engine grows in steps while the
  // writer and the readers run.
  EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "60000"}), "OK"));
  int reads = 0;
  int torn = 0;
  bool moved_during = rounds_while_keys_move(
    c,
    [&] {
      int r = 0;
      torn += torn_reads(server.port(), 200, r);
      reads += r;
    },
    [&] {
      return info_integer(c, "engine_shards") >= 15 && info_integer(c, "engine_migrating") == 0;
    });
  EXPECT_GE(info_integer(c, "engine_resizes_up"), 1);
  EXPECT_TRUE(moved_during) << "no round ran while keys moved";
  EXPECT_EQ(torn, 0) << "of " << reads << " reads";
}

TEST(Transactions, RenameAndMsetnxAreAtomicForEveryOtherClient) {
  server_process server{{"--stairs=3"}};
  constexpr int pairs = 8;
  auto from = [](int i) { return "from:" + std::to_string(i); };
  auto to = [](int i) { return "to:" + std::to_string(i); };
  hiredis_connection w{server.port()};
  for (int i = 0; i < pairs; ++i)
    ASSERT_TRUE(is_status(w.command({"SET", from(i), "v"}), "OK"));
  // RENAME back and forth; a reader must always find exactly one of the two.
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<int> reads{0};
  std::thread reader{[&] {
    hiredis_connection r{server.port()};
    while (!done) {
      for (int i = 0; i < pairs; ++i) {
        auto both = r.command({"EXISTS", from(i), to(i)});
        if (both->integer != 1)
          ++wrong;
        ++reads;
      }
    }
  }};
  for (int round = 0; round < 300; ++round)
    for (int i = 0; i < pairs; ++i)
      ASSERT_TRUE(is_status(w.command({"RENAME", round % 2 == 0 ? from(i) : to(i),
                                       round % 2 == 0 ? to(i) : from(i)}),
                            "OK"));
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "of " << reads.load() << " reads";

  // Two clients race MSETNX on the same keys: exactly one wins, wholly.
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i)
    names.push_back("race:" + std::to_string(i));
  hiredis_connection one{server.port()};
  hiredis_connection two{server.port()};
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> del{"DEL"};
    del.insert(del.end(), names.begin(), names.end());
    w.command(del);
    auto msetnx = [&](const std::string& value) {
      std::vector<std::string> argv{"MSETNX"};
      for (const auto& n : names) {
        argv.push_back(n);
        argv.push_back(value);
      }
      return argv;
    };
    one.append(msetnx("one"));
    two.append(msetnx("two"));
    one.flush();
    two.flush();
    auto a = one.get_reply()->integer;
    auto b = two.get_reply()->integer;
    ASSERT_EQ(a + b, 1) << "round " << round;
    std::vector<std::string> mget{"MGET"};
    mget.insert(mget.end(), names.begin(), names.end());
    auto values = w.command(mget);
    for (std::size_t i = 0; i < values->elements; ++i)
      ASSERT_EQ(std::string{values->element[i]->str}, a == 1 ? "one" : "two")
        << "round " << round;
  }
}

// As in Redis, evicting a watched key touches it: the watcher's EXEC fails.
// Evictions of other keys do not.
TEST(Transactions, AnEvictedWatchedKeyFailsExecAndOtherEvictionsDoNot) {
  server_process server{{"--maxmemory=8mb", "--maxmemory-policy=allkeys-lru"}};
  hiredis_connection watcher{server.port()};
  hiredis_connection writer{server.port()};
  const std::string value(1000, 'v');
  ASSERT_TRUE(is_status(writer.command({"SET", "cold", "1"}), "OK"));
  ASSERT_TRUE(is_status(writer.command({"SET", "hot", "1"}), "OK"));
  ASSERT_TRUE(is_status(watcher.command({"WATCH", "cold", "hot"}), "OK"));
  // Fill past the bound, reading "hot" often (LRU keeps it) and never "cold"
  // (EXISTS counts no access), until "cold" is evicted.
  int written = 0;
  auto cold_gone = [&] { return writer.command({"EXISTS", "cold"})->integer == 0; };
  while (!cold_gone() && written < 200000) {
    for (int i = 0; i < 100; ++i, ++written) {
      writer.append({"SET", "fill:" + std::to_string(written), value});
      writer.append({"GET", "hot"});
    }
    for (int i = 0; i < 200; ++i)
      writer.get_reply();
  }
  ASSERT_TRUE(cold_gone()) << "cold was never evicted";
  ASSERT_GT(info_integer(writer, "evicted_keys"), 0);
  EXPECT_TRUE(is_status(watcher.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(watcher.command({"SET", "cold", "again"}), "QUEUED"));
  EXPECT_EQ(watcher.command({"EXEC"})->type, REDIS_REPLY_NIL);
  EXPECT_EQ(writer.command({"EXISTS", "cold"})->integer, 0);

  // Watching only "hot" while other keys are evicted: EXEC runs.
  ASSERT_TRUE(is_status(watcher.command({"WATCH", "hot"}), "OK"));
  auto evicted_before = info_integer(writer, "evicted_keys");
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 100; ++i, ++written) {
      writer.append({"SET", "fill:" + std::to_string(written), value});
      writer.append({"GET", "hot"});
    }
    for (int i = 0; i < 200; ++i)
      writer.get_reply();
  }
  ASSERT_GT(info_integer(writer, "evicted_keys"), evicted_before);
  ASSERT_EQ(writer.command({"EXISTS", "hot"})->integer, 1) << "hot was evicted too";
  EXPECT_TRUE(is_status(watcher.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(watcher.command({"SET", "hot", "2"}), "QUEUED"));
  auto exec = watcher.command({"EXEC"});
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(exec->elements, 1u);
}

// Inside EXEC a RENAME or MSETNX runs in its place: the commands after it see
// its effect, and no other client sees the transaction half done, although the
// multi-step command's write comes in a later plan. A client that leaves in the
// middle does not cut the transaction short.
TEST(Transactions, RenameAndMsetnxInsideExecRunInOrderAndWhole) {
  server_process server{{"--stairs=3"}};
  hiredis_connection c{server.port()};
  c.append({"MULTI"});
  c.append({"SET", "src", "v"});
  c.append({"RENAME", "src", "dst"});
  c.append({"SET", "dst", "after"});
  c.append({"MSETNX", "n1", "1", "n2", "2"});
  c.append({"GET", "dst"});
  c.append({"EXISTS", "src", "n1", "n2"});
  c.append({"EXEC"});
  c.append({"GET", "dst"}); // after the EXEC, in the same pipeline
  for (int i = 0; i < 7; ++i)
    c.get_reply();
  auto exec = c.get_reply();
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec->elements, 6u);
  EXPECT_EQ(std::string{exec->element[0]->str}, "OK");
  EXPECT_EQ(std::string{exec->element[1]->str}, "OK");
  EXPECT_EQ(std::string{exec->element[2]->str}, "OK");
  EXPECT_EQ(exec->element[3]->integer, 1);
  EXPECT_EQ(std::string{exec->element[4]->str}, "after");
  EXPECT_EQ(exec->element[5]->integer, 2);
  EXPECT_TRUE(is_bulk(c.get_reply(), "after"));

  // Each transaction records a direction in `d1`, moves `x` to `y` (or back),
  // and records it again in `d2`: a reader must never find the two records
  // disagreeing, nor with where the key is.
  ASSERT_TRUE(is_status(c.command({"SET", "x", "v"}), "OK"));
  ASSERT_TRUE(is_status(c.command({"MSET", "d1", "x", "d2", "x"}), "OK"));
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<int> reads{0};
  std::thread reader{[&] {
    hiredis_connection r{server.port()};
    while (!done) {
      // The two records alone, and with the key's place.
      auto records = r.command({"MGET", "d1", "d2"});
      if (std::string{records->element[0]->str} != records->element[1]->str)
        ++wrong;
      auto got = r.command({"MGET", "d1", "x", "y"});
      std::string dir = got->element[0]->type == REDIS_REPLY_STRING ? got->element[0]->str : "";
      bool x = got->element[1]->type == REDIS_REPLY_STRING;
      bool y = got->element[2]->type == REDIS_REPLY_STRING;
      if (!((dir == "x" && x && !y) || (dir == "y" && y && !x)))
        ++wrong;
      ++reads;
    }
  }};
  for (int round = 0; round < 300; ++round) {
    bool to_y = round % 2 == 0;
    c.append({"MULTI"});
    c.append({"SET", "d1", to_y ? "y" : "x"});
    c.append({"RENAME", to_y ? "x" : "y", to_y ? "y" : "x"});
    c.append({"SET", "d2", to_y ? "y" : "x"});
    c.append({"EXEC"});
    for (int i = 0; i < 4; ++i)
      c.get_reply();
    ASSERT_EQ(c.get_reply()->elements, 3u);
  }
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(wrong.load(), 0) << "of " << reads.load() << " reads";

  // The client sends its EXEC and leaves at once: the whole transaction runs.
  {
    hiredis_connection leaving{server.port()};
    leaving.append({"MULTI"});
    leaving.append({"RENAME", "x", "moved"});
    leaving.append({"SET", "left", "yes"});
    leaving.append({"EXEC"});
    leaving.flush();
  }
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (c.command({"EXISTS", "left"})->integer == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(is_bulk(c.command({"GET", "left"}), "yes"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "moved"}), "v"));
  EXPECT_EQ(c.command({"EXISTS", "x"})->integer, 0);
}

// A transaction may SUBSCRIBE and then PUBLISH, as in Redis: inside EXEC the
// subscribed mode's limits do not apply. The message comes once the EXEC's
// reply is out.
TEST(Transactions, SubscribeThenPublishInsideOneExec) {
  server_process server;
  hiredis_connection c{server.port()};
  c.append({"MULTI"});
  c.append({"SUBSCRIBE", "ch"});
  c.append({"PUBLISH", "ch", "hi"});
  c.append({"EXEC"});
  EXPECT_TRUE(is_status(c.get_reply(), "OK"));
  EXPECT_TRUE(is_status(c.get_reply(), "QUEUED"));
  EXPECT_TRUE(is_status(c.get_reply(), "QUEUED"));
  auto exec = c.get_reply();
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec->elements, 2u);
  ASSERT_EQ(exec->element[0]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string{exec->element[0]->element[0]->str}, "subscribe");
  EXPECT_EQ(exec->element[1]->integer, 1); // the client itself receives it
  auto message = c.get_reply();
  ASSERT_EQ(message->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(message->elements, 3u);
  EXPECT_EQ(std::string{message->element[0]->str}, "message");
  EXPECT_EQ(std::string{message->element[2]->str}, "hi");
  // Outside EXEC the subscribed client is limited again.
  auto refused = c.command({"GET", "x"});
  EXPECT_EQ(refused->type, REDIS_REPLY_ERROR);
}

// Keys moved by a resize are not changed: a watcher's EXEC still runs.
TEST(Transactions, AKeyMovedByAResizeDoesNotFailExec) {
  server_process server{{"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                         "--resize-check-ms=20"}};
  hiredis_connection c{server.port()};
  ASSERT_TRUE(is_status(c.command({"SET", "watched", "1"}), "OK"));
  ASSERT_TRUE(is_status(c.command({"WATCH", "watched"}), "OK"));
  hiredis_connection other{server.port()};
  auto shards_before = info_integer(other, "engine_shards");
  ASSERT_TRUE(is_status(other.command({"DEBUG", "POPULATE", "40000"}), "OK"));
  auto give_up = std::chrono::steady_clock::now() + 60s;
  while ((info_integer(other, "engine_shards") == shards_before
          || info_integer(other, "engine_migrating") == 1)
         && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(5ms);
  ASSERT_GT(info_integer(other, "engine_shards"), shards_before);
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"INCR", "watched"}), "QUEUED"));
  auto exec = c.command({"EXEC"});
  ASSERT_EQ(exec->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(exec->element[0]->integer, 2);
}

// Past maxmemory under noeviction, as in Redis: a command that may grow memory
// is refused while queuing (and EXEC then aborts), an EXEC of reads still runs,
// and one queued before the bound was reached is refused whole.
TEST(Transactions, FullMemoryRefusesGrowingTransactionsWholeAndRunsReads) {
  server_process server;
  hiredis_connection c{server.port()};
  hiredis_connection admin{server.port()};
  ASSERT_TRUE(is_status(c.command({"SET", "x", "value"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"GET", "x"}), "QUEUED"));
  EXPECT_TRUE(is_status(c.command({"SET", "y", "1"}), "QUEUED"));
  ASSERT_TRUE(is_status(admin.command({"CONFIG", "SET", "maxmemory", "1"}), "OK"));
  EXPECT_TRUE(is_error(c.command({"EXEC"}),
                       "EXECABORT Transaction discarded because of: OOM command not "
                       "allowed when used memory > 'maxmemory'."));
  EXPECT_EQ(c.command({"EXISTS", "y"})->integer, 0);
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_error(c.command({"SET", "y", "1"}), "OOM command not allowed when used memory > 'maxmemory'."));
  EXPECT_TRUE(is_status(c.command({"GET", "x"}), "QUEUED"));
  EXPECT_TRUE(is_error(c.command({"EXEC"}),
                       "EXECABORT Transaction discarded because of previous errors."));
  EXPECT_TRUE(is_status(c.command({"MULTI"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"GET", "x"}), "QUEUED"));
  auto reads = c.command({"EXEC"});
  ASSERT_EQ(reads->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string{reads->element[0]->str}, "value");
  ASSERT_TRUE(is_status(admin.command({"CONFIG", "SET", "maxmemory", "0"}), "OK"));
}
