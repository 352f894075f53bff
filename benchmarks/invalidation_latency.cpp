// stairkv-invalidations: how soon a client doing server-assisted client-side
// caching (CLIENT TRACKING) hears that a key it cached has changed, against
// any Redis-compatible server.
//
//   stairkv-invalidations --port=P [--keys=5000] [--readers=4] [--writers=4]
//                         [--rounds=10]
//
// Each reader has two connections: one subscribed to __redis__:invalidate,
// and one with CLIENT TRACKING ON REDIRECT <the first> that reads (GET, in
// pipelined batches) every key, so the server remembers them all for it. Then
// the writers change every key once (unpipelined SETs, the time taken on one
// steady clock just before each is sent), and each reader's subscriber takes
// the time each key's invalidation arrives. A latency is that arrival minus
// the write's send time, so it includes the write's own trip to the server.
// Rounds repeat the read-then-write cycle. Every key must be heard once by
// every reader in every round. Prints the percentiles and the checks, one
// "key value" per line.

#include <hiredis/hiredis.h>

#include "benchmarks/hiredis_tool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
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
  int keys = 5000;
  int readers = 4;
  int writers = 4;
  int rounds = 10;
};

using stairkv::benchmarks::now_ns;
using stairkv::benchmarks::read_flag;

redisContext* connect(int port) {
  return stairkv::benchmarks::connect(port, 60);
}

// A command's reply; the program ends on a broken connection or an error.
redisReply* command(redisContext* c, const std::vector<std::string>& argv) {
  auto* r = stairkv::benchmarks::command(c, argv);
  if (r == nullptr) {
    std::fprintf(stderr, "lost a connection (%s)\n", c->errstr);
    std::exit(1);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::fprintf(stderr, "%s: %s\n", argv[0].c_str(), r->str);
    std::exit(1);
  }
  return r;
}

void run(redisContext* c, const std::vector<std::string>& argv) {
  freeReplyObject(command(c, argv));
}

std::string key_name(int i) {
  return "cached:" + std::to_string(i);
}

int key_index(const char* s, std::size_t n) {
  constexpr std::size_t prefix = 7; // "cached:"
  if (n <= prefix || std::strncmp(s, "cached:", prefix) != 0)
    return -1;
  return std::atoi(s + prefix);
}

