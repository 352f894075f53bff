// stairkv-bench: a load generator for any Redis-protocol server. Parses the options,
// runs one of the three modes (load, fill, expiry probe), prints what it measured and
// writes the result files. See usage() in options.cpp for the command line.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/connection.hpp"
#include "benchmarks/engine_monitor.hpp"
#include "benchmarks/expiry_probe.hpp"
#include "benchmarks/load_runner.hpp"
#include "benchmarks/options.hpp"
#include "benchmarks/report.hpp"
#include "benchmarks/timeline.hpp"

namespace stairkv::bench {
namespace {

using steady = std::chrono::steady_clock;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr std::chrono::milliseconds progress_interval{250};

// Set by SIGINT or SIGTERM: stop issuing, wait for the replies in flight, report. The
// handler is reset after the first signal, so a second one ends the process at once.
std::atomic<bool> interrupted{false};

void on_interrupt(int) { interrupted.store(true); }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

// Each client is a socket: ask for as many descriptors as the hard limit allows when
// the soft one is too small.
void raise_open_file_limit(std::uint64_t clients) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(clients) + 64;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

std::string utc_time(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), format, &utc);
  return buffer;
}

// --out, or bench-results/<UTC timestamp>; relative paths are taken from where the
// user stands, also under `bazel run`.
std::string output_directory(const options& opts) {
  std::filesystem::path dir =
      opts.out_dir.empty()
          ? std::filesystem::path("bench-results") / utc_time("%Y%m%dT%H%M%SZ")
          : std::filesystem::path(opts.out_dir);
  const char* user_dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (dir.is_relative() && user_dir != nullptr && *user_dir != '\0') {
    dir = std::filesystem::path(user_dir) / dir;
  }
  return dir.string();
}

void create_directory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw std::runtime_error("cannot create " + dir + ": " + error.message());
}

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t value) {
  std::string digits = std::to_string(value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
    digits.insert(static_cast<std::size_t>(at), ",");
  }
  return digits;
}

std::string format(const char* fmt, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), fmt, value);
  return buffer;
}

// The live progress line, on a terminal only: redrawn in place with '\r'.
class progress_line {
 public:
  progress_line() : enabled_(::isatty(STDOUT_FILENO) == 1) {}

  void update(double seconds, const load_progress& now) {
    if (!enabled_) return;
    const double dt = seconds - last_seconds_;
    const double rate = dt > 0 ? static_cast<double>(now.ops - last_ops_) / dt : 0;
    last_seconds_ = seconds;
    last_ops_ = now.ops;
    std::printf("\r%7.1f s  %14s ops  %11s ops/s  %s errors   ", seconds,
                grouped(now.ops).c_str(), grouped(static_cast<std::uint64_t>(rate)).c_str(),
                grouped(now.errors).c_str());
    std::fflush(stdout);
    drawn_ = true;
  }

  // Clears the line so that other output starts on a clean one.
  void clear() {
    if (!drawn_) return;
    std::printf("\r%*s\r", 80, "");
    std::fflush(stdout);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  double last_seconds_ = 0;
  std::uint64_t last_ops_ = 0;
};

void print_error_replies(progress_line& progress, const std::vector<std::string>& errors) {
  if (errors.empty()) return;
  progress.clear();
  for (const auto& e : errors) std::cerr << "stairkv-bench: error reply: -" << e << "\n";
}

// Drives a started load: progress line, error replies as they come, INFO engine once a
// second, and a stop request on SIGINT. Returns when every thread has finished.
void supervise(load_runner& runner, engine_monitor* monitor, progress_line& progress) {
  const steady::time_point start = runner.start_time();
  const auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start)
        .count();
  };
  if (monitor != nullptr) monitor->poll(elapsed_ms());
  steady::time_point next_progress = start + progress_interval;
  steady::time_point next_poll = start + engine_poll_interval;
  bool stop_requested = false;
  for (;;) {
    const steady::time_point next = std::min(next_progress, next_poll);
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - steady::now());
    if (runner.wait(std::max(wait, std::chrono::milliseconds(0)) +
                    std::chrono::milliseconds(1))) {
      break;
    }
    if (interrupted.load() && !stop_requested) {
      stop_requested = true;
      runner.request_stop();
      progress.clear();
      std::cerr << "stairkv-bench: interrupted; waiting for the replies in flight "
                   "(interrupt again to quit at once)\n";
    }
    print_error_replies(progress, runner.take_new_errors());
    const steady::time_point now = steady::now();
    if (now >= next_progress) {
      progress.update(static_cast<double>(elapsed_ms()) / 1000.0, runner.progress());
      while (next_progress <= now) next_progress += progress_interval;
    }
    if (now >= next_poll) {
      if (monitor != nullptr) monitor->poll(elapsed_ms());
      while (next_poll <= now) next_poll += engine_poll_interval;
    }
  }
  progress.clear();
  print_error_replies(progress, runner.take_new_errors());
}

