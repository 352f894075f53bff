#pragma once

// LATENCY's event history (Redis's latency monitor): whatever took at least
// latency-monitor-threshold milliseconds (0: nothing is recorded) is kept per
// event ("command", "expire-cycle", "aof-fsync-always", ...) as one sample per
// second, the largest of that second, for the last 160 seconds that had one,
// with the largest ever seen. Bounded: 160 samples per event, and the events
// are a fixed set of names.
//
// Shared by every part of a node that can be slow: gateways, shards, the
// append-only file's writer, the saver. Producers look at the threshold first
// (one relaxed atomic load) and take the lock only for an event that passed
// it; nothing on the request path locks when nothing was slow.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::metrics {

class latency_monitor {
public:
  static constexpr std::size_t history_length = 160;

  struct sample {
    std::int64_t unix_seconds = 0;
    std::int64_t millis = 0;
  };

  struct series {
    std::vector<sample> samples; // oldest first, at most history_length
    std::int64_t max_millis = 0;
  };

  void set_threshold_ms(std::int64_t ms) noexcept {
    threshold_ms_.store(ms, std::memory_order_relaxed);
  }

  std::int64_t threshold_ms() const noexcept {
    return threshold_ms_.load(std::memory_order_relaxed);
  }

  // Whether something that took `millis` is worth recording.
  bool wants(std::int64_t millis) const noexcept {
    auto threshold = threshold_ms();
    return threshold > 0 && millis >= threshold;
  }

  // Records `event` taking `millis` at Unix second `now` when it passes the
  // threshold; a second sample in the same second keeps the larger.
  void record(std::string_view event, std::int64_t millis, std::int64_t now) {
    if (!wants(millis))
      return;
    std::lock_guard<std::mutex> guard{mutex_};
    auto& s = events_[std::string{event}];
    s.max_millis = std::max(s.max_millis, millis);
    if (!s.samples.empty() && s.samples.back().unix_seconds == now) {
      s.samples.back().millis = std::max(s.samples.back().millis, millis);
      return;
    }
    if (s.samples.size() == history_length)
      s.samples.erase(s.samples.begin());
    s.samples.push_back({now, millis});
  }

  // A copy of every event's series, by name.
  std::map<std::string, series> snapshot() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }

  // Forgets the named events (all of them when `names` is empty); returns how
  // many had samples.
  std::size_t reset(const std::vector<std::string>& names) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (names.empty()) {
      auto n = events_.size();
      events_.clear();
      return n;
    }
    std::size_t n = 0;
    for (const auto& name : names)
      n += events_.erase(name);
    return n;
  }

private:
  std::atomic<std::int64_t> threshold_ms_{0};
  mutable std::mutex mutex_;
  std::map<std::string, series> events_;
};

using latency_monitor_ptr = std::shared_ptr<latency_monitor>;

// Times a stretch of work for `event` from construction to destruction and
// records it on `monitor` (which may be null). Costs two clock readings, so it
// is for work done a turn at a time (an expiry turn, an fsync), not per command.
class latency_timer {
public:
  latency_timer(const latency_monitor_ptr& monitor, const char* event)
    : monitor_(monitor.get()), event_(event) {
    if (monitor_ != nullptr && monitor_->threshold_ms() > 0)
      started_ = std::chrono::steady_clock::now();
  }

  latency_timer(const latency_timer&) = delete;
  latency_timer& operator=(const latency_timer&) = delete;

  ~latency_timer() {
    if (started_ == std::chrono::steady_clock::time_point{})
      return;
    auto took = std::chrono::steady_clock::now() - started_;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    monitor_->record(event_, ms, now);
  }

private:
  latency_monitor* monitor_;
  const char* event_;
  std::chrono::steady_clock::time_point started_{};
};

} // namespace stairkv::metrics
