// Debian's prometheus-redis-exporter (1.45) scraping a real node: the command
// counts and times of INFO commandstats, the percentiles of INFO latencystats
// and the slow log length come out as the metrics Redis dashboards read.

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

using namespace stairkv::testing;
using namespace std::chrono_literals;

namespace {

// $REDIS_EXPORTER if set, else the Debian package's binary.
std::string exporter_path() {
  if (const char* env = std::getenv("REDIS_EXPORTER"); env != nullptr && *env)
    return env;
  return "/usr/bin/prometheus-redis-exporter";
}

struct http_response {
  int status = 0; // 0: no complete answer
  std::string body;
};

// GET `path` from 127.0.0.1:port with HTTP/1.0, so the answer is neither
// chunked nor kept alive: it ends when the exporter closes the connection.
// Throws std::runtime_error if nothing listens there.
http_response http_get(uint16_t port, const std::string& path) {
  raw_connection conn{port};
  conn.send_all("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port)
                + "\r\n\r\n");
  auto got = conn.read_until_closed(30s);
  http_response res;
  auto head_end = got.data.find("\r\n\r\n");
  if (!got.closed || got.data.compare(0, 5, "HTTP/") != 0
      || head_end == std::string::npos)
    return res;
  auto space = got.data.find(' ');
  res.status = std::atoi(got.data.c_str() + space + 1);
  res.body = got.data.substr(head_end + 4);
  return res;
}

// The exporter as a child process on a free loopback port, scraping the node
// on `redis_port`. Its log (stdout and stderr) is drained by a thread.
class exporter_process {
public:
  explicit exporter_process(uint16_t redis_port) {
    if (::access(exporter_path().c_str(), X_OK) != 0)
      throw std::runtime_error(exporter_path()
                               + " is not executable: install package"
                                 " prometheus-redis-exporter (tools/install-deps)");
    // Another process may take the port between the probe and the
    // exporter's bind; the exporter then exits and gets another one.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      start(redis_port);
      if (wait_until_healthy(30s))
        return;
      std::string reason = exited_ ? server_process::describe_status(exit_code_)
                                   : "did not answer /health within 30 s";
      stop();
      if (log().find("address already in use") == std::string::npos)
        throw std::runtime_error("exporter on port " + std::to_string(port_) + " " + reason
                                 + "\n--- exporter log ---\n" + log());
    }
    throw std::runtime_error("exporter found no free port:\n" + log());
  }

  ~exporter_process() {
    stop();
  }

  exporter_process(const exporter_process&) = delete;
  exporter_process& operator=(const exporter_process&) = delete;

  uint16_t port() const {
    return port_;
  }

  std::string log() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return log_;
  }

private:
  void start(uint16_t redis_port) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      log_.clear();
    }
    child_pipes pipes;
    pid_ = spawn_child({exporter_path(),
                        "--redis.addr=redis://127.0.0.1:" + std::to_string(redis_port),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
                       false, stderr_mode::merge_with_stdout, pipes);
    exited_ = false;
    reader_ = std::thread{[this, fd = pipes.stdout_fd] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        std::lock_guard<std::mutex> guard{mtx_};
        log_.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
    }};
  }

  // Polls /health (which does not scrape the node) until it answers "ok",
  // the exporter exits, or `timeout` passes.
  bool wait_until_healthy(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
      }
      try {
        auto res = http_get(port_, "/health");
        if (res.status == 200 && res.body == "ok")
          return true;
      } catch (const std::runtime_error&) {
        // not listening yet
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  void stop() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGTERM);
      wait_for_child(pid_);
    }
    exited_ = true;
    pid_ = -1;
    if (reader_.joinable())
      reader_.join();
  }

  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool exited_ = true;
  int exit_code_ = -1;
  std::thread reader_;
  mutable std::mutex mtx_;
  std::string log_;
};

// One scrape of /metrics: each sample line as "name{labels}" -> value.
struct scrape {
  std::map<std::string, double> samples;
  std::string redis_lines; // the redis_* lines, for failure messages

  std::optional<double> get(const std::string& key) const {
    auto it = samples.find(key);
    if (it == samples.end())
      return std::nullopt;
    return it->second;
  }

  // The first sample whose key starts with `prefix`, or "".
  std::string find(const std::string& prefix) const {
    auto it = samples.lower_bound(prefix);
    if (it != samples.end() && it->first.compare(0, prefix.size(), prefix) == 0)
      return it->first;
    return "";
  }
};