load_config make_load_config(const options& opts, const server_address& server) {
  load_config config;
  config.server = server;
  config.clients = opts.clients;
  config.threads = opts.threads;
  config.keys = opts.keys;
  config.requests = opts.requests;
  config.ratio = opts.ratio;
  config.pipeline = opts.pipeline;
  config.value_size = opts.value_size;
  config.seed = opts.seed;
  config.duration_ns = static_cast<std::int64_t>(opts.duration_seconds * 1e9);
  config.fill = opts.mode == run_mode::fill;
  return config;
}

json_object parameters_json(const options& opts) {
  json_object p;
  p.add("host", opts.host)
      .add("port", static_cast<unsigned>(opts.port))
      .add("clients", opts.clients)
      .add("threads", opts.threads)
      .add("keys", opts.keys)
      .add("requests", opts.requests)
      .add("ratio", format_ratio(opts.ratio))
      .add("pipeline", opts.pipeline)
      .add("value_size", static_cast<std::uint64_t>(opts.value_size))
      .add("duration_seconds", opts.duration_seconds, 3)
      .add("seed", opts.seed)
      .add("quick", opts.quick);
  return p;
}

double per_second(std::uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

void print_latency_row(const char* name, const histogram& h, std::uint64_t errors,
                       double seconds, const std::string& extra) {
  const auto us = [&](double percent) {
    return format("%10.1f", static_cast<double>(h.percentile(percent)) / 1000.0);
  };
  std::printf("  %-4s %12s %12s %8s %s %s %s %s %s%s\n", name, grouped(h.count()).c_str(),
              grouped(static_cast<std::uint64_t>(per_second(h.count(), seconds))).c_str(),
              grouped(errors).c_str(), us(50).c_str(), us(90).c_str(), us(99).c_str(),
              us(99.9).c_str(), us(100).c_str(), extra.c_str());
}

int run_load(const options& opts, const server_address& server) {
  std::printf(
      "stairkv-bench: %s, %s clients on %u threads, %s keys, SET:GET %s, pipeline %s, "
      "%zu-byte values, %s requests%s\n",
      server.describe().c_str(), grouped(opts.clients).c_str(),
      static_cast<unsigned>(std::min<std::uint64_t>(opts.threads, opts.clients)),
      grouped(opts.keys).c_str(), format_ratio(opts.ratio).c_str(),
      grouped(opts.pipeline).c_str(), opts.value_size, grouped(opts.requests).c_str(),
      opts.duration_seconds > 0
          ? (", at most " + format("%g", opts.duration_seconds) + " s").c_str()
          : "");
  std::fflush(stdout);
  const std::string started_at = utc_time("%Y-%m-%dT%H:%M:%SZ");
  load_runner runner(make_load_config(opts, server));
  engine_monitor monitor(server);
  const std::string dir = output_directory(opts);
  create_directory(dir);

  progress_line progress;
  runner.start();
  supervise(runner, &monitor, progress);
  const load_result result = runner.finish();

  const double seconds = static_cast<double>(result.run_ns) / 1e9;
  const histogram all = result.latency();
  const char* stopped_by = interrupted.load()     ? "interrupt"
                           : result.requests_left ? "duration"
                                                  : "requests";

  json_object summary;
  summary.add("tool", "stairkv-bench").add("mode", "load").add("server", server.describe());
  summary.add("started_at", started_at);
  add_latency_fields(summary, all, result.errors(), seconds);
  summary.add("stopped_by", stopped_by);
  json_object per_command;
  for (std::size_t i = 0; i < command_kinds; ++i) {
    const auto cmd = static_cast<command>(i);
    const command_stats& stats = result.per_command[i];
    json_object one;
    add_latency_fields(one, stats.latency, stats.errors, seconds);
    if (cmd == command::get) one.add("hits", stats.hits).add("misses", stats.misses);
    per_command.add(command_name(cmd), std::move(one));
  }
  summary.add("per_command", std::move(per_command));
  summary.add("parameters", parameters_json(opts));
  summary.add("engine_section", monitor.has_engine());
  write_file(dir + "/summary.json", summary.str());
  write_file(dir + "/timeline.csv",
             timeline_csv(build_timeline(result.intervals, result.run_ns)));
  write_file(dir + "/engine_events.csv", engine_events_csv(monitor.events()));

  const char* ending = interrupted.load()     ? "interrupted"
                       : result.requests_left ? "duration reached"
                                              : "all requests done";
  std::printf(
      "ran %.2f s (%s): %s ops, %s ops/s, %s errors\n", seconds, ending,
      grouped(result.ops()).c_str(),
      grouped(static_cast<std::uint64_t>(per_second(result.ops(), seconds))).c_str(),
      grouped(result.errors()).c_str());
  std::printf("  %-4s %12s %12s %8s %10s %10s %10s %10s %10s\n", "", "ops", "ops/s",
              "errors", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
  print_latency_row("all", all, result.errors(), seconds, "");
  for (std::size_t i = 0; i < command_kinds; ++i) {
    const auto cmd = static_cast<command>(i);
    const command_stats& stats = result.per_command[i];
    const std::string extra =
        cmd == command::get && stats.latency.count() > 0
            ? "  (" + grouped(stats.hits) + " hits, " + grouped(stats.misses) + " misses)"
            : "";
    print_latency_row(command_name(cmd), stats.latency, stats.errors, seconds, extra);
  }
  if (result.errors() > kept_error_replies) {
    std::printf("(the first %zu error replies are shown above)\n", kept_error_replies);
  }
  std::size_t resizes = 0;
  for (const auto& e : monitor.events()) resizes += e.what == "generation";
  if (monitor.has_engine()) {
    std::printf("engine: %zu generation change%s seen\n", resizes, resizes == 1 ? "" : "s");
  }

  std::string title = "stairkv-bench, " + server.describe() + ": " + grouped(opts.clients) +
                      " clients, pipeline " + grouped(opts.pipeline) + ", SET:GET " +
                      format_ratio(opts.ratio) + ", " + std::to_string(opts.value_size) +
                      "-byte values";
  if (!monitor.has_engine()) title += " (no engine section: no resize marks)";
  std::string problem;
  if (!render_throughput_plot(dir, title, monitor.events(), problem)) {
    std::cerr << "stairkv-bench: warning: " << problem << "\n";
  }
  std::printf("results in %s\n", dir.c_str());
  return 0;
}

int run_fill(const options& opts, const server_address& server) {
  std::printf(
      "stairkv-bench: filling %s keys with %zu-byte values on %s, %s clients on %u "
      "threads, pipeline %s\n",
      grouped(opts.keys).c_str(), opts.value_size, server.describe().c_str(),
      grouped(opts.clients).c_str(),
      static_cast<unsigned>(std::min<std::uint64_t>(opts.threads, opts.clients)),
      grouped(opts.pipeline).c_str());
  std::fflush(stdout);
  load_runner runner(make_load_config(opts, server));
  const std::string dir = output_directory(opts);
  create_directory(dir);
  progress_line progress;
  runner.start();
  supervise(runner, nullptr, progress);
  const load_result result = runner.finish();
  const double seconds = static_cast<double>(result.run_ns) / 1e9;
  const std::uint64_t ops = result.ops();
  const double rate = per_second(ops, seconds);
  std::printf("fill: %s ops in %.3f s (%s ops/s), %s errors%s\n", grouped(ops).c_str(),
              seconds, grouped(static_cast<std::uint64_t>(rate)).c_str(),
              grouped(result.errors()).c_str(),
              result.requests_left ? " (interrupted: not every key was set)" : "");

  json_object fill;
  fill.add("tool", "stairkv-bench").add("mode", "fill").add("server", server.describe());
  fill.add("keys", opts.keys)
      .add("ops", ops)
      .add("errors", result.errors())
      .add("seconds", seconds, 3)
      .add("ops_per_sec", rate, 1)
      .add("complete", !result.requests_left)
      .add("value_size", static_cast<std::uint64_t>(opts.value_size))
      .add("clients", opts.clients)
      .add("threads", opts.threads)
      .add("pipeline", opts.pipeline);
  // The server's own account of its memory, when it gives one (both Redis and stairkv
  // do): the figure a fill is usually run for.
  try {
    blocking_connection info(server, std::chrono::seconds(10));
    const protocol::reply reply = info.command({"INFO", "memory"});
    for (const char* name : {"used_memory", "used_memory_rss"}) {
      const auto bytes = info_integer(reply.text, name);
      if (!bytes || *bytes < 0) continue;
      fill.add(name, *bytes);
      std::printf("server %s: %s bytes (%.1f per key)\n", name,
                  grouped(static_cast<std::uint64_t>(*bytes)).c_str(),
                  static_cast<double>(*bytes) / static_cast<double>(opts.keys));
    }
  } catch (const connection_error& e) {
    std::cerr << "stairkv-bench: warning: INFO memory after the fill failed: " << e.what()
              << "\n";
  }
  write_file(dir + "/fill.json", fill.str());
  std::printf("results in %s\n", dir.c_str());
  return 0;
}

int run_expiry(const options& opts, const server_address& server) {
  std::printf(
      "stairkv-bench: expiry probe on %s: %s keys, deadlines spread over now+%lld "
      "to now+%lld ms\n",
      server.describe().c_str(), grouped(opts.expiry_keys).c_str(),
      static_cast<long long>(opts.expiry_spread_from_ms),
      static_cast<long long>(opts.expiry_spread_to_ms));
  std::fflush(stdout);
  expiry_config config;
  config.server = server;
  config.keys = opts.expiry_keys;
  config.spread_from_ms = opts.expiry_spread_from_ms;
  config.spread_to_ms = opts.expiry_spread_to_ms;
  config.value_size = opts.value_size;
  config.seed = opts.seed;
  const expiry_report report = run_expiry_probe(config);
  const std::string dir = output_directory(opts);
  create_directory(dir);

  json_object out;
  out.add("tool", "stairkv-bench").add("mode", "expiry").add("server", server.describe());
  out.add("supported", report.supported);
  if (!report.supported) out.add("subscribe_error", report.subscribe_error);
  out.add("notify_keyspace_events", report.notify_keyspace_events)
      .add("keys", report.keys)
      .add("spread_from_ms", static_cast<std::int64_t>(opts.expiry_spread_from_ms))
      .add("spread_to_ms", static_cast<std::int64_t>(opts.expiry_spread_to_ms));
  if (report.supported) {
    out.add("heard", report.heard)
        .add("missing", report.missing)
        .add("duplicates", report.duplicates)
        .add("early", report.early)
        .add("foreign", report.foreign)
        .add("set_errors", report.set_errors)
        .add("lateness_p50_ms", report.lateness.p50_ms, 3)
        .add("lateness_p99_ms", report.lateness.p99_ms, 3)
        .add("lateness_max_ms", report.lateness.max_ms, 3)
        .add("lateness_min_ms", report.lateness.min_ms, 3)
        .add("lateness_mean_ms", report.lateness.mean_ms, 3)
        .add("set_seconds", report.set_seconds, 3)
        .add("wait_seconds", report.wait_seconds, 3);
  }
  write_file(dir + "/expiry.json", out.str());

  if (!report.supported) {
    std::printf(
        "expiry: not supported: the server answered SUBSCRIBE with -%s; no keyspace "
        "notifications to time\n",
        report.subscribe_error.c_str());
  } else {
    if (report.set_errors > 0) {
      std::cerr << "stairkv-bench: " << report.set_errors
                << " SET ... PXAT requests failed, the first with -"
                << report.first_set_error << "\n";
    }
    std::printf("expiry: heard %s of %s, missing %s, duplicates %s, early %s\n",
                grouped(report.heard).c_str(), grouped(report.keys).c_str(),
                grouped(report.missing).c_str(), grouped(report.duplicates).c_str(),
                grouped(report.early).c_str());
    std::printf("lateness ms: p50 %.1f  p99 %.1f  max %.1f  (min %.1f, mean %.1f)\n",
                report.lateness.p50_ms, report.lateness.p99_ms, report.lateness.max_ms,
                report.lateness.min_ms, report.lateness.mean_ms);
  }
  std::printf("results in %s\n", dir.c_str());
  return 0;
}

int run(int argc, char** argv) {
  options opts;
  std::string error;
  if (!parse_options(argc, argv, opts, error)) {
    std::cerr << "stairkv-bench: " << error << "\n";
    return exit_usage;
  }
  if (opts.help) {
    std::cout << usage();
    return 0;
  }
  install_signal_handlers();
  raise_open_file_limit(opts.clients);
  try {
    const server_address server = resolve(opts.host, opts.port);
    switch (opts.mode) {
      case run_mode::fill:
        return run_fill(opts, server);
      case run_mode::expiry:
        return run_expiry(opts, server);
      case run_mode::load:
        break;
    }
    return run_load(opts, server);
  } catch (const connection_error& e) {
    std::fflush(stdout);
    std::cerr << "stairkv-bench: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "stairkv-bench: " << e.what() << "\n";
  }
  return exit_failure;
}

}  // namespace
}  // namespace stairkv::bench

int main(int argc, char** argv) { return stairkv::bench::run(argc, argv); }
