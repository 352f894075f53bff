// MONITOR through the real node: Redis's line format, redaction and the
// commands it leaves out; under 50 redis-benchmark clients a monitor that reads
// sees every command, and one that stops reading is cut off at the pubsub
// class's output limit while the benchmark loses nothing.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

// The line the monitor shows next, without its timestamp and client address
// (both checked against Redis's shape).
std::string next_line(hiredis_connection& monitor) {
  auto reply = monitor.get_reply();
  if (!reply || reply->type != REDIS_REPLY_STATUS)
    return "(not a status: " + describe(reply.get()) + ")";
  std::string line{reply->str, reply->len};
  static const std::regex shape{R"(^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] (.*)$)"};
  std::smatch m;
  if (!std::regex_match(line, m, shape))
    return "(unexpected shape: " + line + ")";
  return m[1];
}

} // namespace

TEST(Monitor, ShowsEachCommandRunAsRedisDoesWithSecretsRedacted) {
  server_process server{{"--requirepass=pw"}};
  hiredis_connection monitor{server.port()};
  EXPECT_TRUE(is_status(monitor.command({"AUTH", "pw"}), "OK"));
  EXPECT_TRUE(is_status(monitor.command({"MONITOR"}), "OK"));
  hiredis_connection c{server.port()};
  EXPECT_TRUE(is_error_starting_with(c.command({"AUTH", "wrong"}), "WRONGPASS"));
  EXPECT_TRUE(is_status(c.command({"AUTH", "pw"}), "OK"));
  EXPECT_TRUE(is_status(c.command({"SET", "foo", "a b\"c\n\x01"}), "OK"));
  EXPECT_TRUE(is_bulk(c.command({"get", "foo"}), "a b\"c\n\x01"));
  c.command({"CONFIG", "GET", "port"});               // administrative: left out
  c.command({"CLIENT", "LIST"});                      // administrative: left out
  EXPECT_TRUE(is_error_starting_with(c.command({"NOSUCH"}), "ERR unknown command"));
  EXPECT_TRUE(is_status(c.command({"PING"}), "PONG"));
  EXPECT_EQ(next_line(monitor), R"x("AUTH" "(redacted)")x");
  EXPECT_EQ(next_line(monitor), R"x("AUTH" "(redacted)")x");
  EXPECT_EQ(next_line(monitor), R"x("SET" "foo" "a b\"c\n\x01")x");
  EXPECT_EQ(next_line(monitor), R"x("get" "foo")x");
  EXPECT_EQ(next_line(monitor), R"x("PING")x");
  auto list = text_of(c.command({"CLIENT", "LIST"}));
  EXPECT_NE(list.find("flags=O "), std::string::npos) << list;
  EXPECT_NE(list.find("cmd=monitor "), std::string::npos) << list;
}

TEST(Monitor, UnderFiftyClientsAReaderSeesEverythingAndAStalledMonitorIsCutOff) {
  server_process server{{"--client-output-buffer-limit=pubsub 1mb 0 0"}};
  // The stalled monitor: asks, reads its +OK, then never reads again.
  raw_connection stalled{server.port()};
  ASSERT_TRUE(stalled.send_all("*1\r\n$7\r\nMONITOR\r\n"));
  ASSERT_EQ(stalled.read_line(), "+OK\r\n");
  // The reader counts the benchmark's SETs as they are shown.
  constexpr int requests = 200000;
  std::atomic<int> sets_seen{0};
  std::atomic<bool> stop{false};
  hiredis_connection reader{server.port()};
  ASSERT_TRUE(is_status(reader.command({"MONITOR"}), "OK"));
  std::thread counting{[&] {
    while (!stop && sets_seen < requests) {
      auto reply = reader.get_reply();
      if (!reply)
        return;
      std::string_view line{reply->str, reply->len};
      if (line.find("] \"SET\" ") != std::string_view::npos)
        ++sets_seen;
    }
  }};
  auto bench = run_redis_benchmark(
    server.port(), {"-q", "-t", "set", "-n", std::to_string(requests), "-c", "50", "-P",
                    "8", "-r", "10000"},
    300s);
  ASSERT_EQ(bench.exit_code, 0) << bench.describe();
  // Every SET reaches the reading monitor (bounded wait for the last lines).
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (sets_seen < requests && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  stop = true;
  hiredis_connection c{server.port()};
  c.command({"PING"}); // one more line, so the reader's last read returns
  counting.join();
  EXPECT_EQ(sets_seen.load(), requests);
  // The stalled one was cut off past 1 MB of pending lines.
  EXPECT_TRUE(server.wait_for_log("closed for overcoming of output buffer limits", 30s))
    << server.log();
  EXPECT_TRUE(stalled.read_until_closed(30s).closed);
  EXPECT_TRUE(is_integer(c.command({"DBSIZE"}), 10000));
  EXPECT_EQ(server.stop(), 0) << server.log();
}