scrape scrape_metrics(const exporter_process& exporter) {
  auto res = http_get(exporter.port(), "/metrics");
  if (res.status != 200)
    throw std::runtime_error("GET /metrics answered " + std::to_string(res.status)
                             + ":\n" + res.body + "\n--- exporter log ---\n"
                             + exporter.log());
  scrape out;
  std::istringstream in{res.body};
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    // Label values may hold spaces (os="Linux ..."); the value is last.
    auto space = line.rfind(' ');
    if (space == std::string::npos)
      continue;
    out.samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    if (line.compare(0, 6, "redis_") == 0)
      out.redis_lines += line + "\n";
  }
  return out;
}

// "a=1,b=2.5" -> {a: 1, b: 2.5}
std::map<std::string, double> fields_of(const std::string& line) {
  std::map<std::string, double> out;
  std::istringstream in{line};
  for (std::string part; std::getline(in, part, ',');) {
    auto eq = part.find('=');
    if (eq != std::string::npos)
      out[part.substr(0, eq)] = std::stod(part.substr(eq + 1));
  }
  return out;
}

// The fields of one INFO line, e.g. cmdstat_set in commandstats; empty if absent.
std::map<std::string, double> info_line(const info_reply& info, const std::string& section,
                                        const std::string& key) {
  auto sec = info.sections.find(section);
  if (sec == info.sections.end())
    return {};
  auto it = sec->second.find(key);
  return it == sec->second.end() ? std::map<std::string, double>{} : fields_of(it->second);
}

std::string cmd_label(const std::string& name, const std::string& cmd) {
  return name + "{cmd=\"" + cmd + "\"}";
}

TEST(Exporter, ReportsCommandStatsLatencyPercentilesAndTheSlowLog) {
  server_process server{{"--slowlog-log-slower-than=0", "--slowlog-max-len=1000"}};
  hiredis_connection c{server.port()};
  const int sets = 100;
  const int hits = 60;
  const int misses = 15;
  for (int i = 0; i < sets; ++i)
    c.append({"SET", "key:" + std::to_string(i), "value"});
  for (int i = 0; i < sets; ++i)
    ASSERT_TRUE(is_status(c.get_reply(), "OK"));
  for (int i = 0; i < hits; ++i)
    ASSERT_TRUE(is_bulk(c.command({"GET", "key:" + std::to_string(i)}), "value"));
  for (int i = 0; i < misses; ++i)
    ASSERT_TRUE(is_nil(c.command({"GET", "missing:" + std::to_string(i)})));
  // The node's own numbers; the exporter sends no SET or GET, so they hold.
  auto info = parse_info(text_of(c.command({"INFO", "everything"})));
  auto set_stat = info_line(info, "commandstats", "cmdstat_set");
  auto get_stat = info_line(info, "commandstats", "cmdstat_get");
  ASSERT_EQ(set_stat["calls"], sets);
  ASSERT_EQ(get_stat["calls"], hits + misses);

  exporter_process exporter{server.port()};
  auto m = scrape_metrics(exporter);
  const auto& all = m.redis_lines;

  EXPECT_EQ(m.get("redis_up"), 1.0) << all;
  // It scraped this node, not some other Redis.
  auto instance = m.find("redis_instance_info{");
  EXPECT_NE(instance.find("tcp_port=\"" + std::to_string(server.port()) + "\""),
            std::string::npos)
    << all;
  EXPECT_NE(instance.find("role=\"master\""), std::string::npos) << all;

  // INFO commandstats: calls and total time per command.
  EXPECT_EQ(m.get(cmd_label("redis_commands_total", "set")), sets) << all;
  EXPECT_EQ(m.get(cmd_label("redis_commands_total", "get")), hits + misses) << all;
  EXPECT_GT(set_stat["usec"], 0);
  EXPECT_EQ(m.get(cmd_label("redis_commands_duration_seconds_total", "set")),
            set_stat["usec"] / 1e6)
    << all;
  EXPECT_EQ(m.get(cmd_label("redis_commands_duration_seconds_total", "get")),
            get_stat["usec"] / 1e6)
    << all;
  EXPECT_EQ(m.get(cmd_label("redis_commands_failed_calls_total", "set")), 0.0) << all;
  EXPECT_EQ(m.get(cmd_label("redis_commands_rejected_calls_total", "get")), 0.0) << all;
  EXPECT_GE(m.get("redis_commands_processed_total").value_or(-1), sets + hits + misses)
    << all;
  EXPECT_EQ(m.get("redis_keyspace_hits_total"), hits) << all;
  EXPECT_EQ(m.get("redis_keyspace_misses_total"), misses) << all;
  EXPECT_EQ(m.get("redis_db_keys{db=\"db0\"}"), sets) << all;

  // INFO latencystats: a summary per command, its quantiles the node's
  // percentiles, its count and sum the calls and microseconds of commandstats.
  for (const auto& [cmd, stat] : {std::pair{std::string{"set"}, set_stat},
                                  std::pair{std::string{"get"}, get_stat}}) {
    auto node = info_line(info, "latencystats", "latency_percentiles_usec_" + cmd);
    ASSERT_EQ(node.size(), 3u) << cmd;
    double previous = 0;
    for (const std::string q : {"50", "99", "99.9"}) {
      auto got = m.get("redis_latency_percentiles_usec{cmd=\"" + cmd + "\",quantile=\"" + q
                       + "\"}");
      ASSERT_TRUE(got.has_value()) << cmd << " p" << q << "\n" << all;
      EXPECT_EQ(*got, node["p" + q]) << cmd << " p" << q;
      EXPECT_GT(*got, 0) << cmd << " p" << q;
      EXPECT_GE(*got, previous) << cmd << " p" << q;
      previous = *got;
    }
    EXPECT_EQ(m.get(cmd_label("redis_latency_percentiles_usec_count", cmd)), stat.at("calls"))
      << all;
    EXPECT_EQ(m.get(cmd_label("redis_latency_percentiles_usec_sum", cmd)), stat.at("usec"))
      << all;
  }

  // SLOWLOG LEN and the id of the newest entry: at threshold 0 every command
  // so far is in the log (ids count from 0).
  auto length = m.get("redis_slowlog_length").value_or(-1);
  EXPECT_GE(length, sets + hits + misses) << all;
  EXPECT_LE(length, 1000) << all;
  EXPECT_GE(m.get("redis_slowlog_last_id").value_or(-1), sets + hits + misses) << all;
  EXPECT_GE(m.get("redis_last_slow_execution_duration_seconds").value_or(-1), 0) << all;

  // A second scrape counts the first one's INFO ALL.
  auto again = scrape_metrics(exporter);
  EXPECT_GT(again.get(cmd_label("redis_commands_total", "info")).value_or(-1),
            m.get(cmd_label("redis_commands_total", "info")).value_or(-1))
    << again.redis_lines;
  EXPECT_EQ(again.get(cmd_label("redis_commands_total", "set")), sets) << again.redis_lines;
}

