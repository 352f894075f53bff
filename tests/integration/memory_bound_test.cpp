// The memory bound through the real node: a cache that evicts and holds its
// limit while keeping what is read, and a database that refuses writes and keeps
// every key it acknowledged.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <string>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;

namespace {

constexpr long long mb = 1024 * 1024;

std::string value_of(const std::string& key, std::size_t size) {
  std::string v = key + ":";
  while (v.size() < size)
    v += static_cast<char>('a' + v.size() % 26);
  v.resize(size);
  return v;
}

// What a write flood saw.
struct flood_result {
  long long max_used = 0;
  long long errors = 0;
  std::string first_error;
  long long hot_hits = 0;
  long long hot_reads = 0;
};

// Writes `cold` keys of `size` bytes, pipelined `batch` at a time; after each, GETs
// one of `hot` (round robin) when given. Samples used_memory every `sample_every`
// writes on `probe`.
flood_result flood(hiredis_connection& c, hiredis_connection& probe,
                   const std::string& prefix, int cold, std::size_t size,
                   const std::vector<std::string>& hot, int batch = 100,
                   int sample_every = 5000,
                   const std::vector<std::string>& extra = {}) {
  flood_result r;
  std::size_t next_hot = 0;
  std::string cold_value(size, 'c');
  for (int first = 0; first < cold; first += batch) {
    int n = std::min(batch, cold - first);
    std::vector<bool> is_read;
    for (int i = first; i < first + n; ++i) {
      std::vector<std::string> argv{"SET", prefix + std::to_string(i), cold_value};
      argv.insert(argv.end(), extra.begin(), extra.end());
      c.append(argv);
      is_read.push_back(false);
      if (!hot.empty()) {
        c.append({"GET", hot[next_hot]});
        next_hot = (next_hot + 1) % hot.size();
        is_read.push_back(true);
      }
    }
    for (bool read : is_read) {
      auto reply = c.get_reply();
      if (reply->type == REDIS_REPLY_ERROR) {
        if (r.errors++ == 0)
          r.first_error = reply->str;
        continue;
      }
      if (read) {
        ++r.hot_reads;
        if (reply->type == REDIS_REPLY_STRING)
          ++r.hot_hits;
      }
    }
    if ((first / batch) % (sample_every / batch) == 0)
      r.max_used = std::max(r.max_used, info_integer(probe, "used_memory"));
  }
  r.max_used = std::max(r.max_used, info_integer(probe, "used_memory"));
  return r;
}

int count_present(hiredis_connection& c, const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    c.append({"EXISTS", k});
  int present = 0;
  for (std::size_t i = 0; i < keys.size(); ++i)
    present += static_cast<int>(c.get_reply()->integer);
  return present;
}

std::vector<std::string> write_keys(hiredis_connection& c, const std::string& prefix,
                                    int n, std::size_t size,
                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    keys.push_back(prefix + std::to_string(i));
    std::vector<std::string> argv{"SET", keys.back(), value_of(keys.back(), size)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    c.append(argv);
  }
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(is_status(c.get_reply(), "OK"));
  return keys;
}

} // namespace

// The workload: 150 MB of cold keys stream into a 40 MB cache while a
// 2,000-key hot set is read, one hot GET after each cold SET. An evicted hot key
// is not written again, so every hot eviction shows at the end.
TEST(MemoryBound, AllKeysLruHoldsTheLimitAndKeepsTheHotSet) {
  server_process server{{"--maxmemory=40mb", "--maxmemory-policy=allkeys-lru"}};
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  EXPECT_EQ(info_integer(probe, "maxmemory"), 40 * mb);
  EXPECT_EQ(info_text(probe, "maxmemory_policy"), "allkeys-lru");
  auto hot = write_keys(c, "hot:", 2000, 1000);
  auto r = flood(c, probe, "cold:", 150000, 1000, hot);
  EXPECT_EQ(r.errors, 0) << r.first_error;
  // Within 5% of the limit all along, and the limit is used, not undershot.
  EXPECT_LE(r.max_used, 40 * mb * 105 / 100);
  auto used = info_integer(probe, "used_memory");
  EXPECT_LE(used, 40 * mb * 105 / 100);
  EXPECT_GE(used, 40 * mb * 95 / 100);
  EXPECT_GT(info_integer(probe, "evicted_keys"), 100000);
  EXPECT_GE(count_present(c, hot), 1800);
  EXPECT_GE(r.hot_hits * 100, r.hot_reads * 95);
  // What stays reads back whole.
  for (int i = 0; i < 2000; i += 97) {
    auto reply = c.command({"GET", hot[i]});
    if (reply->type == REDIS_REPLY_STRING) {
      EXPECT_TRUE(is_bulk(reply, value_of(hot[i], 1000)));
    }
  }
}

