// stairkv-wakeups: how soon a client blocked in BRPOP hears of the push that
// serves it, against any Redis-compatible server.
//
//   stairkv-wakeups --port=P [--jobs=100000] [--queues=5] [--consumers=20]
//                   [--producers=5] [--populate=N] [--populate-twice]
//
// Consumers (each on one queue, in turn) loop on BRPOP queue 0; producers
// LPUSH jobs "id:nanoseconds", the time taken on one steady clock just before
// the push is sent. A consumer's wake-up latency is the time from that
// reading to its BRPOP reply. Meanwhile, with --populate, DEBUG POPULATE
// adds N keys (twice with --populate-twice, the second batch once the first
// is in), which makes an elastic server resize under the load. At the end
// every job must have been consumed exactly once. Prints the latency
// percentiles and the checks, one "key value" per line.

#include <hiredis/hiredis.h>

#include "benchmarks/hiredis_tool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct settings {
  int port = 6379;
  long jobs = 100000;
  int queues = 5;
  int consumers = 20;
  int producers = 5;
  long populate = 0;
  bool populate_twice = false;
};

using stairkv::benchmarks::command;
using stairkv::benchmarks::now_ns;
using stairkv::benchmarks::read_flag;

redisContext* connect(int port) {
  return stairkv::benchmarks::connect(port, 120);
}

std::string queue_name(int i) {
  return "queue:" + std::to_string(i);
}

} // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (read_flag(argv[i], "--port", v))
      s.port = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--jobs", v))
      s.jobs = std::atol(v.c_str());
    else if (read_flag(argv[i], "--queues", v))
      s.queues = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--consumers", v))
      s.consumers = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--producers", v))
      s.producers = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--populate", v))
      s.populate = std::atol(v.c_str());
    else if (std::strcmp(argv[i], "--populate-twice") == 0)
      s.populate_twice = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(s.jobs));
  std::atomic<long> consumed{0};
  std::mutex latencies_lock;
  std::vector<std::int64_t> latencies;
  latencies.reserve(static_cast<std::size_t>(s.jobs));

  // The consumers block first.
  std::vector<std::thread> threads;
  for (int k = 0; k < s.consumers; ++k) {
    threads.emplace_back([&, k] {
      auto* c = connect(s.port);
      std::vector<std::int64_t> mine;
      auto queue = queue_name(k % s.queues);
      while (consumed.load() < s.jobs) {
        auto* r = command(c, {"BRPOP", queue, "1"});
        auto at = now_ns();
        if (r == nullptr) {
          std::fprintf(stderr, "consumer %d lost its connection\n", k);
          std::exit(1);
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
          std::string job(r->element[1]->str, r->element[1]->len);
          auto colon = job.find(':');
          long id = std::atol(job.c_str());
          std::int64_t pushed = std::atoll(job.c_str() + colon + 1);
          if (id >= 0 && id < s.jobs)
            seen[static_cast<std::size_t>(id)].fetch_add(1);
          mine.push_back(at - pushed);
          consumed.fetch_add(1);
        }
        freeReplyObject(r);
      }
      redisFree(c);
      std::lock_guard<std::mutex> hold(latencies_lock);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  {
    auto* c = connect(s.port);
    // Every consumer waits before the first push (INFO blocked_clients).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto* r = command(c, {"INFO", "clients"});
      std::string text = r != nullptr && r->type == REDIS_REPLY_STRING
                           ? std::string(r->str, r->len)
                           : std::string{};
      if (r != nullptr)
        freeReplyObject(r);
      auto at = text.find("blocked_clients:");
      if (at != std::string::npos && std::atoi(text.c_str() + at + 16) >= s.consumers)
        break;
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "the consumers never all blocked\n");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    redisFree(c);
  }
  std::thread populate;
  if (s.populate > 0) {
    populate = std::thread([&] {
      auto* c = connect(s.port);
      for (int round = 0; round < (s.populate_twice ? 2 : 1); ++round) {
        auto* r = command(c, {"DEBUG", "POPULATE", std::to_string(s.populate),
                              "fill" + std::to_string(round)});
        if (r != nullptr)
          freeReplyObject(r);
      }
      redisFree(c);
    });
  }
  auto started = now_ns();
  std::vector<std::thread> producing;
  for (int p = 0; p < s.producers; ++p) {
    producing.emplace_back([&, p] {
      auto* c = connect(s.port);
      for (long id = p; id < s.jobs; id += s.producers) {
        auto job = std::to_string(id) + ":" + std::to_string(now_ns());
        auto* r = command(c, {"LPUSH", queue_name(static_cast<int>(id % s.queues)), job});
        if (r == nullptr) {
          std::fprintf(stderr, "producer %d lost its connection\n", p);
          std::exit(1);
        }
        freeReplyObject(r);
      }
      redisFree(c);
    });
  }
  for (auto& t : producing)
    t.join();
  for (auto& t : threads)
    t.join();
  auto took = now_ns() - started;
  if (populate.joinable())
    populate.join();

  long missing = 0, twice = 0;
  for (auto& n : seen) {
    auto v = n.load();
    missing += v == 0 ? 1 : 0;
    twice += v > 1 ? 1 : 0;
  }
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    if (latencies.empty())
      return 0.0;
    auto i = static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1));
    return static_cast<double>(latencies[i]) / 1e6;
  };
  std::printf("jobs %ld\n", s.jobs);
  std::printf("consumed %zu\n", latencies.size());
  std::printf("missing %ld\n", missing);
  std::printf("twice %ld\n", twice);
  std::printf("seconds %.3f\n", static_cast<double>(took) / 1e9);
  std::printf("p50_ms %.3f\n", at(0.50));
  std::printf("p99_ms %.3f\n", at(0.99));
  std::printf("p999_ms %.3f\n", at(0.999));
  std::printf("max_ms %.3f\n", at(1.0));
  return missing == 0 && twice == 0 ? 0 : 1;
}
