// Clients that wait: a connection that sent a blocking command and reads its
// reply later, and the wait until the node counts so many blocked clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"

namespace stairkv::testing {

// Waits (20 s at most, a failure then) until the node counts `n` blocked
// clients (INFO blocked_clients).
inline void await_blocked(hiredis_connection& c, long long n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (info_integer(c, "blocked_clients") != n) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
      << "blocked_clients never reached " << n;
    std::this_thread::yield();
  }
}

// A connection that sent `command` (a blocking one) and reads its reply later.
struct deferred {
  hiredis_connection c;
  deferred(std::uint16_t port, const std::vector<std::string>& command)
    : c{port, std::chrono::seconds{60}} {
    c.append(command);
    c.flush();
  }
  reply_ptr reply() {
    return c.get_reply();
  }
};

} // namespace stairkv::testing
