// Misbehaving clients: malformed requests must get "-ERR Protocol error: ..."
// and lose only their own connection; clients that vanish mid-pipeline or
// before reading their replies must not disturb the server; hundreds of
// simultaneous connections must all be served.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

using namespace std::chrono_literals;

constexpr char protocol_error_prefix[] = "-ERR Protocol error: ";

struct malformed_request {
  const char* name;
  std::string bytes;
};

void PrintTo(const malformed_request& request, std::ostream* os) {
  *os << request.name << " \"" << escape_bytes(request.bytes) << "\"";
}

const std::vector<malformed_request>& malformed_requests() {
  static const std::vector<malformed_request> requests = {
    // Not a RESP array: binary junk (with an unbalanced quote, so that even a
    // server accepting inline commands must reject it).
    {"GarbageBytes", "\"\x01\xfe\xff garbage\r\n"},
    // An array element that is not a bulk string.
    {"BadTypeByteInArray", "*1\r\n%3\r\nfoo\r\n"},
    {"NegativeBulkLength", "*1\r\n$-5\r\n"},
    {"BulkLengthOf2GiB", "*1\r\n$2147483648\r\n"},
    {"NonNumericBulkLength", "*1\r\n$abc\r\n"},
    {"NonNumericArrayLength", "*x\r\n"},
    {"ArrayLengthOf2Gi", "*2147483648\r\n"},
  };
  return requests;
}

// True if `data` is exactly one "-ERR Protocol error: ...\r\n" line.
::testing::AssertionResult is_one_protocol_error(const std::string& data) {
  auto end = data.find("\r\n");
  if (data.rfind(protocol_error_prefix, 0) == 0 && end != std::string::npos
      && end + 2 == data.size() && end > sizeof(protocol_error_prefix) - 1)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected one line \"" << protocol_error_prefix << "...\\r\\n\", got \""
         << escape_bytes(data) << "\"";
}

class MalformedRequest : public server_test,
                         public ::testing::WithParamInterface<malformed_request> {
protected:
  // The observer: the fixture's hiredis client, which must keep working.
  void expect_observer_works(const std::string& key, long long counter) {
    EXPECT_TRUE(is_status(run({"SET", key, "value of " + key}), "OK"));
    EXPECT_TRUE(is_bulk(run({"GET", key}), "value of " + key));
    EXPECT_TRUE(is_integer(run({"INCR", "observer"}), counter));
  }
};

TEST_P(MalformedRequest, GetsProtocolErrorThenItsConnectionIsClosed) {
  expect_observer_works("before", 1);
  raw_connection bad{port()};
  // A complete command ahead of the malformed one is still answered.
  ASSERT_TRUE(bad.send_all(encode_command({"PING"}) + GetParam().bytes));
  expect_observer_works("during", 2);
  EXPECT_EQ(bad.read_line(), "+PONG\r\n");
  auto end = bad.read_until_closed();
  EXPECT_TRUE(is_one_protocol_error(end.data));
  EXPECT_TRUE(end.closed) << "the connection stayed open after the error";
  expect_observer_works("after", 3);
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 4));
}

TEST_P(MalformedRequest, PartialFrameOnAnotherConnectionSurvivesTheError) {
  raw_connection patient{port()};
  const std::string request = encode_command({"SET", "patient", "done"});
  ASSERT_TRUE(patient.send_all(request.substr(0, request.size() / 2)));
  raw_connection bad{port()};
  ASSERT_TRUE(bad.send_all(GetParam().bytes));
  auto end = bad.read_until_closed();
  EXPECT_TRUE(is_one_protocol_error(end.data));
  EXPECT_TRUE(end.closed);
  ASSERT_TRUE(patient.send_all(request.substr(request.size() / 2)));
  EXPECT_EQ(patient.read_line(), "+OK\r\n");
  EXPECT_TRUE(is_bulk(run({"GET", "patient"}), "done"));
}

INSTANTIATE_TEST_SUITE_P(
  Requests, MalformedRequest, ::testing::ValuesIn(malformed_requests()),
  [](const ::testing::TestParamInfo<malformed_request>& info) {
    return std::string{info.param.name};
  });

using MisbehavingClient = server_test;

TEST_F(MisbehavingClient, UnterminatedFrameThenHalfCloseEndsTheConnectionQuietly) {
  raw_connection raw{port()};
  ASSERT_TRUE(raw.send_all("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$10\r\nabc"));
  raw.shutdown_write();
  auto end = raw.read_until_closed();
  EXPECT_TRUE(end.closed) << "the server kept a half-closed connection open";
  // Nothing to answer: the command never arrived whole. A server may say why
  // it gives up, but only with a protocol error.
  if (!end.data.empty()) {
    EXPECT_TRUE(is_one_protocol_error(end.data));
  }
  EXPECT_TRUE(is_integer(run({"EXISTS", "x"}), 0));
  EXPECT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v"));
}

