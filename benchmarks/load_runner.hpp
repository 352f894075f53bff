#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/connection.hpp"
#include "benchmarks/histogram.hpp"
#include "benchmarks/timeline.hpp"
#include "benchmarks/workload.hpp"

// The closed-loop load: many clients over a few threads, each thread one epoll loop
// over its clients' non-blocking sockets. A client keeps `pipeline` requests in flight:
// as replies come back it appends as many new requests to its output buffer and sends
// them with one send. Latency is the time from a request's send to its reply, taken
// once per received batch; everything a thread measures stays in that thread until the
// run is over.
namespace stairkv::bench {

struct load_config {
  server_address server;
  std::uint64_t clients = 100;
  unsigned threads = 2;
  std::uint64_t keys = 1'000'000;
  std::uint64_t requests = 21'000'000;  // in total; a fill sends one SET per key instead
  command_ratio ratio;
  std::uint64_t pipeline = 1;
  std::size_t value_size = 16;
  std::uint64_t seed = 1;
  std::int64_t duration_ns = 0;  // stop issuing after this long; 0: no limit
  bool fill = false;             // SET keys 0..keys-1 once each instead of random traffic
};

struct command_stats {
  histogram latency;  // nanoseconds
  std::uint64_t errors = 0;
  std::uint64_t hits = 0;    // GET replies with a value
  std::uint64_t misses = 0;  // GET replies nil

  void merge(const command_stats& other);
};

struct load_progress {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
};

struct load_result {
  std::int64_t run_ns = 0;  // from the start to the last reply
  command_stats per_command[command_kinds];
  std::vector<std::vector<interval_snapshot>> intervals;  // per thread, for the timeline
  bool requests_left = false;  // stopped (duration, interruption) before the budget ran out

  std::uint64_t ops() const;
  std::uint64_t errors() const;
  histogram latency() const;  // both commands
};

// How many error replies are kept verbatim for the user to read.
inline constexpr std::size_t kept_error_replies = 5;

// A server that answers nothing for this long while requests are in flight is treated as
// gone: the run ends with an error rather than hanging.
inline constexpr std::chrono::seconds stall_timeout{10};

class load_runner {
 public:
  // Opens every client connection. Throws connection_error when the server cannot be
  // reached.
  explicit load_runner(load_config config);
  ~load_runner();
  load_runner(const load_runner&) = delete;
  load_runner& operator=(const load_runner&) = delete;

  // Starts the threads; the run's clock starts now.
  void start();
  std::chrono::steady_clock::time_point start_time() const;

  // No new requests from now on; replies to those in flight are still awaited.
  void request_stop();

  // Waits up to `timeout` for every thread to finish; true once they have.
  bool wait(std::chrono::milliseconds timeout);

  // Replies received and error replies among them so far, from any thread.
  load_progress progress() const;

  // Error replies kept verbatim (at most kept_error_replies in a run) that were not
  // taken before.
  std::vector<std::string> take_new_errors();

  // Joins the threads and merges what they measured. Throws connection_error if the
  // server closed a connection, sent something that is not a reply, or stalled.
  load_result finish();

 private:
  struct shared_state;
  class worker;

  std::unique_ptr<shared_state> shared_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace stairkv::bench
