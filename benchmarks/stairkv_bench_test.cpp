// stairkv-bench end to end: the binary run as a child process against the real
// stairkv-server (and redis-server, when installed), checked through the files it
// writes and the state it leaves in the server.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/server_process.hpp"

namespace stairkv::testing {
namespace {

using namespace std::chrono_literals;

// $STAIRKV_BENCH, else the runfiles path (a Bazel test runs in the runfiles root).
std::string bench_path() {
  const char* path = std::getenv("STAIRKV_BENCH");
  return path != nullptr ? path : "./benchmarks/stairkv-bench";
}

std::string scratch_dir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The number after `"key": ` on a top-level line of a summary (two-space indent).
long long top_level_number(const std::string& json, const std::string& key) {
  const std::string needle = "\n  \"" + key + "\": ";
  const auto at = json.find(needle);
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + needle.size());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

process_result run_bench(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = 120s) {
  std::vector<std::string> argv = {bench_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", timeout);
}

// A loopback port that nothing listens on (it was free a moment ago).
uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(StairkvBench, QuickRunWritesSummaryTimelineAndPlot) {
  server_process server;
  const std::string out = scratch_dir("quick");
  const auto result =
      run_bench({"--quick", "--port=" + std::to_string(server.port()), "--out=" + out});
  ASSERT_EQ(result.exit_code, 0) << result.describe();

  const std::string summary = read_file(out + "/summary.json");
  EXPECT_EQ(top_level_number(summary, "errors"), 0) << summary;
  EXPECT_GT(top_level_number(summary, "ops"), 0) << summary;
  EXPECT_TRUE(contains(summary, "\"per_command\": {")) << summary;
  EXPECT_TRUE(contains(summary, "\"SET\": {")) << summary;
  EXPECT_TRUE(contains(summary, "\"GET\": {")) << summary;
  for (const char* field :
       {"seconds", "ops_per_sec", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}) {
    EXPECT_GE(top_level_number(summary, field), 0) << field << " in\n" << summary;
  }

  const auto timeline = lines_of(read_file(out + "/timeline.csv"));
  ASSERT_GE(timeline.size(), 2u);
  EXPECT_EQ(timeline[0], "t_ms,ops,ops_per_sec,p99_us");
  EXPECT_EQ(timeline[1].rfind("0,", 0), 0u) << timeline[1];

  // stairkv has an engine section: at least the first observation is recorded.
  const auto engine = lines_of(read_file(out + "/engine_events.csv"));
  ASSERT_GE(engine.size(), 2u);
  EXPECT_EQ(engine[0], "t_ms,event,engine_generation,engine_migrating");
  EXPECT_TRUE(contains(engine[1], ",start,")) << engine[1];

  const std::string png = read_file(out + "/throughput.png");
  ASSERT_GE(png.size(), 8u) << result.describe();
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(StairkvBench, FillSetsEveryKeyExactlyOnce) {
  server_process server;
  const auto result = run_bench({"--fill", "--keys=10000", "--value-size=3",
                                 "--port=" + std::to_string(server.port()),
                                 "--out=" + scratch_dir("fill")});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(contains(result.out, "fill: 10,000 ops")) << result.out;

  hiredis_connection client(server.port());
  EXPECT_TRUE(is_integer(client.command({"DBSIZE"}), 10000));
  EXPECT_TRUE(is_bulk(client.command({"GET", "key:000000000000"}), "abc"));
  EXPECT_TRUE(is_bulk(client.command({"GET", "key:000000009999"}), "abc"));
  EXPECT_TRUE(is_nil(client.command({"GET", "key:000000010000"})));
  EXPECT_TRUE(contains(read_file(scratch_dir("fill") + "/fill.json"), "\"ops\": 10000"));
}

TEST(StairkvBench, ExpiryProbeHearsEveryKeyFromStairkvOnTime) {
  server_process server;
  const std::string out = scratch_dir("expiry-stairkv");
  const auto result =
      run_bench({"--expiry=500", "--expiry-spread-ms=100:600",
                 "--port=" + std::to_string(server.port()), "--out=" + out});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const std::string report = read_file(out + "/expiry.json");
  EXPECT_TRUE(contains(report, "\"supported\": true")) << report;
  EXPECT_EQ(top_level_number(report, "heard"), 500) << report;
  EXPECT_EQ(top_level_number(report, "missing"), 0) << report;
  EXPECT_EQ(top_level_number(report, "duplicates"), 0) << report;
  EXPECT_EQ(top_level_number(report, "early"), 0) << report;
}

TEST(StairkvBench, AnUnreachableServerEndsTheRunWithAClearMessage) {
  const uint16_t port = unused_port();
  const auto result = run_bench(
      {"--quick", "--port=" + std::to_string(port), "--out=" + scratch_dir("refused")});
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_TRUE(contains(result.err, "127.0.0.1:" + std::to_string(port)))
      << result.describe();
  EXPECT_TRUE(contains(result.err, "connection refused")) << result.describe();
}

TEST(StairkvBench, AServerThatClosesConnectionsEndsTheRunWithAClearMessage) {
  // A stand-in server that accepts every connection and closes it at once.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 64), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::thread closer([listener] {
    for (;;) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;  // the listener was shut down
      ::close(fd);
    }
  });
  const std::string port = std::to_string(ntohs(address.sin_port));
  const auto result = run_bench({"--clients=4", "--threads=2", "--requests=1000",
                                 "--port=" + port, "--out=" + scratch_dir("closed")});
  ::shutdown(listener, SHUT_RDWR);
  closer.join();
  ::close(listener);
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_TRUE(
      contains(result.err, "server at 127.0.0.1:" + port + " closed the connection"))
      << result.describe();
}

// redis-server on a free port, for the probe that needs keyspace notifications.
class redis_server {
 public:
  explicit redis_server(const std::string& dir) : port_(unused_port()) {
    child_pipes pipes;
    pid_ = spawn_child({"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir},
                       false, stderr_mode::merge_with_stdout, pipes);
    // Redis says when it accepts connections; read its log up to that line.
    std::string log;
    char buffer[4096];
    for (;;) {
      const ssize_t got = ::read(pipes.stdout_fd, buffer, sizeof(buffer));
      if (got <= 0) throw std::runtime_error("redis-server exited early:\n" + log);
      log.append(buffer, static_cast<std::size_t>(got));
      if (contains(log, "Ready to accept connections")) break;
    }
    output_fd_ = pipes.stdout_fd;  // kept open so that its writes never fail
  }

  ~redis_server() {
    ::kill(pid_, SIGTERM);
    wait_for_child(pid_);
    ::close(output_fd_);
  }

  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
  int output_fd_ = -1;
};

TEST(StairkvBench, ExpiryProbeHearsEveryKeyFromRedis) {
  if (::access("/usr/bin/redis-server", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/redis-server is not installed (package redis-server)";
  }
  const std::string out = scratch_dir("expiry-redis");
  redis_server redis(std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR")
                                                           : "/tmp");
  // notify-keyspace-events is off in a fresh Redis: the probe turns it on itself.
  const auto result = run_bench({"--expiry=200", "--expiry-spread-ms=100:600",
                                 "--port=" + std::to_string(redis.port()), "--out=" + out});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const std::string report = read_file(out + "/expiry.json");
  EXPECT_TRUE(contains(report, "\"supported\": true")) << report;
  EXPECT_EQ(top_level_number(report, "heard"), 200) << report;
  EXPECT_EQ(top_level_number(report, "missing"), 0) << report;
  EXPECT_EQ(top_level_number(report, "duplicates"), 0) << report;
  EXPECT_EQ(top_level_number(report, "early"), 0) << report;
  EXPECT_TRUE(contains(report, "\"notify_keyspace_events\": \"Ex\"")) << report;
}

}  // namespace
}  // namespace stairkv::testing
