#include "benchmarks/load_runner.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <utility>

#include "benchmarks/reply_framer.hpp"

namespace stairkv::bench {

namespace {

// Receive buffers start at least this large, or as large as a client's replies in
// flight need up to max_initial_buffer, and double whenever a single reply does not
// fit. Send buffers are reserved the same way and grow as std::string does.
constexpr std::size_t min_input_buffer = 16 * 1024;
constexpr std::size_t max_initial_buffer = 4 * 1024 * 1024;
// A reply to SET or GET is the value plus at most this much framing; a request is the
// value plus at most this much.
constexpr std::size_t reply_overhead = 32;
constexpr std::size_t request_overhead = 64;
constexpr int max_events = 512;
// epoll_wait returns at least this often, so that the duration, a stop request and a
// stall are noticed while nothing arrives.
constexpr int poll_interval_ms = 50;

std::int64_t clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void command_stats::merge(const command_stats& other) {
  latency.merge(other.latency);
  errors += other.errors;
  hits += other.hits;
  misses += other.misses;
}

std::uint64_t load_result::ops() const {
  std::uint64_t total = 0;
  for (const auto& c : per_command) total += c.latency.count();
  return total;
}

std::uint64_t load_result::errors() const {
  std::uint64_t total = 0;
  for (const auto& c : per_command) total += c.errors;
  return total;
}

histogram load_result::latency() const {
  histogram all;
  for (const auto& c : per_command) all.merge(c.latency);
  return all;
}

struct load_runner::shared_state {
  explicit shared_state(load_config c)
      : config(std::move(c)),
        encoder(config.value_size),
        limit(config.fill ? config.keys : config.requests) {}

  // Hands out up to `wanted` requests (a fill: keys, from `first` on); 0 once the
  // budget is spent. One atomic add per batch, not per request.
  std::uint64_t claim(std::uint64_t wanted, std::uint64_t& first) {
    if (claimed.load(std::memory_order_relaxed) >= limit) return 0;
    first = claimed.fetch_add(wanted, std::memory_order_relaxed);
    if (first >= limit) return 0;
    return std::min(wanted, limit - first);
  }

  void keep_error(std::string_view text) {
    if (errors_kept.load(std::memory_order_relaxed) >= kept_error_replies) return;
    std::lock_guard<std::mutex> lock(errors_mutex);
    if (error_texts.size() < kept_error_replies) error_texts.emplace_back(text);
    errors_kept.store(error_texts.size(), std::memory_order_relaxed);
  }

  const load_config config;
  const request_encoder encoder;
  const std::uint64_t limit;
  std::int64_t start_ns = 0;
  std::chrono::steady_clock::time_point start_time;
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<bool> stop{false};   // no new requests
  std::atomic<bool> abort{false};  // a thread failed: every thread ends now

  std::mutex mutex;
  std::condition_variable thread_finished;
  unsigned finished_threads = 0;

  std::mutex errors_mutex;
  std::vector<std::string> error_texts;
  std::size_t errors_taken = 0;
  std::atomic<std::size_t> errors_kept{0};
};

class load_runner::worker {
 public:
  explicit worker(shared_state& shared) : shared_(shared) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw connection_error("epoll_create1: " + describe_errno(errno));
  }

  ~worker() {
    for (auto& c : clients_) ::close(c.fd);
    ::close(epoll_fd_);
  }

  void add_client(int fd, std::uint64_t client_number) {
    const load_config& config = shared_.config;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    clients_.emplace_back(fd, client_seed(config.seed, client_number), config);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(clients_.size() - 1);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      throw connection_error("epoll_ctl: " + describe_errno(errno));
    }
  }

