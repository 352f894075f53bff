#include "tests/support/hiredis_connection.hpp"

#include <sys/time.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/support/child_process.hpp"

namespace stairkv::testing {

namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

struct argv_view {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;

  explicit argv_view(const std::vector<std::string>& argv) {
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& arg : argv) {
      ptrs.push_back(arg.data());
      lens.push_back(arg.size());
    }
  }

  int argc() const {
    return static_cast<int>(ptrs.size());
  }
};

const char* type_name(int type) {
  switch (type) {
    case REDIS_REPLY_STRING:
      return "bulk string";
    case REDIS_REPLY_ARRAY:
      return "array";
    case REDIS_REPLY_INTEGER:
      return "integer";
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STATUS:
      return "status";
    case REDIS_REPLY_ERROR:
      return "error";
    default:
      return "unknown type";
  }
}

std::string text(const redisReply* reply) {
  return std::string(reply->str, reply->len);
}

::testing::AssertionResult mismatch(const redisReply* reply,
                                    const std::string& expected) {
  return ::testing::AssertionFailure() << "expected " << expected << ", got "
                                       << describe(reply);
}

} // namespace

hiredis_connection::hiredis_connection(uint16_t port,
                                       std::chrono::milliseconds timeout)
  : port_(port) {
  ignore_sigpipe();
  ctx_.reset(redisConnectWithTimeout("127.0.0.1", port, to_timeval(timeout)));
  if (ctx_ == nullptr)
    throw std::runtime_error("hiredis: cannot allocate a context");
  if (ctx_->err != 0)
    fail("connect");
  if (redisSetTimeout(ctx_.get(), to_timeval(timeout)) != REDIS_OK)
    fail("set timeout");
}

reply_ptr hiredis_connection::command(const std::vector<std::string>& argv) {
  argv_view view{argv};
  auto* raw = redisCommandArgv(ctx_.get(), view.argc(), view.ptrs.data(),
                               view.lens.data());
  if (raw == nullptr)
    fail(("command " + escape_bytes(argv.empty() ? "" : argv[0])).c_str());
  return reply_ptr{static_cast<redisReply*>(raw)};
}

void hiredis_connection::append(const std::vector<std::string>& argv) {
  argv_view view{argv};
  if (redisAppendCommandArgv(ctx_.get(), view.argc(), view.ptrs.data(),
                             view.lens.data())
      != REDIS_OK)
    fail("append command");
}

void hiredis_connection::flush() {
  int done = 0;
  while (done == 0)
    if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK)
      fail("write");
}

reply_ptr hiredis_connection::get_reply() {
  void* raw = nullptr;
  if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr)
    fail("read reply");
  return reply_ptr{static_cast<redisReply*>(raw)};
}

void hiredis_connection::fail(const char* what) {
  throw std::runtime_error(std::string{"hiredis connection to 127.0.0.1:"}
                           + std::to_string(port_) + ": " + what + " failed: "
                           + (ctx_->err != 0 ? ctx_->errstr : "no reply"));
}

std::string escape_bytes(const std::string& bytes) {
  std::string out;
  for (unsigned char ch : bytes) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", ch);
      out += hex;
    }
  }
  return out;
}

std::string describe(const redisReply* reply) {
  if (reply == nullptr)
    return "(no reply)";
  switch (reply->type) {
    case REDIS_REPLY_STATUS:
      return "+" + escape_bytes(text(reply));
    case REDIS_REPLY_ERROR:
      return "-" + escape_bytes(text(reply));
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_STRING:
      return "\"" + escape_bytes(text(reply)) + "\"";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < reply->elements; ++i) {
        if (i > 0)
          out += ", ";
        if (i == 20 && reply->elements > 24) {
          out += "... " + std::to_string(reply->elements - 20) + " more";
          break;
        }
        out += describe(reply->element[i]);
      }
      return out + "]";
    }
    default:
      return "(reply of unknown type " + std::to_string(reply->type) + ")";
  }
}

::testing::AssertionResult is_status(const reply_ptr& reply,
                                     const std::string& expected) {
  if (reply && reply->type == REDIS_REPLY_STATUS && text(reply.get()) == expected)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "status +" + escape_bytes(expected));
}

::testing::AssertionResult is_error(const reply_ptr& reply,
                                    const std::string& expected) {
  if (reply && reply->type == REDIS_REPLY_ERROR && text(reply.get()) == expected)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "error -" + escape_bytes(expected));
}

::testing::AssertionResult is_error_starting_with(const reply_ptr& reply,
                                                  const std::string& prefix) {
  if (reply && reply->type == REDIS_REPLY_ERROR
      && text(reply.get()).compare(0, prefix.size(), prefix) == 0)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "an error starting with -" + escape_bytes(prefix));
}

::testing::AssertionResult is_bulk(const reply_ptr& reply,
                                   const std::string& expected) {
  if (reply && reply->type == REDIS_REPLY_STRING && text(reply.get()) == expected)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "bulk string \"" + escape_bytes(expected) + "\"");
}

::testing::AssertionResult is_integer(const reply_ptr& reply,
                                      long long expected) {
  if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == expected)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "integer :" + std::to_string(expected));
}

::testing::AssertionResult is_nil(const reply_ptr& reply) {
  if (reply && reply->type == REDIS_REPLY_NIL)
    return ::testing::AssertionSuccess();
  return mismatch(reply.get(), "(nil)");
}

::testing::AssertionResult
is_bulk_array(const reply_ptr& reply,
              const std::vector<std::optional<std::string>>& expected) {
  std::string wanted = "[";
  for (size_t i = 0; i < expected.size(); ++i) {
    if (i > 0)
      wanted += ", ";
    wanted += expected[i] ? "\"" + escape_bytes(*expected[i]) + "\"" : "(nil)";
  }
  wanted += "]";
  if (!reply || reply->type != REDIS_REPLY_ARRAY
      || reply->elements != expected.size())
    return mismatch(reply.get(), wanted);
  for (size_t i = 0; i < expected.size(); ++i) {
    const redisReply* elem = reply->element[i];
    bool ok = expected[i] ? elem->type == REDIS_REPLY_STRING
                              && text(elem) == *expected[i]
                          : elem->type == REDIS_REPLY_NIL;
    if (!ok)
      return mismatch(reply.get(), wanted) << " (element " << i << " differs)";
  }
  return ::testing::AssertionSuccess();
}

std::string text_of(const reply_ptr& reply) {
  if (reply
      && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS))
    return text(reply.get());
  throw std::runtime_error("expected a bulk string or status reply, got "
                           + describe(reply.get()) + " ("
                           + (reply ? type_name(reply->type) : "none") + ")");
}

long long integer_of(const reply_ptr& reply) {
  if (reply && reply->type == REDIS_REPLY_INTEGER)
    return reply->integer;
  throw std::runtime_error("expected an integer reply, got "
                           + describe(reply.get()) + " ("
                           + (reply ? type_name(reply->type) : "none") + ")");
}

long long node_time_ms(hiredis_connection& c) {
  auto t = c.command({"TIME"});
  if (!t || t->type != REDIS_REPLY_ARRAY || t->elements != 2)
    throw std::runtime_error("TIME answered " + describe(t.get()));
  return std::stoll(t->element[0]->str) * 1000 + std::stoll(t->element[1]->str) / 1000;
}

void wait_on_node_clock(hiredis_connection& c, long long ms) {
  auto until = node_time_ms(c) + ms;
  while (node_time_ms(c) < until)
    std::this_thread::yield();
}

} // namespace stairkv::testing
