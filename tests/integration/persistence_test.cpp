// The append-only file through the real node: restarts, kill -9 under load,
// damaged files, and a file that cannot be written.

#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

std::vector<std::string> aof_args(const std::string& dir, const std::string& fsync) {
  return {"--appendonly=yes", "--dir=" + dir, "--appendfsync=" + fsync};
}

// Waits (polling INFO) until `field` reads `value`; false after 30 s.
bool await_info(hiredis_connection& c, const std::string& field, const std::string& value) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < give_up) {
    if (info_text(c, field) == value)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

long long file_size(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<long long>(info.st_size) : -1;
}

// A script in `dir` that runs the server with a 64 KB file size limit (prlimit,
// from util-linux), standing in for a full disk.
std::string limited_server(const std::string& dir) {
  char real[PATH_MAX];
  if (::realpath(server_binary_path().c_str(), real) == nullptr)
    throw std::runtime_error("no server binary at " + server_binary_path());
  auto wrapper = dir + "/limited-server";
  write_file(wrapper, std::string{"#!/bin/sh\nexec prlimit --fsize=65536 -- "} + real
                        + " \"$@\"\n");
  ::chmod(wrapper.c_str(), 0755);
  return wrapper;
}

void kill_hard(server_process& server) {
  ::kill(server.pid(), SIGKILL);
  EXPECT_EQ(server.stop(), 128 + SIGKILL);
}

} // namespace

TEST(Persistence, ARestartBringsBackEveryKeyValueAndDeadline) {
  auto dir = make_test_dir("aof");
  std::int64_t long_deadline = 0;
  {
    // Small shards, so the engine grows (keys move between engines) on the way.
    auto args = aof_args(dir, "everysec");
    args.push_back("--grow-keys-per-shard=500");
    args.push_back("--resize-check-ms=10");
    server_process server{args};
    hiredis_connection c{server.port()};
    EXPECT_EQ(info_text(c, "aof_enabled"), "1");
    for (int i = 0; i < 3000; ++i)
      c.append({"SET", "k:" + std::to_string(i), "v" + std::to_string(i)});
    for (int i = 0; i < 3000; ++i)
      ASSERT_TRUE(is_status(c.get_reply(), "OK"));
    // The engine grows while the keys are written, or soon after.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (info_integer(c, "engine_resizes_up") == 0
           && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    EXPECT_TRUE(is_integer(c.command({"DEL", "k:0", "k:1"}), 2));
    EXPECT_TRUE(is_integer(c.command({"APPEND", "k:2", "+more"}), 7));
    EXPECT_TRUE(is_integer(c.command({"INCRBY", "counter", "41"}), 41));
    EXPECT_TRUE(is_integer(c.command({"INCR", "counter"}), 42));
    EXPECT_TRUE(is_bulk(c.command({"INCRBYFLOAT", "float", "1.5"}), "1.5"));
    EXPECT_TRUE(is_integer(c.command({"SETRANGE", "k:3", "1", "XY"}), 3));
    EXPECT_TRUE(is_status(c.command({"RENAME", "k:4", "renamed"}), "OK"));
    EXPECT_TRUE(is_status(c.command({"SET", "ttl", "v", "EX", "1000"}), "OK"));
    EXPECT_TRUE(is_integer(c.command({"EXPIRE", "k:5", "2000"}), 1));
    EXPECT_TRUE(is_integer(c.command({"PERSIST", "k:5"}), 1));
    EXPECT_TRUE(is_integer(c.command({"PEXPIRE", "k:6", "5000000"}), 1));
    long_deadline = c.command({"PEXPIRETIME", "k:6"})->integer;
    EXPECT_GE(info_integer(c, "engine_resizes_up"), 1);
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{aof_args(dir, "everysec")};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 3000 - 2 + 3));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "k:0", "k:1", "k:4"}), 0));
  EXPECT_TRUE(is_bulk(c.command({"GET", "k:2"}), "v2+more"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "counter"}), "42"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "float"}), "1.5"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "k:3"}), "vXY"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "renamed"}), "v4"));
  auto ttl = c.command({"TTL", "ttl"});
  EXPECT_GT(ttl->integer, 900);
  EXPECT_LE(ttl->integer, 1000);
  EXPECT_TRUE(is_integer(c.command({"TTL", "k:5"}), -1));
  // Deadlines are absolute: the same instant after the restart.
  EXPECT_TRUE(is_integer(c.command({"PEXPIRETIME", "k:6"}), long_deadline));
  for (int i = 7; i < 3000; i += 97)
    EXPECT_TRUE(is_bulk(c.command({"GET", "k:" + std::to_string(i)}), "v" + std::to_string(i)));
}