  // The thread's body: never throws; a failure is kept for finish().
  void run() {
    try {
      loop();
    } catch (const connection_error& e) {
      failure_ = e.what();
      shared_.abort.store(true);
    }
    published_ops_.store(ops_, std::memory_order_relaxed);
    published_errors_.store(errors_, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(shared_.mutex);
    ++shared_.finished_threads;
    shared_.thread_finished.notify_all();
  }

  std::uint64_t published_ops() const {
    return published_ops_.load(std::memory_order_relaxed);
  }
  std::uint64_t published_errors() const {
    return published_errors_.load(std::memory_order_relaxed);
  }

  // After the thread has ended.
  const std::string& failure() const { return failure_; }
  command_stats* stats() { return stats_; }
  std::vector<interval_snapshot> take_intervals() { return intervals_.finish(); }
  std::int64_t last_reply_ns() const { return last_reply_ns_; }

 private:
  struct in_flight_request {
    std::int64_t sent_ns;
    command cmd;
  };

  struct client {
    client(int socket, std::uint64_t seed, const load_config& config)
        : fd(socket),
          generator(seed, config.keys, config.ratio),
          input_capacity(std::clamp<std::size_t>(
              config.pipeline * (config.value_size + reply_overhead), min_input_buffer,
              max_initial_buffer)),
          input(new char[input_capacity]),
          ring(config.pipeline) {
      output.reserve(std::min<std::size_t>(
          config.pipeline * (config.value_size + request_overhead), max_initial_buffer));
    }

    int fd;
    request_generator generator;
    reply_framer framer;
    std::string output;
    std::size_t output_sent = 0;
    std::size_t input_capacity;
    std::unique_ptr<char[]> input;
    std::size_t input_used = 0;
    // Requests in flight, oldest at ring_head: replies come back in request order.
    std::vector<in_flight_request> ring;
    std::size_t ring_head = 0;
    std::size_t in_flight = 0;
    bool watching_writes = false;
    bool finished = false;
  };

  [[noreturn]] void fail(const std::string& what) {
    throw connection_error("server at " + shared_.config.server.describe() + " " + what);
  }

  void loop() {
    active_ = clients_.size();
    last_reply_ns_ = shared_.start_ns;
    for (auto& c : clients_) {
      issue(c);
      flush(c);
      settle(c);
    }
    epoll_event events[max_events];
    while (active_ > 0) {
      if (shared_.abort.load(std::memory_order_relaxed)) return;
      const int ready = ::epoll_wait(epoll_fd_, events, max_events, poll_interval_ms);
      if (ready < 0 && errno != EINTR) {
        throw connection_error("epoll_wait: " + describe_errno(errno));
      }
      for (int i = 0; i < ready; ++i) {
        client& c = clients_[events[i].data.u32];
        if (c.finished) continue;
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) receive(c);
        if (!c.finished && (events[i].events & EPOLLOUT)) flush(c);
      }
      published_ops_.store(ops_, std::memory_order_relaxed);
      published_errors_.store(errors_, std::memory_order_relaxed);

      const std::int64_t now = clock_ns();
      if (!stopping_ && (shared_.stop.load(std::memory_order_relaxed) ||
                         (shared_.config.duration_ns > 0 &&
                          now - shared_.start_ns >= shared_.config.duration_ns))) {
        stopping_ = true;
        for (auto& c : clients_) settle(c);
      }
      if (active_ > 0 &&
          now - last_reply_ns_ > std::chrono::nanoseconds(stall_timeout).count()) {
        fail("stopped answering (no reply for " + std::to_string(stall_timeout.count()) +
             " s)");
      }
    }
  }

  // Fills the client's free pipeline slots with new requests, unless the run is
  // stopping or the budget is spent.
  void issue(client& c) {
    const std::uint64_t pipeline = shared_.config.pipeline;
    const std::uint64_t free_slots = pipeline - c.in_flight;
    if (free_slots == 0 || stopping_ || exhausted_) return;
    std::uint64_t first = 0;
    const std::uint64_t granted = shared_.claim(free_slots, first);
    if (granted == 0) {
      exhausted_ = true;
      return;
    }
    const std::int64_t now = clock_ns();
    std::size_t slot = c.ring_head + c.in_flight;
    for (std::uint64_t i = 0; i < granted; ++i) {
      request_generator::request r;
      if (shared_.config.fill) {
        r = {command::set, first + i};
      } else {
        r = c.generator.next();
      }
      shared_.encoder.append(c.output, r.cmd, r.key);
      if (slot >= pipeline) slot -= pipeline;
      c.ring[slot++] = {now, r.cmd};
    }
    c.in_flight += granted;
  }

  // A client with nothing in flight that may not send more is done.
  void settle(client& c) {
    if (c.finished || c.in_flight != 0 || !(stopping_ || exhausted_)) return;
    c.finished = true;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    --active_;
  }

  void receive(client& c) {
    if (c.input_used == c.input_capacity) {
      // One reply larger than the whole buffer: make room for it.
      std::unique_ptr<char[]> larger(new char[c.input_capacity * 2]);
      std::memcpy(larger.get(), c.input.get(), c.input_used);
      c.input = std::move(larger);
      c.input_capacity *= 2;
    }
    const ssize_t got =
        ::recv(c.fd, c.input.get() + c.input_used, c.input_capacity - c.input_used, 0);
    if (got == 0) fail("closed the connection");
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      fail("closed the connection (" + describe_errno(errno) + ")");
    }
    c.input_used += static_cast<std::size_t>(got);

