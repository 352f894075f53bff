#pragma once

// SLOWLOG: the most recent commands that ran at least slowlog-log-slower-than
// microseconds, newest first, at most slowlog-max-len of them (Redis's
// slowlog.c). Entries keep the arguments as the plan trimmed them, so one entry
// is bounded (32 arguments of at most 128 bytes and a note). Shared by the
// gateways of a node, which all run on the middleman's one I/O thread: nothing
// here locks.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::gateway {

struct slow_entry {
  std::int64_t id;
  std::int64_t unix_seconds;
  std::int64_t micros;
  std::vector<std::string> args;
  std::string client_addr;
  std::string client_name;
};

class slow_log {
public:
  // Adds an entry and drops the oldest past `max_len`.
  void add(slow_entry entry, std::int64_t max_len) {
    entry.id = next_id_++;
    entries_.push_front(std::move(entry));
    trim(max_len);
  }

  void trim(std::int64_t max_len) {
    auto keep = static_cast<std::size_t>(max_len < 0 ? 0 : max_len);
    while (entries_.size() > keep)
      entries_.pop_back();
  }

  // SLOWLOG RESET: the entries go; ids keep counting, as in Redis.
  void reset() {
    entries_.clear();
  }

  // Newest first.
  const std::deque<slow_entry>& entries() const noexcept {
    return entries_;
  }

private:
  std::deque<slow_entry> entries_;
  std::int64_t next_id_ = 0;
};

using slow_log_ptr = std::shared_ptr<slow_log>;

} // namespace stairkv::gateway