// Function libraries are kept with the data: in the append-only file after
// every change (and through a rewrite), in every snapshot.
TEST(Persistence, FunctionLibrariesComeBackFromTheFileAndFromASnapshot) {
  auto library = [](const std::string& name, const std::string& reply) {
    return "#!lua name=" + name + "\nredis.register_function('" + name
           + "', function() return '" + reply + "' end)";
  };
  auto dir = make_test_dir("functions");
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", library("first", "one")}), "first"));
    EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", library("gone", "x")}), "gone"));
    EXPECT_TRUE(is_status(c.command({"FUNCTION", "DELETE", "gone"}), "OK"));
    c.command({"BGREWRITEAOF"});
    ASSERT_TRUE(await_info(c, "aof_rewrite_in_progress", "0"));
    // After the rewrite: replaced, so the file must say the latest code.
    EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", "REPLACE", library("first", "uno")}),
                        "first"));
    kill_hard(server); // appendfsync always: acknowledged means written
  }
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_bulk(c.command({"FCALL", "first", "0"}), "uno"));
    EXPECT_TRUE(is_error(c.command({"FCALL", "gone", "0"}), "ERR Function not found"));
    EXPECT_EQ(server.stop(), 0);
  }
  auto snapshots = make_test_dir("functions-snapshot");
  {
    server_process server{{"--dir=" + snapshots}};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_bulk(c.command({"FUNCTION", "LOAD", library("saved", "yes")}), "saved"));
    EXPECT_TRUE(is_status(c.command({"SAVE"}), "OK"));
    EXPECT_TRUE(is_status(c.command({"FUNCTION", "FLUSH"}), "OK"));
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{{"--dir=" + snapshots}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_bulk(c.command({"FCALL", "saved", "0"}), "yes"));
}

// A script's writes reach the append-only file as one group: a crash while
// the script runs (it has written on every shard, then spins) brings none of
// them back, and a script that ended brings all of them back.
TEST(Persistence, AScriptsWritesComeBackAllOrNone) {
  auto dir = make_test_dir("script-group");
  const std::string writes =
    "for i = 1, 20 do redis.call('set', 'w:' .. i, ARGV[1]) end ";
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port(), std::chrono::seconds{30}};
    EXPECT_TRUE(is_integer(c.command({"EVAL", writes + "return 1", "0", "whole"}), 1));
    EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "busy-reply-threshold", "50"}), "OK"));
    hiredis_connection spinner{server.port(), std::chrono::seconds{30}};
    spinner.append({"EVAL", writes + "while true do end", "0", "half"});
    spinner.flush();
    // Past the threshold the script has written everything and spins: others
    // are answered BUSY.
    for (;;) {
      auto r = c.command({"PING"});
      if (r->type == REDIS_REPLY_ERROR)
        break;
    }
    kill_hard(server);
  }
  server_process server{aof_args(dir, "always")};
  hiredis_connection c{server.port()};
  for (int i = 1; i <= 20; ++i)
    EXPECT_TRUE(is_bulk(c.command({"GET", "w:" + std::to_string(i)}), "whole")) << i;
}

TEST(Persistence, FlushAllIsReplayedWhereItHappened) {
  auto dir = make_test_dir("aof");
  {
    server_process server{aof_args(dir, "everysec")};
    hiredis_connection c{server.port()};
    c.command({"SET", "before", "1"});
    EXPECT_TRUE(is_status(c.command({"FLUSHALL"}), "OK"));
    c.command({"SET", "after", "2"});
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{aof_args(dir, "everysec")};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_nil(c.command({"GET", "before"})));
  EXPECT_TRUE(is_bulk(c.command({"GET", "after"}), "2"));
}

