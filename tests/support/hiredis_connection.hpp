// A blocking hiredis client connection for tests, plus gtest predicates that
// check a reply's type and value and print the whole reply when they fail.
#pragma once

#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stairkv::testing {

struct reply_deleter {
  void operator()(redisReply* reply) const {
    if (reply != nullptr)
      freeReplyObject(reply);
  }
};

using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

class hiredis_connection {
public:
  static constexpr std::chrono::seconds default_timeout{30};

  // Connects to 127.0.0.1:port. `timeout` bounds the connect and every later
  // read or write. Throws std::runtime_error if the connection fails.
  explicit hiredis_connection(uint16_t port,
                              std::chrono::milliseconds timeout
                              = default_timeout);

  hiredis_connection(const hiredis_connection&) = delete;
  hiredis_connection& operator=(const hiredis_connection&) = delete;
  hiredis_connection(hiredis_connection&&) noexcept = default;
  hiredis_connection& operator=(hiredis_connection&&) noexcept = default;

  // Sends one command (each argument binary-safe, with its own length) and
  // returns its reply. Throws std::runtime_error on an I/O or protocol error
  // (connection closed, timeout, unparsable reply).
  reply_ptr command(const std::vector<std::string>& argv);

  // Queues a command in the output buffer without sending it (pipelining).
  void append(const std::vector<std::string>& argv);

  // Writes queued commands until the output buffer is empty.
  void flush();

  // Returns the next reply, flushing queued commands first. Throws like
  // command().
  reply_ptr get_reply();

  redisContext* context() {
    return ctx_.get();
  }

private:
  struct context_deleter {
    void operator()(redisContext* ctx) const {
      if (ctx != nullptr)
        redisFree(ctx);
    }
  };

  [[noreturn]] void fail(const char* what);

  std::unique_ptr<redisContext, context_deleter> ctx_;
  uint16_t port_;
};

// Renders a reply readably: +OK, -ERR ..., :42, "bulk" (escaped), (nil),
// [elem, elem], or "(no reply)" for null.
std::string describe(const redisReply* reply);

// Escapes a byte string for messages: printable ASCII as is, others as \xNN.
std::string escape_bytes(const std::string& bytes);

::testing::AssertionResult is_status(const reply_ptr& reply,
                                     const std::string& expected);
::testing::AssertionResult is_error(const reply_ptr& reply,
                                    const std::string& expected);
::testing::AssertionResult is_error_starting_with(const reply_ptr& reply,
                                                  const std::string& prefix);
::testing::AssertionResult is_bulk(const reply_ptr& reply,
                                   const std::string& expected);
::testing::AssertionResult is_integer(const reply_ptr& reply,
                                      long long expected);
::testing::AssertionResult is_nil(const reply_ptr& reply);

// An array whose elements are bulk strings or, where nullopt, nil.
::testing::AssertionResult
is_bulk_array(const reply_ptr& reply,
              const std::vector<std::optional<std::string>>& expected);

// The text of a bulk or status reply; throws std::runtime_error otherwise.
std::string text_of(const reply_ptr& reply);

// The value of an integer reply; throws std::runtime_error otherwise.
long long integer_of(const reply_ptr& reply);

// The node's clock in Unix milliseconds (TIME), so a test waits for a
// deadline on the node's own clock; and that wait, `ms` from now.
long long node_time_ms(hiredis_connection& c);
void wait_on_node_clock(hiredis_connection& c, long long ms);

} // namespace stairkv::testing