TEST(MemoryBound, AllKeysLfuKeepsTheKeysReadOften) {
  server_process server{{"--maxmemory=16mb", "--maxmemory-policy=allkeys-lfu"}};
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  auto hot = write_keys(c, "hot:", 1000, 500);
  // Read the hot keys often first, so that their counters stand out: Redis's
  // logarithmic counter takes about 33 reads to climb 3 points above a new key's 5,
  // which keeps them ahead even if a minute boundary passes during the test
  // (one point of decay, lfu-decay-time 1).
  for (int round = 0; round < 5; ++round)
    count_present(c, hot);
  for (int round = 0; round < 40; ++round) {
    for (const auto& k : hot)
      c.append({"GET", k});
    for (std::size_t i = 0; i < hot.size(); ++i)
      c.get_reply();
  }
  auto r = flood(c, probe, "cold:", 100000, 500, {});
  EXPECT_EQ(r.errors, 0) << r.first_error;
  EXPECT_LE(r.max_used, 16 * mb * 105 / 100);
  EXPECT_GE(count_present(c, hot), 950);
}

TEST(MemoryBound, NoEvictionRefusesWritesKeepsEveryAcknowledgedKeyAndDelFreesRoom) {
  server_process server{{"--maxmemory=8mb"}}; // noeviction is the default policy
  hiredis_connection c{server.port()};
  EXPECT_EQ(info_text(c, "maxmemory_policy"), "noeviction");
  std::vector<std::string> acknowledged;
  long long refused = 0;
  std::string error;
  // Write until 200 writes in a row are refused.
  for (int i = 0, refused_in_a_row = 0; refused_in_a_row < 200; ++i) {
    auto key = "k:" + std::to_string(i);
    auto reply = c.command({"SET", key, value_of(key, 1000)});
    if (reply->type == REDIS_REPLY_ERROR) {
      error = reply->str;
      ++refused;
      ++refused_in_a_row;
    } else {
      ASSERT_TRUE(is_status(reply, "OK"));
      acknowledged.push_back(key);
      refused_in_a_row = 0;
    }
    ASSERT_LT(i, 100000) << "never refused";
  }
  EXPECT_EQ(error, "OOM command not allowed when used memory > 'maxmemory'.");
  EXPECT_GT(acknowledged.size(), 3000u);
  auto used = info_integer(c, "used_memory");
  EXPECT_LE(used, 8 * mb * 110 / 100);
  EXPECT_EQ(info_integer(c, "evicted_keys"), 0);
  // Used memory hovers at the bound, and a write is taken whenever it dips under
  // (as in Redis). A bound well below it makes every growing write refused.
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "maxmemory",
                                   std::to_string(used * 3 / 4)}),
                        "OK"));
  const std::string oom = "OOM command not allowed when used memory > 'maxmemory'.";
  EXPECT_TRUE(is_error(c.command({"SET", "x", "1"}), oom));
  EXPECT_TRUE(is_error(c.command({"APPEND", acknowledged[0], "more"}), oom));
  EXPECT_TRUE(is_error(c.command({"MSET", "x", "1", "y", "2"}), oom));
  EXPECT_TRUE(is_error(c.command({"INCR", "n"}), oom));
  // Reads and commands that free memory work.
  EXPECT_TRUE(is_integer(c.command({"EXISTS", "x", "y", "n"}), 0));
  EXPECT_TRUE(is_integer(c.command({"EXPIRE", acknowledged[1], "1000"}), 1));
  // Every acknowledged key reads back with its value.
  for (const auto& k : acknowledged)
    c.append({"GET", k});
  for (const auto& k : acknowledged)
    ASSERT_TRUE(is_bulk(c.get_reply(), value_of(k, 1000))) << k;
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), static_cast<long long>(acknowledged.size())));
  // DEL frees room: three quarters of the keys go, and writes are taken again.
  std::size_t gone = acknowledged.size() * 3 / 4;
  for (std::size_t i = 0; i < gone; ++i)
    c.append({"DEL", acknowledged[i]});
  for (std::size_t i = 0; i < gone; ++i)
    ASSERT_TRUE(is_integer(c.get_reply(), 1));
  EXPECT_TRUE(is_status(c.command({"SET", "after", "delete"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"GET", "after"}), "delete"));
  for (std::size_t i = gone; i < acknowledged.size(); ++i)
    c.append({"GET", acknowledged[i]});
  for (std::size_t i = gone; i < acknowledged.size(); ++i)
    ASSERT_TRUE(is_bulk(c.get_reply(), value_of(acknowledged[i], 1000)));
}