TEST(Persistence, AnExpiredKeyIsNotBroughtBack) {
  auto dir = make_test_dir("aof");
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port()};
    c.command({"SET", "short", "v", "PX", "100"});
    c.command({"SET", "long", "v", "EX", "1000"});
    // Until it has expired.
    while (c.command({"EXISTS", "short"})->integer == 1)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    kill_hard(server);
  }
  server_process server{aof_args(dir, "always")};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "short"}), 0));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "long"}), 1));
}

// The durability promise of appendfsync always: whatever was acknowledged
// survives a kill -9 at any moment.
TEST(Persistence, KillNineUnderLoadLosesNoAcknowledgedWrite) {
  auto dir = make_test_dir("aof");
  constexpr int writers = 8;
  std::vector<std::vector<std::string>> acknowledged(writers);
  {
    server_process server{aof_args(dir, "always")};
    std::atomic<bool> stop{false};
    std::atomic<long> total{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        try {
          hiredis_connection c{server.port(), std::chrono::seconds{5}};
          for (int i = 0; !stop; i += 4) {
            // Pipelines of four, so that batches of many clients share fsyncs.
            std::vector<std::string> keys;
            for (int j = i; j < i + 4; ++j) {
              keys.push_back("w" + std::to_string(w) + ":" + std::to_string(j));
              c.append({"SET", keys.back(), keys.back() + "-value"});
            }
            for (const auto& k : keys) {
              auto r = c.get_reply();
              if (r->type != REDIS_REPLY_STATUS)
                return;
              acknowledged[w].push_back(k);
              ++total;
            }
          }
        } catch (const std::exception&) {
          // The server went away mid-request: that write was not acknowledged.
        }
      });
    }
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (total < 4000 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    EXPECT_GE(total.load(), 4000) << "the writers stalled";
    kill_hard(server);
    stop = true;
    for (auto& t : threads)
      t.join();
  }
  server_process server{aof_args(dir, "always")};
  hiredis_connection c{server.port()};
  std::size_t checked = 0;
  for (const auto& keys : acknowledged) {
    for (const auto& k : keys)
      c.append({"GET", k});
    for (const auto& k : keys) {
      ASSERT_TRUE(is_bulk(c.get_reply(), k + "-value")) << k;
      ++checked;
    }
  }
  EXPECT_GE(checked, 4000u);
  EXPECT_EQ(info_text(c, "aof_last_write_status"), "ok");
}

namespace {

constexpr int generation_keys = 16;

std::string generation_key(int i) {
  return "gen:" + std::to_string(i);
}

// The generation the 16 keys hold: -1 when they disagree, 0 when none exists.
long long generation_held(hiredis_connection& c) {
  std::vector<std::string> mget{"MGET"};
  for (int i = 0; i < generation_keys; ++i)
    mget.push_back(generation_key(i));
  auto reply = c.command(mget);
  std::string first;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    auto* e = reply->element[i];
    std::string v = e->type == REDIS_REPLY_STRING ? std::string{e->str, e->len} : "";
    if (i == 0)
      first = v;
    else if (v != first)
      return -1;
  }
  return first.empty() ? 0 : std::stoll(first);
}

} // namespace