TEST(Exporter, WhatTheNodeDoesNotRecordIsNotReported) {
  server_process server{{"--slowlog-log-slower-than=-1", "--latency-tracking=no"}};
  hiredis_connection c{server.port()};
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(is_status(c.command({"SET", "k" + std::to_string(i), "v"}), "OK"));
  exporter_process exporter{server.port()};
  auto m = scrape_metrics(exporter);
  EXPECT_EQ(m.get("redis_up"), 1.0) << m.redis_lines;
  EXPECT_EQ(m.get(cmd_label("redis_commands_total", "set")), 10.0) << m.redis_lines;
  EXPECT_EQ(m.get("redis_slowlog_length"), 0.0) << m.redis_lines;
  EXPECT_EQ(m.find("redis_latency_percentiles_usec"), "") << m.redis_lines;
}

TEST(Exporter, ReportsTheLatencyMonitorsSpikes) {
  server_process server{{"--enable-debug-command=yes", "--latency-monitor-threshold=50"}};
  hiredis_connection c{server.port()};
  ASSERT_TRUE(is_status(c.command({"DEBUG", "SLEEP", "0.08"}), "OK"));
  auto latest = c.command({"LATENCY", "LATEST"});
  ASSERT_EQ(latest->elements, 1u);
  auto millis = latest->element[0]->element[2]->integer;
  auto when = latest->element[0]->element[1]->integer;
  exporter_process exporter{server.port()};
  auto m = scrape_metrics(exporter);
  // LATENCY LATEST: the event's latest spike, in seconds, and when it was.
  EXPECT_EQ(m.get("redis_latency_spike_duration_seconds{event_name=\"command\"}"),
            static_cast<double>(millis) / 1000.0)
    << m.redis_lines;
  EXPECT_EQ(m.get("redis_latency_spike_last{event_name=\"command\"}"),
            static_cast<double>(when))
    << m.redis_lines;
  EXPECT_NE(m.find("redis_config_maxclients"), "") << m.redis_lines;
}

} // namespace