TEST(MemoryBound, MemoryUsageReportsWhatAKeyTakes) {
  server_process server;
  hiredis_connection c{server.port()};
  c.command({"SET", "small", "v"});
  c.command({"SET", "big", std::string(33000, 'A')});
  c.command({"SET", "ttl", "v", "EX", "100"});
  auto small = c.command({"MEMORY", "USAGE", "small"});
  ASSERT_EQ(small->type, REDIS_REPLY_INTEGER);
  EXPECT_GT(small->integer, 20);
  EXPECT_LT(small->integer, 100);
  auto big = c.command({"MEMORY", "USAGE", "big", "SAMPLES", "5"});
  ASSERT_EQ(big->type, REDIS_REPLY_INTEGER);
  EXPECT_GE(big->integer, 33000);
  EXPECT_LT(big->integer, 42000);
  EXPECT_GT(c.command({"MEMORY", "USAGE", "ttl"})->integer, small->integer);
  EXPECT_TRUE(is_nil(c.command({"MEMORY", "USAGE", "missing"})));
  EXPECT_TRUE(is_error(c.command({"MEMORY", "DOCTORS"}),
                       "ERR unknown subcommand 'DOCTORS'. Try MEMORY HELP."));
  EXPECT_TRUE(is_error(c.command({"MEMORY", "USAGE", "small", "SOMETIMES", "5"}),
                       "ERR syntax error"));
}

TEST(MemoryBound, VolatilePoliciesNeverEvictKeysWithoutTtl) {
  for (const char* policy : {"volatile-lru", "volatile-lfu", "volatile-random",
                             "volatile-ttl"}) {
    SCOPED_TRACE(policy);
    server_process server{{"--maxmemory=8mb", std::string{"--maxmemory-policy="} + policy}};
    hiredis_connection c{server.port()};
    hiredis_connection probe{server.port()};
    auto lasting = write_keys(c, "keep:", 2000, 1000);
    // 20 MB of keys with a TTL stream through: only they are evicted.
    auto r = flood(c, probe, "ttl:", 20000, 1000, {}, 100, 5000, {"EX", "3600"});
    EXPECT_EQ(r.errors, 0) << r.first_error;
    EXPECT_GT(info_integer(probe, "evicted_keys"), 10000);
    EXPECT_EQ(count_present(c, lasting), 2000);
    // Keys without a TTL keep coming: the keys with one are evicted until none is
    // left, then writes are refused, and still no key without a TTL goes.
    long long refused = 0;
    for (int i = 0; i < 20000 && refused == 0; ++i) {
      auto key = "more:" + std::to_string(i);
      auto reply = c.command({"SET", key, value_of(key, 1000)});
      if (reply->type == REDIS_REPLY_ERROR) {
        EXPECT_STREQ(reply->str, "OOM command not allowed when used memory > 'maxmemory'.");
        ++refused;
      }
    }
    EXPECT_EQ(refused, 1);
    EXPECT_EQ(count_present(c, lasting), 2000);
    for (int i = 0; i < 2000; i += 50)
      EXPECT_TRUE(is_bulk(c.command({"GET", lasting[i]}), value_of(lasting[i], 1000)));
  }
}

