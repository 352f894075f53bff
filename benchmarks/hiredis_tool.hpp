#pragma once

// What the small hiredis load programs (stairkv-wakeups,
// stairkv-invalidations) share: their --name=value flags, one steady clock,
// and blocking connections to 127.0.0.1.

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace stairkv::benchmarks {

// Whether `arg` is `name=value`; sets `value` when it is.
inline bool read_flag(const char* arg, const char* name, std::string& value) {
  auto n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=')
    return false;
  value = arg + n + 1;
  return true;
}

// Nanoseconds on the steady clock: stamps taken in one process compare.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// A blocking connection to 127.0.0.1:port, with `timeout_seconds` for the
// connect and every reply; exits the program when it cannot connect.
inline redisContext* connect(int port, long timeout_seconds) {
  timeval timeout{timeout_seconds, 0};
  auto* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "cannot connect to port %d\n", port);
    std::exit(2);
  }
  redisSetTimeout(c, timeout);
  return c;
}

// Sends `argv` and waits for its reply (nullptr when the connection broke).
inline redisReply* command(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> words;
  std::vector<std::size_t> sizes;
  for (const auto& a : argv) {
    words.push_back(a.data());
    sizes.push_back(a.size());
  }
  return static_cast<redisReply*>(
    redisCommandArgv(c, static_cast<int>(argv.size()), words.data(), sizes.data()));
}

} // namespace stairkv::benchmarks