TEST_F(MisbehavingClient, UnterminatedFrameThenCloseLeavesServerServing) {
  for (int i = 0; i < 20; ++i) {
    raw_connection raw{port()};
    ASSERT_TRUE(raw.send_all("*2\r\n$3\r\nGET\r\n$100\r\n"
                             + std::string(static_cast<size_t>(i), 'k')));
    if (i % 2 == 0)
      raw.close();
    else
      raw.close_with_reset();
    EXPECT_TRUE(is_integer(run({"INCR", "survived"}), i + 1));
  }
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

TEST_F(MisbehavingClient, ClientDisconnectingMidPipelineDoesNotDisturbOthers) {
  for (int round = 0; round < 10; ++round) {
    raw_connection quitter{port()};
    std::string pipeline;
    for (int i = 0; i < 5000; ++i)
      pipeline += encode_command({"SET", "q:" + std::to_string(i), "v"});
    ASSERT_TRUE(quitter.send_all(pipeline));
    // Read the first reply only, then vanish with most replies unread.
    EXPECT_EQ(quitter.read_line(), "+OK\r\n");
    if (round % 2 == 0)
      quitter.close_with_reset();
    else
      quitter.close();
    EXPECT_TRUE(is_status(run({"SET", "observer", std::to_string(round)}), "OK"));
    EXPECT_TRUE(is_bulk(run({"GET", "observer"}), std::to_string(round)));
  }
  // Everything the quitters got in was stored whole or not at all.
  auto size = integer_of(run({"DBSIZE"}));
  EXPECT_GE(size, 2);
  EXPECT_LE(size, 5001);
  EXPECT_TRUE(is_bulk(run({"GET", "q:0"}), "v"));
}

TEST_F(MisbehavingClient, ClientClosingBeforeReadingLargeRepliesLeavesServerUp) {
  const std::string big(1 << 20, 'x');
  ASSERT_TRUE(is_status(run({"SET", "big", big}), "OK"));
  for (int round = 0; round < 5; ++round) {
    raw_connection greedy{port()};
    std::string pipeline;
    for (int i = 0; i < 64; ++i)
      pipeline += encode_command({"GET", "big"});
    ASSERT_TRUE(greedy.send_all(pipeline));
    // Wait until replies flow (the server is writing), then close unread.
    ASSERT_EQ(greedy.read_exactly(9), "$1048576\r");
    if (round % 2 == 0)
      greedy.close_with_reset();
    else
      greedy.close();
    EXPECT_TRUE(is_integer(run({"STRLEN", "big"}), 1 << 20));
  }
  EXPECT_TRUE(server().running());
}

TEST_F(MisbehavingClient, ServerKeepsServingWhileMalformedClientsComeAndGo) {
  std::atomic<bool> stop{false};
  std::atomic<long long> increments{0};
  std::string observer_failure;
  std::thread observer{[&] {
    try {
      hiredis_connection conn{port()};
      while (!stop.load()) {
        auto reply = conn.command({"INCR", "heartbeat"});
        long long expected = increments.load() + 1;
        if (!is_integer(reply, expected)) {
          observer_failure = "INCR heartbeat: expected " + std::to_string(expected)
                             + ", got " + describe(reply.get());
          return;
        }
        increments.store(expected);
      }
    } catch (const std::exception& ex) {
      observer_failure = ex.what();
    }
  }};
  int errors_seen = 0;
  std::string bad_failure;
  for (int round = 0; round < 10 && bad_failure.empty(); ++round) {
    for (const auto& request : malformed_requests()) {
      raw_connection bad{port()};
      bool sent = bad.send_all(request.bytes);
      auto end = bad.read_until_closed(10s);
      if (!sent || !end.closed || !is_one_protocol_error(end.data)) {
        bad_failure = std::string{request.name} + (sent ? "" : ": send failed")
                      + (end.closed ? "" : ": not closed") + ": got \""
                      + escape_bytes(end.data) + "\"";
        break;
      }
      ++errors_seen;
    }
  }
  stop.store(true);
  observer.join();
  EXPECT_EQ(bad_failure, "");
  EXPECT_EQ(observer_failure, "");
  EXPECT_EQ(errors_seen, 10 * static_cast<int>(malformed_requests().size()));
  EXPECT_GT(increments.load(), 0);
  EXPECT_TRUE(is_bulk(run({"GET", "heartbeat"}), std::to_string(increments.load())));
}

TEST_F(MisbehavingClient, FiveHundredConcurrentConnectionsAreAllServed) {
  constexpr int connections = 500;
  constexpr int threads = 4;
  ASSERT_GE(raise_open_file_limit(4096), static_cast<uint64_t>(connections + 100))
    << "cannot open enough descriptors for the test";
  std::vector<std::unique_ptr<hiredis_connection>> conns;
  conns.reserve(connections);
  for (int i = 0; i < connections; ++i)
    conns.push_back(std::make_unique<hiredis_connection>(port()));
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        // Every connection of this worker gets its requests before any reply
        // is read, so all of them have work pending at the server at once.
        for (int i = t; i < connections; i += threads) {
          std::string key = "conn:" + std::to_string(i);
          conns[i]->append({"SET", key, "value " + std::to_string(i)});
          conns[i]->append({"GET", key});
          conns[i]->flush();
        }
        for (int i = t; i < connections; i += threads) {
          auto set = conns[i]->get_reply();
          auto get = conns[i]->get_reply();
          if (!is_status(set, "OK")
              || !is_bulk(get, "value " + std::to_string(i))) {
            failures[t] = "connection " + std::to_string(i) + ": SET -> "
                          + describe(set.get()) + ", GET -> " + describe(get.get());
            return;
          }
        }
      } catch (const std::exception& ex) {
        failures[t] = ex.what();
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(failures[t], "") << "worker " << t;
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), connections));
  auto clients = [&] {
    return parse_info(text_of(run({"INFO", "clients"})))
      .integer_field("connected_clients")
      .value_or(-1);
  };
  EXPECT_EQ(clients(), connections + 1);
  conns.clear();
  // Closed connections are noticed: only the fixture's client remains.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  long long remaining = clients();
  while (remaining != 1 && std::chrono::steady_clock::now() < deadline)
    remaining = clients();
  EXPECT_EQ(remaining, 1);
}

} // namespace
} // namespace stairkv::testing