TEST(MemoryBound, VolatileTtlEvictsTheNearestDeadlinesFirst) {
  server_process server{{"--maxmemory-policy=volatile-ttl", "--maxmemory-samples=10"}};
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  // 4,000 keys, every other one with a TTL of an hour, the rest four hours.
  std::vector<std::string> early;
  std::vector<std::string> late;
  for (int i = 0; i < 4000; ++i) {
    auto key = "t:" + std::to_string(i);
    bool is_early = i % 2 == 0;
    (is_early ? early : late).push_back(key);
    c.append({"SET", key, value_of(key, 1000), "EX", is_early ? "3600" : "14400"});
  }
  for (int i = 0; i < 4000; ++i)
    ASSERT_TRUE(is_status(c.get_reply(), "OK"));
  // Room for about 1,000 more; 2,000 keys with a TTL of a day come.
  auto used = info_integer(probe, "used_memory");
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "maxmemory",
                                   std::to_string(used + 1100 * 1000)}),
                        "OK"));
  auto r = flood(c, probe, "day:", 2000, 1000, {}, 100, 5000, {"EX", "86400"});
  EXPECT_EQ(r.errors, 0) << r.first_error;
  auto early_gone = 2000 - count_present(c, early);
  auto late_gone = 2000 - count_present(c, late);
  // Sampling is approximate, but the nearest deadlines go far more often.
  EXPECT_GT(early_gone, 500);
  EXPECT_GT(early_gone, 3 * late_gone) << early_gone << " early, " << late_gone << " late";
}