namespace {

// Kills the node eight times while one client writes generations to the 16
// keys, and checks after each restart that they hold one generation, no older
// than the last acknowledged. With `while_moving`, each round first adds keys
// enough to grow the engine, and the kill waits (up to 20 s) for keys to be
// moving; returns how many kills came while they were.
int kill_nine_rounds(std::vector<std::string> args, bool while_moving) {
  int kills_while_moving = 0;
  long long next = 1;
  long long acknowledged = 0;
  constexpr int kills = 8;
  for (int round = 0; round <= kills; ++round) {
    server_process server{args};
    {
      hiredis_connection c{server.port()};
      auto held = generation_held(c);
      EXPECT_NE(held, -1) << "half of a generation survived kill " << round;
      if (held == -1)
        return kills_while_moving;
      EXPECT_GE(held, acknowledged) << "an acknowledged generation was lost";
      next = std::max(next, held + 1);
      EXPECT_EQ(info_text(c, "aof_last_write_status"), "ok");
      if (while_moving && round < kills) {
        EXPECT_TRUE(is_status(c.command({"DEBUG", "POPULATE", "20000",
                                         "r" + std::to_string(round)}),
                              "OK"));
      }
    }
    if (round == kills)
      break;
    std::atomic<long long> done{0};
    std::atomic<bool> stop{false};
    std::thread writer{[&] {
      try {
        hiredis_connection w{server.port(), std::chrono::seconds{5}};
        while (!stop) {
          // Four generations in flight: alternately one MSET and one
          // MULTI/SET x16/EXEC, so shards' shares cross the writer's rounds.
          for (long long g = next; g < next + 4; ++g) {
            auto value = std::to_string(g);
            if (g % 2 == 0) {
              std::vector<std::string> mset{"MSET"};
              for (int i = 0; i < generation_keys; ++i) {
                mset.push_back(generation_key(i));
                mset.push_back(value);
              }
              w.append(mset);
            } else {
              w.append({"MULTI"});
              for (int i = 0; i < generation_keys; ++i)
                w.append({"SET", generation_key(i), value});
              w.append({"EXEC"});
            }
          }
          for (long long g = next; g < next + 4; ++g) {
            if (g % 2 == 0) {
              if (w.get_reply()->type != REDIS_REPLY_STATUS)
                return;
            } else {
              for (int i = 0; i < generation_keys + 1; ++i)
                w.get_reply();
              if (w.get_reply()->type != REDIS_REPLY_ARRAY)
                return;
            }
            acknowledged = g;
            ++done;
          }
          next += 4;
        }
      } catch (const std::exception&) {
        // The node went away mid-pipeline: the rest was not acknowledged.
      }
    }};
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    auto target = 100 + 37 * round; // a different moment in the stream each time
    while (done < target && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    EXPECT_GE(done.load(), target) << "the writer stalled";
    if (while_moving) {
      hiredis_connection observer{server.port()};
      auto moving = [&] { return info_integer(observer, "engine_migrating") == 1; };
      auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
      while (!moving() && std::chrono::steady_clock::now() < wait_until)
        std::this_thread::sleep_for(std::chrono::milliseconds{2});
      kills_while_moving += moving() ? 1 : 0;
    }
    kill_hard(server);
    stop = true;
    writer.join();
  }
  return kills_while_moving;
}

} // namespace

// A crash in the middle of an MSET or an EXEC over every shard leaves all of
// it in the file or none.
TEST(Persistence, KillNineNeverLeavesHalfAnMsetOrAnExecBehind) {
  auto args = aof_args(make_test_dir("aof"), "always");
  args.push_back("--stairs=3");
  kill_nine_rounds(args, false);
}

// The same while keys move to a larger engine: an old shard splits its share
// of a group over the new shards it feeds.
TEST(Persistence, KillNineWhileTheEngineGrowsLeavesNoHalfGroupEither) {
  auto args = aof_args(make_test_dir("aof"), "always");
  for (const char* a : {"--enable-debug-command=yes", "--grow-keys-per-shard=2000",
                        "--resize-check-ms=20"})
    args.push_back(a);
  EXPECT_GE(kill_nine_rounds(args, true), 1) << "no kill came while keys moved";
}

TEST(Persistence, ATornTailIsCutAndEverythingBeforeItLoads) {
  auto dir = make_test_dir("aof");
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 100; ++i)
      c.command({"SET", "k:" + std::to_string(i), "v"});
    EXPECT_EQ(server.stop(), 0);
  }
  auto path = dir + "/appendonly.aof";
  auto bytes = read_file(path);
  // The last record loses its last three bytes, as a crash mid-write leaves it.
  write_file(path, bytes.substr(0, bytes.size() - 3));
  {
    server_process server{aof_args(dir, "always")};
    EXPECT_TRUE(server.wait_for_log("incomplete record", std::chrono::seconds{5}))
      << server.log();
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 99));
    EXPECT_TRUE(is_integer(c.command({"EXISTS", "k:99"}), 0));
    // Appending goes on after the last good record.
    c.command({"SET", "later", "v"});
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{aof_args(dir, "always")};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 100));
  EXPECT_TRUE(is_bulk(c.command({"GET", "later"}), "v"));
  EXPECT_EQ(server.log().find("incomplete record"), std::string::npos);
}

