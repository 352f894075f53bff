#include "benchmarks/expiry_probe.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <numeric>
#include <thread>
#include <utility>

#include "benchmarks/workload.hpp"
#include "modules/protocol/reply_reader.hpp"

namespace stairkv::bench {

namespace {

using kind = protocol::reply::kind;

constexpr std::chrono::seconds command_timeout{10};
// SETs are pipelined this many at a time.
constexpr std::uint64_t set_batch = 1000;
// The subscriber wakes at least this often to check whether it may give up.
constexpr std::chrono::milliseconds listen_step{100};
// Once every key has been heard of, the subscriber listens this much longer, for
// duplicate events.
constexpr double duplicate_watch_ms = 250;

// Milliseconds since the Unix epoch, with microsecond resolution.
double wall_clock_ms() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()) /
         1000.0;
}

double nearest_rank(const std::vector<double>& sorted, double percent) {
  auto rank = static_cast<std::size_t>(std::ceil(percent / 100.0 * sorted.size()));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

bool has_flag(const std::string& flags, char flag) {
  return flags.find(flag) != std::string::npos;
}

// Makes sure the server publishes expired key events: keeps whatever it already
// publishes and adds E (keyevent channels) and x (expired events) if missing. Servers
// without CONFIG, or that refuse the change, are left as they are: SUBSCRIBE then tells.
std::string enable_expired_events(blocking_connection& control) {
  const protocol::reply current =
      control.command({"CONFIG", "GET", "notify-keyspace-events"});
  if (current.type != kind::array || current.elements.size() != 2 ||
      current.elements[1].type != kind::bulk) {
    return "";
  }
  std::string flags = current.elements[1].text;
  // 'A' stands for every event class, expired ones included.
  const bool has_expired = has_flag(flags, 'x') || has_flag(flags, 'A');
  if (has_flag(flags, 'E') && has_expired) return flags;
  if (!has_flag(flags, 'E')) flags += 'E';
  if (!has_expired) flags += 'x';
  const protocol::reply set =
      control.command({"CONFIG", "SET", "notify-keyspace-events", flags});
  return set.type == kind::error ? current.elements[1].text : flags;
}

// What the subscriber thread heard.
struct hearing {
  std::vector<double> lateness_ms;  // first event of each key heard
  std::uint64_t duplicates = 0;
  std::uint64_t early = 0;
  std::uint64_t foreign = 0;
  double last_event_ms = 0;
  std::string failure;
};

void listen(blocking_connection& subscriber, const std::vector<std::int64_t>& deadlines,
            double give_up_ms, const std::atomic<bool>& cancelled, hearing& out) {
  std::vector<bool> heard(deadlines.size(), false);
  protocol::reply message;
  double stop_ms = give_up_ms;
  while (!cancelled.load()) {
    const double now = wall_clock_ms();
    if (now >= stop_ms) break;
    const auto wait = std::min<std::chrono::milliseconds>(
        listen_step,
        std::chrono::milliseconds(static_cast<std::int64_t>(stop_ms - now) + 1));
    if (subscriber.receive(wait) == 0) continue;
    const double received = wall_clock_ms();
    while (subscriber.next_reply(message)) {
      if ((message.type != kind::array && message.type != kind::push) ||
          message.elements.size() != 3 || message.elements[0].text != "message") {
        continue;
      }
      std::uint64_t index = 0;
      if (message.elements[1].text != expired_channel ||
          !probe_key_index(message.elements[2].text, deadlines.size(), index)) {
        ++out.foreign;
        continue;
      }
      out.last_event_ms = received;
      if (heard[index]) {
        ++out.duplicates;
        continue;
      }
      heard[index] = true;
      const double lateness = received - static_cast<double>(deadlines[index]);
      if (lateness < 0) ++out.early;
      out.lateness_ms.push_back(lateness);
      if (out.lateness_ms.size() == deadlines.size()) {
        stop_ms = std::min(give_up_ms, received + duplicate_watch_ms);
      }
    }
  }
}

}  // namespace