TEST(MemoryBound, EvictedKeysAreAnnounced) {
  server_process server{{"--maxmemory=8mb", "--maxmemory-policy=allkeys-random",
                         "--notify-keyspace-events=Ee"}};
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  hiredis_connection sub{server.port()};
  sub.command({"SUBSCRIBE", "__keyevent@0__:evicted"});
  flood(c, probe, "k:", 12000, 1000, {});
  auto evicted = info_integer(probe, "evicted_keys");
  ASSERT_GT(evicted, 1000);
  // One message per evicted key, naming a key that is gone.
  for (long long i = 0; i < evicted; ++i) {
    auto m = sub.get_reply();
    ASSERT_EQ(m->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(m->elements, 3u);
    EXPECT_STREQ(m->element[1]->str, "__keyevent@0__:evicted");
    if (i % 100 == 0) {
      EXPECT_TRUE(is_integer(c.command({"EXISTS", m->element[2]->str}), 0));
    }
  }
}

TEST(MemoryBound, ConfigSetChangesTheBoundAtRunTime) {
  server_process server;
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  EXPECT_EQ(info_integer(c, "maxmemory"), 0);
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "maxmemory"}),
                            {std::string{"maxmemory"}, std::string{"0"}}));
  write_keys(c, "before:", 16000, 1000); // about 16 MB
  auto before = info_integer(c, "used_memory");
  EXPECT_GT(before, 16 * mb);
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "maxmemory", "8mb",
                                   "maxmemory-policy", "allkeys-random"}),
                        "OK"));
  EXPECT_TRUE(is_bulk_array(c.command({"CONFIG", "GET", "maxmemory"}),
                            {std::string{"maxmemory"}, std::string{"8388608"}}));
  EXPECT_EQ(info_text(c, "maxmemory_human"), "8.00M");
  EXPECT_EQ(info_text(c, "maxmemory_policy"), "allkeys-random");
  // The next writes bring it under the new bound.
  auto r = flood(c, probe, "after:", 2000, 1000, {});
  EXPECT_EQ(r.errors, 0) << r.first_error;
  EXPECT_LE(info_integer(c, "used_memory"), 8 * mb * 105 / 100);
  EXPECT_GE(info_integer(c, "used_memory_peak"), before);
  EXPECT_GT(info_integer(c, "evicted_keys"), 8000);
  // Redis's wording for values it would refuse; nothing changes.
  EXPECT_TRUE(is_error(c.command({"CONFIG", "SET", "maxmemory", "lots"}),
                       "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                       "argument must be a memory value"));
  EXPECT_TRUE(is_error_starting_with(
    c.command({"CONFIG", "SET", "maxmemory-policy", "sometimes"}),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
    "argument(s) must be one of the following:"));
  EXPECT_EQ(info_text(c, "maxmemory_policy"), "allkeys-random");
  // Back to no bound: writes are taken without eviction.
  EXPECT_TRUE(is_status(c.command({"CONFIG", "SET", "maxmemory", "0"}), "OK"));
  auto evicted = info_integer(c, "evicted_keys");
  write_keys(c, "free:", 4000, 1000);
  EXPECT_EQ(info_integer(c, "evicted_keys"), evicted);
  EXPECT_TRUE(is_status(c.command({"CONFIG", "RESETSTAT"}), "OK"));
  EXPECT_EQ(info_integer(c, "evicted_keys"), 0);
}

// Eviction goes on while the engine grows and keys move between engines.
TEST(MemoryBound, EvictionKeepsWorkingAcrossResizes) {
  server_process server{{"--maxmemory=24mb", "--maxmemory-policy=allkeys-lru",
                         "--grow-keys-per-shard=3000", "--resize-check-ms=20"}};
  hiredis_connection c{server.port()};
  hiredis_connection probe{server.port()};
  auto r = flood(c, probe, "k:", 60000, 1000, {}, 100, 1000);
  EXPECT_EQ(r.errors, 0) << r.first_error;
  EXPECT_GE(info_integer(probe, "engine_resizes_up"), 1);
  EXPECT_GT(info_integer(probe, "evicted_keys"), 30000);
  EXPECT_LE(r.max_used, 24 * mb * 110 / 100);
  EXPECT_LE(info_integer(probe, "used_memory"), 24 * mb * 105 / 100);
  // The keys that stay are whole.
  for (int i = 59000; i < 60000; i += 10) {
    auto key = "k:" + std::to_string(i);
    auto reply = c.command({"GET", key});
    if (reply->type == REDIS_REPLY_STRING) {
      EXPECT_EQ(std::string(reply->str, reply->len), std::string(1000, 'c'));
    }
  }
}

// Replies held for a client that reads a deep pipeline late take memory while
// they wait; once they are written the connection gives that memory back, so
// it does not count against maxmemory for good (Redis frees written replies).
TEST(MemoryBound, ADeepPipelineReadLateGivesItsMemoryBack) {
  server_process server{{}};
  hiredis_connection c{server.port()};
  // Memory outside the tables shows only in the allocator's own figures: a
  // sanitizer build keeps its allocator and has none to read.
  if (info_text(c, "mem_allocator") != "jemalloc")
    GTEST_SKIP() << "no allocator statistics in this build";
  const int keys = 2000;
  const std::string value(1000, 'v');
  for (int i = 0; i < keys; ++i)
    c.append({"SET", "k:" + std::to_string(i), value});
  for (int i = 0; i < keys; ++i)
    ASSERT_TRUE(is_status(c.get_reply(), "OK"));
  auto before = info_integer(c, "used_memory");
  // 8 MB of replies, none read yet.
  raw_connection late{server.port()};
  std::string pipeline;
  const int gets = 8000;
  for (int i = 0; i < gets; ++i)
    pipeline += encode_command({"GET", "k:" + std::to_string(i % keys)});
  ASSERT_TRUE(late.send_all(pipeline));
  // The node holds part of them (the rest waits in the kernel's socket buffer).
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  long long held = 0;
  while (std::chrono::steady_clock::now() < give_up) {
    held = info_integer(c, "used_memory") - before;
    if (held > mb)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  ASSERT_GT(held, mb) << "the replies never piled up";
  for (int i = 0; i < gets; ++i) {
    auto reply = late.read_reply();
    ASSERT_EQ(reply.text, value) << i;
  }
  // The socket's two buffers swap on each write to an idle socket, and each is
  // let go when it comes out empty: two more round trips see both go.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(late.send_all(encode_command({"PING"})));
    ASSERT_EQ(late.read_line(), "+PONG\r\n");
  }
  EXPECT_LT(info_integer(c, "used_memory") - before, mb / 2);
}