TEST(Persistence, DamageInTheMiddleRefusesToStartWithAMessage) {
  auto dir = make_test_dir("aof");
  {
    server_process server{aof_args(dir, "always")};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 100; ++i)
      c.command({"SET", "k:" + std::to_string(i), "value-" + std::to_string(i)});
    EXPECT_EQ(server.stop(), 0);
  }
  auto path = dir + "/appendonly.aof";
  auto bytes = read_file(path);
  bytes[bytes.size() / 2] ^= 0x40;
  write_file(path, bytes);
  try {
    server_process server{aof_args(dir, "always")};
    FAIL() << "the node started on a damaged file";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("is damaged at offset"), std::string::npos) << what;
    EXPECT_NE(what.find("refusing to start"), std::string::npos) << what;
  }
  // The file is left as it was, for repair.
  EXPECT_EQ(read_file(path), bytes);
}

// A file that cannot grow (a file size limit, standing in for a full disk):
// writes are refused with -MISCONF, reads go on, and every write acknowledged
// before is there after a restart.
TEST(Persistence, AFileThatCannotBeWrittenRefusesWritesWithMisconf) {
  auto dir = make_test_dir("aof");
  auto wrapper = limited_server(dir);
  auto data = make_test_dir("aof");
  std::vector<std::string> acknowledged;
  {
    ::setenv("STAIRKV_SERVER", wrapper.c_str(), 1);
    server_process server{aof_args(data, "always")};
    ::unsetenv("STAIRKV_SERVER");
    hiredis_connection c{server.port()};
    std::string refusal;
    for (int i = 0; i < 2000 && refusal.empty(); ++i) {
      auto key = "k:" + std::to_string(i);
      auto r = c.command({"SET", key, std::string(100, 'v')});
      if (r->type == REDIS_REPLY_ERROR)
        refusal = r->str;
      else
        acknowledged.push_back(key);
    }
    EXPECT_EQ(refusal.rfind("MISCONF Errors writing to the AOF file", 0), 0u) << refusal;
    EXPECT_GT(acknowledged.size(), 100u);
    // From now on writes are refused, before they run; reads are served.
    auto again = c.command({"SET", "more", "v"});
    ASSERT_EQ(again->type, REDIS_REPLY_ERROR);
    EXPECT_STREQ(again->str, "MISCONF Errors writing to the AOF file: File too large");
    EXPECT_TRUE(is_nil(c.command({"GET", "more"})));
    EXPECT_TRUE(is_bulk(c.command({"GET", acknowledged[0]}), std::string(100, 'v')));
    EXPECT_EQ(info_text(c, "aof_last_write_status"), "err");
    EXPECT_TRUE(server.wait_for_log("AOF write failed", std::chrono::seconds{5}));
    kill_hard(server);
  }
  server_process server{aof_args(data, "always")};
  hiredis_connection c{server.port()};
  for (const auto& k : acknowledged)
    c.append({"EXISTS", k});
  for (const auto& k : acknowledged)
    ASSERT_TRUE(is_integer(c.get_reply(), 1)) << k;
}

TEST(Persistence, AnUnusableDirectoryRefusesToStart) {
  try {
    server_process server{aof_args("/proc/no-such-dir", "everysec")};
    FAIL() << "the node started without a place for its file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("can't open the append-only file"),
              std::string::npos)
      << e.what();
  }
}

// -- snapshots and rewrites ---------------------------------------------------------

TEST(Snapshots, ASnapshotAloneRestoresEveryKey) {
  auto dir = make_test_dir("aof");
  std::int64_t deadline = 0;
  {
    server_process server{{"--dir=" + dir, "--grow-keys-per-shard=1000",
                           "--resize-check-ms=10"}};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 5000; ++i)
      c.append({"SET", "k:" + std::to_string(i), "value-" + std::to_string(i)});
    for (int i = 0; i < 5000; ++i)
      ASSERT_TRUE(is_status(c.get_reply(), "OK"));
    c.command({"SET", "ttl", "v", "EX", "1000"});
    deadline = c.command({"PEXPIRETIME", "ttl"})->integer;
    EXPECT_GT(info_integer(c, "rdb_changes_since_last_save"), 5000);
    auto before = c.command({"LASTSAVE"})->integer;
    EXPECT_TRUE(is_status(c.command({"SAVE"}), "OK"));
    EXPECT_GE(c.command({"LASTSAVE"})->integer, before);
    EXPECT_EQ(info_integer(c, "rdb_changes_since_last_save"), 0);
    EXPECT_EQ(info_text(c, "rdb_last_bgsave_status"), "ok");
    // Not in the snapshot: nothing brings it back without the append-only file.
    c.command({"SET", "after-save", "v"});
    kill_hard(server);
  }
  server_process server{{"--dir=" + dir}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 5001));
  EXPECT_EQ(info_integer(c, "rdb_changes_since_last_save"), 0); // loaded: on disk
  for (int i = 0; i < 5000; i += 71)
    EXPECT_TRUE(is_bulk(c.command({"GET", "k:" + std::to_string(i)}),
                        "value-" + std::to_string(i)));
  EXPECT_TRUE(is_integer(c.command({"PEXPIRETIME", "ttl"}), deadline));
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "after-save"}), 0));
}

