// Attacks from the outside: a flood of short connections while clients work, a
// client sending one byte at a time, and huge or binary requests. After each the
// node answers PING and every key written before is intact.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

class Abuse : public server_test {
protected:
  void write_baseline() {
    for (int i = 0; i < 500; ++i)
      client().append({"SET", "base:" + std::to_string(i), "value-" + std::to_string(i)});
    for (int i = 0; i < 500; ++i)
      client().get_reply();
  }

  void expect_baseline_intact() {
    hiredis_connection check{port()};
    EXPECT_TRUE(is_status(check.command({"PING"}), "PONG"));
    for (int i = 0; i < 500; ++i)
      check.append({"GET", "base:" + std::to_string(i)});
    int wrong = 0;
    for (int i = 0; i < 500; ++i) {
      auto r = check.get_reply();
      if (!r || r->type != REDIS_REPLY_STRING
          || std::string(r->str, r->len) != "value-" + std::to_string(i))
        ++wrong;
    }
    EXPECT_EQ(wrong, 0);
  }
};

TEST_F(Abuse, TwoThousandConnectionsComeAndGoWhileFiftyClientsWork) {
  write_baseline();
  std::atomic<bool> flooding{true};
  std::atomic<int> opened{0};
  std::thread flood{[&] {
    for (int i = 0; i < 2000; ++i) {
      raw_connection c{port()};
      if (i % 2 == 0)
        c.send_all(encode_command({"PING"}));
      if (i % 3 == 0)
        c.close_with_reset();
      ++opened;
    }
    flooding = false;
  }};
  std::atomic<int> mismatches{0};
  std::atomic<int> operations{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 50; ++w) {
    workers.emplace_back([&, w] {
      hiredis_connection c{port()};
      int round = 0;
      while (flooding || round < 20) {
        auto key = "w" + std::to_string(w) + ":" + std::to_string(round % 10);
        auto value = std::to_string(round);
        c.command({"SET", key, value});
        auto r = c.command({"GET", key});
        if (!r || r->type != REDIS_REPLY_STRING || std::string(r->str, r->len) != value)
          ++mismatches;
        ++operations;
        ++round;
      }
    });
  }
  flood.join();
  for (auto& t : workers)
    t.join();
  EXPECT_EQ(opened.load(), 2000);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GE(operations.load(), 50 * 20);
  expect_baseline_intact();
}

TEST_F(Abuse, AClientSendingOneByteAtATimeDelaysNobody) {
  write_baseline();
  raw_connection slow{port()};
  auto request = encode_command({"SET", "slow", std::string(100, 's')});
  hiredis_connection other{port(), std::chrono::seconds{5}};
  for (std::size_t i = 0; i < request.size(); ++i) {
    ASSERT_TRUE(slow.send_all(request.substr(i, 1)));
    // Between the slow client's bytes, others are answered at once.
    if (i % 10 == 0) {
      EXPECT_TRUE(is_status(other.command({"PING"}), "PONG"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5}); // the attack's pace
  }
  EXPECT_EQ(slow.read_line(), "+OK\r\n");
  EXPECT_TRUE(is_bulk(run({"GET", "slow"}), std::string(100, 's')));
  expect_baseline_intact();
}

TEST_F(Abuse, HugeAndBinaryRequestsCostOnlyTheirSender) {
  write_baseline();
  {
    // A 1 MB inline line: longer than Redis's 64 KB inline limit.
    raw_connection c{port()};
    c.send_all(std::string(1 << 20, 'a'));
    auto end = c.read_until_closed(std::chrono::seconds{10});
    EXPECT_EQ(end.data.rfind("-ERR Protocol error: too big inline request", 0), 0u)
      << escape_bytes(end.data.substr(0, 80));
    EXPECT_TRUE(end.closed);
  }
  {
    // A multibulk of 10^9 elements that never come: refused at once (Redis's
    // limit is 2^31 - 1 elements, this is within it) or waited for without
    // allocating for them; either way the connection costs nothing much.
    raw_connection c{port()};
    c.send_all("*1000000000\r\n$3\r\nGET\r\n");
    EXPECT_TRUE(is_status(run({"PING"}), "PONG"));
  }
  {
    // NUL bytes inside keys and values are data, not terminators.
    std::string key("k\0e\0y", 5);
    std::string value("\0\0v\0", 4);
    EXPECT_TRUE(is_status(run({"SET", key, value}), "OK"));
    EXPECT_TRUE(is_bulk(run({"GET", key}), value));
  }
  {
    // A declared 2 GB bulk: refused before any of it is read.
    raw_connection c{port()};
    c.send_all("*2\r\n$3\r\nGET\r\n$2147483648\r\n");
    auto end = c.read_until_closed(std::chrono::seconds{10});
    EXPECT_EQ(end.data, "-ERR Protocol error: invalid bulk length\r\n");
  }
  expect_baseline_intact();
}

} // namespace
} // namespace stairkv::testing