// Everyone waits here until all have come (a round's phases).
class barrier {
public:
  explicit barrier(int parties) : parties_(parties) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(m_);
    auto gen = generation_;
    if (++waiting_ == parties_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return gen != generation_; });
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  int parties_;
  int waiting_ = 0;
  long generation_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (read_flag(argv[i], "--port", v))
      s.port = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--keys", v))
      s.keys = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--readers", v))
      s.readers = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--writers", v))
      s.writers = std::atoi(v.c_str());
    else if (read_flag(argv[i], "--rounds", v))
      s.rounds = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (s.keys <= 0 || s.readers <= 0 || s.writers <= 0 || s.rounds <= 0) {
    std::fprintf(stderr, "keys, readers, writers and rounds must be positive\n");
    return 2;
  }
  {
    auto* c = connect(s.port);
    run(c, {"FLUSHALL"});
    for (int i = 0; i < s.keys; i += 1000) {
      std::vector<std::string> mset{"MSET"};
      for (int k = i; k < std::min(s.keys, i + 1000); ++k) {
        mset.push_back(key_name(k));
        mset.push_back("0");
      }
      run(c, mset);
    }
    redisFree(c);
  }

  // When each key's write of the current round was sent.
  std::vector<std::atomic<std::int64_t>> written(static_cast<std::size_t>(s.keys));
  // Per reader and key, the invalidations heard in the current round.
  std::vector<std::vector<std::atomic<int>>> heard(static_cast<std::size_t>(s.readers));
  for (auto& h : heard)
    h = std::vector<std::atomic<int>>(static_cast<std::size_t>(s.keys));
  std::atomic<long> outstanding{0}; // invalidations of this round not yet heard
  std::atomic<long> missing{0};
  std::atomic<long> twice{0};
  std::atomic<long> unexpected{0};
  std::mutex latencies_lock;
  std::vector<std::int64_t> latencies;
  latencies.reserve(static_cast<std::size_t>(s.keys) * s.readers * s.rounds);
  std::atomic<bool> done{false};
  std::mutex round_lock;
  std::condition_variable round_heard;

  // The readers' tracking connections (one thread reads through all of them)
  // and their subscribers (a thread each).
  std::vector<redisContext*> trackers;
  std::vector<std::thread> subscribers;
  for (int r = 0; r < s.readers; ++r) {
    auto* sub = connect(s.port);
    auto* id_reply = command(sub, {"CLIENT", "ID"});
    auto id = id_reply->integer;
    freeReplyObject(id_reply);
    run(sub, {"SUBSCRIBE", "__redis__:invalidate"});
    auto* tracker = connect(s.port);
    run(tracker, {"CLIENT", "TRACKING", "ON", "REDIRECT", std::to_string(id)});
    trackers.push_back(tracker);
    subscribers.emplace_back([&, r, sub] {
      std::vector<std::int64_t> mine;
      for (;;) {
        void* raw = nullptr;
        if (redisGetReply(sub, &raw) != REDIS_OK) {
          if (done.load())
            break;
          std::fprintf(stderr, "reader %d's subscriber lost its connection\n", r);
          std::exit(1);
        }
        auto at = now_ns();
        auto* m = static_cast<redisReply*>(raw);
        bool stop = false;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3
            && m->element[2]->type == REDIS_REPLY_ARRAY) {
          for (std::size_t i = 0; i < m->element[2]->elements; ++i) {
            auto* k = m->element[2]->element[i];
            auto index = key_index(k->str, k->len);
            if (index < 0 || index >= s.keys) {
              ++unexpected;
              continue;
            }
            auto n = heard[r][static_cast<std::size_t>(index)].fetch_add(1);
            if (n > 0) {
              ++twice;
              continue;
            }
            mine.push_back(at - written[static_cast<std::size_t>(index)].load());
            if (outstanding.fetch_sub(1) == 1) {
              std::lock_guard<std::mutex> hold(round_lock);
              round_heard.notify_all();
            }
          }
        } else if (m->type == REDIS_REPLY_ARRAY && m->elements == 3
                   && m->element[2]->type == REDIS_REPLY_STRING
                   && std::strcmp(m->element[2]->str, "stop") == 0) {
          stop = true; // the end: published on the channel by the main thread
        }
        freeReplyObject(m);
        if (stop)
          break;
      }
      redisFree(sub);
      std::lock_guard<std::mutex> hold(latencies_lock);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }

  barrier writes_start(s.writers + 1);
  barrier writes_done(s.writers + 1);
  std::vector<std::thread> writing;
  for (int w = 0; w < s.writers; ++w) {
    writing.emplace_back([&, w] {
      auto* c = connect(s.port);
      for (int round = 0; round < s.rounds; ++round) {
        writes_start.arrive_and_wait();
        auto value = std::to_string(round + 1);
        for (int k = w; k < s.keys; k += s.writers) {
          written[static_cast<std::size_t>(k)].store(now_ns());
          run(c, {"SET", key_name(k), value});
        }
        writes_done.arrive_and_wait();
      }
      redisFree(c);
    });
  }

  auto started = now_ns();
  for (int round = 0; round < s.rounds; ++round) {
    for (auto& h : heard)
      for (auto& n : h)
        n.store(0);
    // Every reader reads every key: from now on the server remembers it.
    for (auto* tracker : trackers) {
      for (int k = 0; k < s.keys; ++k) {
        auto key = key_name(k);
        redisAppendCommand(tracker, "GET %b", key.data(), key.size());
      }
      for (int k = 0; k < s.keys; ++k) {
        void* raw = nullptr;
        if (redisGetReply(tracker, &raw) != REDIS_OK) {
          std::fprintf(stderr, "a tracking connection was lost\n");
          return 1;
        }
        freeReplyObject(raw);
      }
    }
    outstanding.store(static_cast<long>(s.keys) * s.readers);
    writes_start.arrive_and_wait();
    writes_done.arrive_and_wait();
    std::unique_lock<std::mutex> lock(round_lock);
    if (!round_heard.wait_for(lock, std::chrono::seconds(10),
                              [&] { return outstanding.load() <= 0; })) {
      std::printf("missing %ld\n", outstanding.load());
      std::fprintf(stderr, "round %d: %ld invalidations never came\n", round + 1,
                   outstanding.load());
      std::fflush(stdout);
      std::_Exit(1);
    }
  }
  auto took = now_ns() - started;
  for (auto& t : writing)
    t.join();
  {
    auto* c = connect(s.port);
    done.store(true);
    run(c, {"PUBLISH", "__redis__:invalidate", "stop"});
    redisFree(c);
  }
  for (auto& t : subscribers)
    t.join();
  for (auto* tracker : trackers)
    redisFree(tracker);

  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    if (latencies.empty())
      return 0.0;
    auto i = static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1));
    return static_cast<double>(latencies[i]) / 1e6;
  };
  std::printf("expected %ld\n", static_cast<long>(s.keys) * s.readers * s.rounds);
  std::printf("heard %zu\n", latencies.size());
  std::printf("missing %ld\n", missing.load());
  std::printf("twice %ld\n", twice.load());
  std::printf("unexpected %ld\n", unexpected.load());
  std::printf("seconds %.3f\n", static_cast<double>(took) / 1e9);
  std::printf("p50_ms %.3f\n", at(0.50));
  std::printf("p99_ms %.3f\n", at(0.99));
  std::printf("p999_ms %.3f\n", at(0.999));
  std::printf("max_ms %.3f\n", at(1.0));
  return missing == 0 && twice == 0 && unexpected == 0 ? 0 : 1;
}