TEST(Snapshots, BgsaveRunsWhileClientsWriteAndEveryEarlierKeyIsInIt) {
  auto dir = make_test_dir("aof");
  {
    server_process server{{"--dir=" + dir, "--grow-keys-per-shard=2000",
                           "--resize-check-ms=10"}};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 20000; ++i)
      c.append({"SET", "early:" + std::to_string(i), "v"});
    for (int i = 0; i < 20000; ++i)
      c.get_reply();
    EXPECT_TRUE(is_status(c.command({"BGSAVE"}), "Background saving started"));
    // Writes and deletes go on during the save, each answered as usual.
    for (int i = 0; i < 2000; ++i) {
      EXPECT_TRUE(is_status(c.command({"SET", "during:" + std::to_string(i), "v"}), "OK"));
      if (i % 10 == 0)
        c.command({"SET", "early:" + std::to_string(i), "changed"});
    }
    ASSERT_TRUE(await_info(c, "rdb_bgsave_in_progress", "0"));
    EXPECT_EQ(info_text(c, "rdb_last_bgsave_status"), "ok");
    EXPECT_EQ(server.stop(), 0);
  }
  server_process server{{"--dir=" + dir}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 20000; ++i)
    c.append({"GET", "early:" + std::to_string(i)});
  for (int i = 0; i < 20000; ++i) {
    auto r = c.get_reply();
    ASSERT_EQ(r->type, REDIS_REPLY_STRING) << i;
    // A key changed during the save is there with one of its two values.
    std::string v{r->str, r->len};
    EXPECT_TRUE(v == "v" || (i % 10 == 0 && v == "changed")) << i << " " << v;
  }
}

TEST(Snapshots, SaveRulesSnapshotOnTheirOwn) {
  auto dir = make_test_dir("aof");
  server_process server{{"--dir=" + dir, "--save=1 3"}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "save"}),
                            {std::string{"save"}, std::string{"1 3"}}));
  for (int i = 0; i < 3; ++i)
    c.command({"SET", "k" + std::to_string(i), "v"});
  EXPECT_TRUE(server.wait_for_log("3 changes in 1 seconds. Saving...",
                                  std::chrono::seconds{30}));
  ASSERT_TRUE(await_info(c, "rdb_changes_since_last_save", "0"));
  EXPECT_GT(file_size(dir + "/dump.stkv"), 0);
}

TEST(Snapshots, BgrewriteaofShrinksTheFileAndLosesNothingWrittenMeanwhile) {
  auto dir = make_test_dir("aof");
  auto path = dir + "/appendonly.aof";
  std::vector<std::string> expected(500);
  {
    server_process server{aof_args(dir, "everysec")};
    hiredis_connection c{server.port()};
    // Every key overwritten many times: the file holds all of it.
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 500; ++i) {
        expected[i] = "r" + std::to_string(round);
        c.append({"SET", "k:" + std::to_string(i), expected[i]});
      }
      for (int i = 0; i < 500; ++i)
        c.get_reply();
    }
    auto before = info_integer(c, "aof_current_size");
    EXPECT_TRUE(is_status(c.command({"BGREWRITEAOF"}),
                          "Background append only file rewriting started"));
    // Changes while it runs must follow the rewritten keys.
    for (int i = 0; i < 500; i += 3) {
      expected[i] = "during";
      c.command({"SET", "k:" + std::to_string(i), expected[i]});
    }
    c.command({"DEL", "k:1"});
    expected[1].clear();
    ASSERT_TRUE(await_info(c, "aof_rewrite_in_progress", "0"));
    EXPECT_EQ(info_text(c, "aof_last_bgrewrite_status"), "ok");
    EXPECT_GE(info_integer(c, "aof_last_rewrite_time_sec"), 0);
    EXPECT_EQ(info_integer(c, "aof_current_rewrite_time_sec"), -1);
    for (int i = 2; i < 500; i += 7) {
      expected[i] = "after";
      c.command({"SET", "k:" + std::to_string(i), expected[i]});
    }
    EXPECT_LT(info_integer(c, "aof_current_size"), before / 10);
    EXPECT_EQ(server.stop(), 0);
  }
  EXPECT_LT(file_size(path), 40 * 500 * 10);
  server_process server{aof_args(dir, "everysec")};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 500; ++i) {
    auto r = c.command({"GET", "k:" + std::to_string(i)});
    if (expected[i].empty())
      EXPECT_TRUE(is_nil(r)) << i;
    else
      EXPECT_TRUE(is_bulk(r, expected[i])) << i;
  }
}