    const std::int64_t now = clock_ns();
    histogram& interval = intervals_.at(now - shared_.start_ns);
    const std::uint64_t pipeline = shared_.config.pipeline;
    std::size_t offset = 0;
    std::uint64_t replies = 0;
    for (;;) {
      reply_summary reply;
      const frame_status status = c.framer.next(
          std::string_view(c.input.get() + offset, c.input_used - offset), reply);
      if (status == frame_status::incomplete) break;
      if (status == frame_status::malformed) {
        fail("sent a malformed reply (" + std::string(c.framer.error()) + ")");
      }
      if (c.in_flight == 0) fail("sent a reply to a request that was never made");
      const in_flight_request request = c.ring[c.ring_head];
      if (++c.ring_head == pipeline) c.ring_head = 0;
      --c.in_flight;

      const auto latency =
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - request.sent_ns));
      command_stats& stats = stats_[static_cast<std::size_t>(request.cmd)];
      stats.latency.record(latency);
      interval.record(latency);
      if (reply.type == reply_summary::kind::error) {
        ++stats.errors;
        ++errors_;
        shared_.keep_error(reply.text);
      } else if (request.cmd == command::get) {
        if (reply.type == reply_summary::kind::bulk) {
          ++stats.hits;
        } else {
          ++stats.misses;
        }
      }
      offset += reply.size;
      ++replies;
    }
    if (offset > 0) {
      std::memmove(c.input.get(), c.input.get() + offset, c.input_used - offset);
      c.input_used -= offset;
    }
    if (replies == 0) return;
    ops_ += replies;
    last_reply_ns_ = now;
    issue(c);
    flush(c);
    settle(c);
  }

  // Sends what the output buffer holds; whatever the socket does not take now is sent
  // when epoll says it is writable.
  void flush(client& c) {
    while (c.output_sent < c.output.size()) {
      const ssize_t sent = ::send(c.fd, c.output.data() + c.output_sent,
                                  c.output.size() - c.output_sent, MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          watch_writes(c, true);
          return;
        }
        fail("closed the connection (" + describe_errno(errno) + ")");
      }
      c.output_sent += static_cast<std::size_t>(sent);
    }
    c.output.clear();
    c.output_sent = 0;
    watch_writes(c, false);
  }

  void watch_writes(client& c, bool on) {
    if (c.watching_writes == on) return;
    epoll_event event{};
    event.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(&c - clients_.data());
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event);
    c.watching_writes = on;
  }

  shared_state& shared_;
  int epoll_fd_ = -1;
  std::vector<client> clients_;
  std::size_t active_ = 0;
  bool stopping_ = false;
  bool exhausted_ = false;
  std::uint64_t ops_ = 0;
  std::uint64_t errors_ = 0;
  std::int64_t last_reply_ns_ = 0;
  command_stats stats_[command_kinds];
  interval_recorder intervals_;
  std::string failure_;
  // Read by the main thread for the progress line; on their own cache line so that
  // the worker's other state is not dragged along.
  alignas(64) std::atomic<std::uint64_t> published_ops_{0};
  std::atomic<std::uint64_t> published_errors_{0};
};

load_runner::load_runner(load_config config)
    : shared_(std::make_unique<shared_state>(std::move(config))) {
  const load_config& c = shared_->config;
  const auto threads = static_cast<unsigned>(std::min<std::uint64_t>(c.threads, c.clients));
  for (unsigned t = 0; t < threads; ++t)
    workers_.push_back(std::make_unique<worker>(*shared_));
  for (std::uint64_t i = 0; i < c.clients; ++i) {
    workers_[i % threads]->add_client(connect_socket(c.server), i);
  }
}

load_runner::~load_runner() {
  if (!threads_.empty()) {
    shared_->abort.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
}

void load_runner::start() {
  shared_->start_time = std::chrono::steady_clock::now();
  shared_->start_ns = clock_ns();
  for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
}

std::chrono::steady_clock::time_point load_runner::start_time() const {
  return shared_->start_time;
}

void load_runner::request_stop() { shared_->stop.store(true); }

bool load_runner::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  return shared_->thread_finished.wait_for(
      lock, timeout, [&] { return shared_->finished_threads == workers_.size(); });
}

load_progress load_runner::progress() const {
  load_progress p;
  for (const auto& w : workers_) {
    p.ops += w->published_ops();
    p.errors += w->published_errors();
  }
  return p;
}

std::vector<std::string> load_runner::take_new_errors() {
  std::lock_guard<std::mutex> lock(shared_->errors_mutex);
  std::vector<std::string> fresh(shared_->error_texts.begin() + shared_->errors_taken,
                                 shared_->error_texts.end());
  shared_->errors_taken = shared_->error_texts.size();
  return fresh;
}

load_result load_runner::finish() {
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (const auto& w : workers_) {
    if (!w->failure().empty()) throw connection_error(w->failure());
  }
  load_result result;
  std::int64_t last = shared_->start_ns;
  for (auto& w : workers_) {
    for (std::size_t i = 0; i < command_kinds; ++i)
      result.per_command[i].merge(w->stats()[i]);
    result.intervals.push_back(w->take_intervals());
    last = std::max(last, w->last_reply_ns());
  }
  result.run_ns = last - shared_->start_ns;
  result.requests_left = shared_->claimed.load() < shared_->limit;
  return result;
}

}  // namespace stairkv::bench