lateness_summary summarize_lateness(std::vector<double> lateness_ms) {
  lateness_summary s;
  if (lateness_ms.empty()) return s;
  std::sort(lateness_ms.begin(), lateness_ms.end());
  s.p50_ms = nearest_rank(lateness_ms, 50);
  s.p99_ms = nearest_rank(lateness_ms, 99);
  s.max_ms = lateness_ms.back();
  s.min_ms = lateness_ms.front();
  s.mean_ms = std::accumulate(lateness_ms.begin(), lateness_ms.end(), 0.0) /
              static_cast<double>(lateness_ms.size());
  return s;
}

bool probe_key_index(std::string_view payload, std::uint64_t keys, std::uint64_t& index) {
  if (payload.size() != expiry_key_prefix.size() + key_digits ||
      payload.substr(0, expiry_key_prefix.size()) != expiry_key_prefix) {
    return false;
  }
  std::uint64_t value = 0;
  for (const char c : payload.substr(expiry_key_prefix.size())) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value >= keys) return false;
  index = value;
  return true;
}

expiry_report run_expiry_probe(const expiry_config& config) {
  expiry_report report;
  report.keys = config.keys;
  blocking_connection control(config.server, command_timeout);
  report.notify_keyspace_events = enable_expired_events(control);

  auto subscriber = std::make_unique<blocking_connection>(config.server, command_timeout);
  const protocol::reply confirmation = subscriber->command({"SUBSCRIBE", expired_channel});
  if (confirmation.type == kind::error) {
    report.supported = false;
    report.subscribe_error = confirmation.text;
    report.missing = config.keys;
    return report;
  }
  if ((confirmation.type != kind::array && confirmation.type != kind::push) ||
      confirmation.elements.empty() || confirmation.elements[0].text != "subscribe") {
    report.supported = false;
    report.subscribe_error = "SUBSCRIBE was not confirmed";
    report.missing = config.keys;
    return report;
  }

  // Deadlines are fixed before the first SET so the subscriber can judge any event.
  const auto base_ms = static_cast<std::int64_t>(wall_clock_ms());
  random_generator random(config.seed);
  const auto spread =
      static_cast<std::uint64_t>(config.spread_to_ms - config.spread_from_ms) + 1;
  std::vector<std::int64_t> deadlines(config.keys);
  for (auto& d : deadlines) {
    d = base_ms + config.spread_from_ms + static_cast<std::int64_t>(random.below(spread));
  }
  const double give_up_ms =
      static_cast<double>(base_ms + config.spread_to_ms + expiry_grace_ms);

  hearing heard;
  std::atomic<bool> cancelled{false};
  std::thread listener([&] {
    try {
      listen(*subscriber, deadlines, give_up_ms, cancelled, heard);
    } catch (const connection_error& e) {
      heard.failure = e.what();
    }
  });

  const double set_start = wall_clock_ms();
  const std::string value = make_value(config.value_size);
  std::string key(expiry_key_prefix);
  key.resize(expiry_key_prefix.size() + key_digits);
  std::string batch;
  try {
    for (std::uint64_t first = 0; first < config.keys; first += set_batch) {
      const std::uint64_t end = std::min(config.keys, first + set_batch);
      batch.clear();
      for (std::uint64_t i = first; i < end; ++i) {
        write_key_digits(&key[expiry_key_prefix.size()], i);
        append_set_pxat(batch, key, value, deadlines[i]);
      }
      control.send(batch);
      for (std::uint64_t i = first; i < end; ++i) {
        const protocol::reply reply = control.read_reply();
        if (reply.type == kind::error) {
          if (report.set_errors++ == 0) report.first_set_error = reply.text;
        }
      }
    }
  } catch (...) {
    cancelled.store(true);
    listener.join();
    throw;
  }
  report.set_seconds = (wall_clock_ms() - set_start) / 1000.0;
  listener.join();
  if (!heard.failure.empty()) throw connection_error(heard.failure);

  report.heard = heard.lateness_ms.size();
  report.missing = config.keys - report.heard;
  report.duplicates = heard.duplicates;
  report.early = heard.early;
  report.foreign = heard.foreign;
  report.wait_seconds =
      (std::max(heard.last_event_ms, report.heard == config.keys ? 0.0 : give_up_ms) -
       set_start) /
      1000.0;
  report.lateness = summarize_lateness(std::move(heard.lateness_ms));
  return report;
}

}  // namespace stairkv::bench