TEST(Snapshots, TheFileIsRewrittenWhenItOutgrowsItsLastRewrite) {
  auto dir = make_test_dir("aof");
  server_process server{{"--appendonly=yes", "--dir=" + dir,
                         "--auto-aof-rewrite-min-size=64kb",
                         "--auto-aof-rewrite-percentage=100"}};
  hiredis_connection c{server.port()};
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 100; ++i)
      c.append({"SET", "k:" + std::to_string(i), std::string(50, 'a' + round % 26)});
    for (int i = 0; i < 100; ++i)
      c.get_reply();
  }
  EXPECT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully",
                                  std::chrono::seconds{30}))
    << server.log();
  ASSERT_TRUE(await_info(c, "aof_rewrite_in_progress", "0"));
  // 10,000 records of about 70 bytes were appended; what is left is the last
  // rewrite (100 keys and what came while it ran) and the appends after it.
  EXPECT_LT(info_integer(c, "aof_current_size"), 350 * 1024);
  EXPECT_GT(info_integer(c, "aof_base_size"), 0);
}

// With save rules, a snapshot that cannot be written stops writes (as Redis's
// stop-writes-on-bgsave-error does) until one succeeds.
TEST(Snapshots, AFailedSnapshotWithSaveRulesRefusesWrites) {
  auto dir = make_test_dir("aof");
  auto wrapper = limited_server(dir);
  auto data = make_test_dir("aof");
  ::setenv("STAIRKV_SERVER", wrapper.c_str(), 1);
  server_process server{{"--dir=" + data, "--save=3600 1000000"}};
  ::unsetenv("STAIRKV_SERVER");
  hiredis_connection c{server.port()};
  for (int i = 0; i < 2000; ++i)
    c.append({"SET", "k:" + std::to_string(i), std::string(100, 'v')});
  for (int i = 0; i < 2000; ++i)
    ASSERT_TRUE(is_status(c.get_reply(), "OK"));
  auto reply = c.command({"SAVE"});
  ASSERT_EQ(reply->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(info_text(c, "rdb_last_bgsave_status"), "err");
  auto refused = c.command({"SET", "more", "v"});
  ASSERT_EQ(refused->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string{refused->str}.rfind("MISCONF", 0), 0u) << refused->str;
  EXPECT_TRUE(is_bulk(c.command({"GET", "k:1"}), std::string(100, 'v')));
  // Every write command, as in Redis; no temporary file is left behind.
  EXPECT_EQ(c.command({"DEL", "k:1"})->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 2000));
  EXPECT_EQ(file_size(data + "/dump.stkv"), -1);
}

TEST(Snapshots, SigtermWithSaveRulesSavesALastSnapshot) {
  auto dir = make_test_dir("aof");
  {
    server_process server{{"--dir=" + dir, "--save=3600 1000000"}};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 100; ++i)
      c.command({"SET", "k:" + std::to_string(i), "v"});
    EXPECT_EQ(server.stop(), 0);
    EXPECT_NE(server.log().find("saving the final snapshot"), std::string::npos);
  }
  server_process server{{"--dir=" + dir}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 100));
}

TEST(Snapshots, TurningTheAppendOnlyFileOnKeepsWhatTheSnapshotHeld) {
  auto dir = make_test_dir("aof");
  {
    server_process server{{"--dir=" + dir}};
    hiredis_connection c{server.port()};
    for (int i = 0; i < 100; ++i)
      c.command({"SET", "k:" + std::to_string(i), "v"});
    EXPECT_TRUE(is_status(c.command({"SAVE"}), "OK"));
    EXPECT_EQ(server.stop(), 0);
  }
  {
    server_process server{aof_args(dir, "everysec")};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 100));
    ASSERT_TRUE(server.wait_for_log("Background AOF rewrite finished successfully",
                                    std::chrono::seconds{30}));
    c.command({"SET", "new", "v"});
    EXPECT_EQ(server.stop(), 0);
  }
  ::unlink((dir + "/dump.stkv").c_str());
  server_process server{aof_args(dir, "everysec")};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 101));
}

TEST(Snapshots, ConfigSetSaveChangesTheRulesAtRunTime) {
  auto dir = make_test_dir("aof");
  // A save interrupted by a crash left its temporary file: it is removed.
  write_file(dir + "/temp-12345-1.stkv", "half a snapshot");
  server_process server{{"--dir=" + dir}};
  hiredis_connection c{server.port()};
  EXPECT_TRUE(server.wait_for_log("removed temp-12345-1.stkv", std::chrono::seconds{10}));
  EXPECT_EQ(file_size(dir + "/temp-12345-1.stkv"), -1);
  EXPECT_TRUE(is_error(c.command({"CONFIG", "SET", "save", "60"}),
                       "ERR CONFIG SET failed (possibly related to argument 'save') - "
                       "Invalid save parameters"));
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "save", "1 2"}), "OK"));
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "save"}),
                            {std::string{"save"}, std::string{"1 2"}}));
  c.command({"SET", "a", "1"});
  c.command({"SET", "b", "2"});
  EXPECT_TRUE(server.wait_for_log("2 changes in 1 seconds. Saving...",
                                  std::chrono::seconds{30}));
  ASSERT_TRUE(await_info(c, "rdb_changes_since_last_save", "0"));
  EXPECT_GT(file_size(dir + "/dump.stkv"), 0);
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "save", ""}), "OK"));
}

// SHUTDOWN stops the node as SIGTERM does; SAVE takes a final snapshot even
// without save rules, NOSAVE skips the one save rules would take.
TEST(Persistence, ShutdownSaveAndNosaveDecideTheFinalSnapshot) {
  auto snapshot_exists = [](const std::string& dir) {
    struct stat st {};
    return ::stat((dir + "/dump.stkv").c_str(), &st) == 0;
  };
  {
    auto dir = make_test_dir("aof");
    server_process server{{"--dir=" + dir}};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_status(c.command({"SET", "k", "v"}), "OK"));
    EXPECT_TRUE(is_error(c.command({"SHUTDOWN", "ABORT"}), "ERR No shutdown in progress."));
    EXPECT_TRUE(is_error(c.command({"SHUTDOWN", "SOMETIME"}), "ERR syntax error"));
    EXPECT_TRUE(is_error(c.command({"SHUTDOWN", "SAVE", "NOSAVE"}), "ERR syntax error"));
    c.append({"SHUTDOWN", "SAVE"});
    c.flush();
    ASSERT_TRUE(server.wait_for_log("bye bye", std::chrono::seconds{30})) << server.log();
    EXPECT_EQ(server.stop(), 0) << server.log();
    EXPECT_TRUE(snapshot_exists(dir));
    server_process again{{"--dir=" + dir}};
    hiredis_connection d{again.port()};
    EXPECT_TRUE(is_bulk(d.command({"GET", "k"}), "v"));
  }
  {
    auto dir = make_test_dir("aof");
    server_process server{{"--dir=" + dir, "--save=3600 1"}};
    hiredis_connection c{server.port()};
    EXPECT_TRUE(is_status(c.command({"SET", "k", "v"}), "OK"));
    c.append({"SHUTDOWN", "NOSAVE"});
    c.flush();
    ASSERT_TRUE(server.wait_for_log("bye bye", std::chrono::seconds{30})) << server.log();
    EXPECT_EQ(server.stop(), 0) << server.log();
    EXPECT_FALSE(snapshot_exists(dir));
  }
}
