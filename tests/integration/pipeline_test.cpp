// Pipelining: many commands sent before any reply is read must be answered
// one reply per command, in request order, each reply right — whatever shard
// each key lives on. Runs against several engine configurations.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

struct engine_config {
  const char* name;
  std::vector<std::string> args;
};

void PrintTo(const engine_config& config, std::ostream* os) {
  *os << config.name;
}

class Pipeline : public server_test,
                 public ::testing::WithParamInterface<engine_config> {
protected:
  std::vector<std::string> server_args() const override {
    return GetParam().args;
  }
};

// What one pipelined command must be answered with.
struct expected_reply {
  enum kind { status, bulk, nil, integer, error } type;
  std::string text;
  long long number = 0;

  ::testing::AssertionResult matches(const reply_ptr& reply) const {
    switch (type) {
      case status:
        return is_status(reply, text);
      case bulk:
        return is_bulk(reply, text);
      case nil:
        return is_nil(reply);
      case integer:
        return is_integer(reply, number);
      case error:
        return is_error(reply, text);
    }
    return ::testing::AssertionFailure() << "bad expectation";
  }
};

expected_reply ok() {
  return {expected_reply::status, "OK"};
}

expected_reply bulk_or_nil(const std::map<std::string, std::string>& model,
                           const std::string& key) {
  auto it = model.find(key);
  if (it == model.end())
    return {expected_reply::nil, {}};
  return {expected_reply::bulk, it->second};
}

expected_reply integer(long long value) {
  return {expected_reply::integer, {}, value};
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv)
    out += (out.empty() ? "" : " ") + escape_bytes(arg);
  return out;
}

TEST_P(Pipeline, RepliesArriveInRequestOrderFor10000CommandPipeline) {
  constexpr int commands = 10000;
  constexpr int keys = 1000;
  std::mt19937 rng{20240601};
  std::uniform_int_distribution<int> pick_key{0, keys - 1};
  std::uniform_int_distribution<int> pick_op{0, 9};
  // The expected contents of the database after each command.
  std::map<std::string, std::string> model;
  std::vector<std::vector<std::string>> sent;
  std::vector<expected_reply> expected;
  sent.reserve(commands);
  expected.reserve(commands);
  for (int i = 0; i < commands; ++i) {
    int k = pick_key(rng);
    // Even keys hold text, odd keys hold counters.
    std::string key = (k % 2 == 0 ? "text:" : "counter:") + std::to_string(k);
    int op = pick_op(rng);
    if (k % 2 == 0 && op < 4) {
      std::string value = "value-" + std::to_string(i) + "-" + key;
      sent.push_back({"SET", key, value});
      expected.push_back(ok());
      model[key] = value;
    } else if (k % 2 == 1 && op < 4) {
      long long by = op == 0 ? 1 : static_cast<long long>(i % 7) - 3;
      sent.push_back(op == 0 ? std::vector<std::string>{"INCR", key}
                             : std::vector<std::string>{"INCRBY", key,
                                                        std::to_string(by)});
      long long now = (model.count(key) ? std::stoll(model[key]) : 0) + by;
      model[key] = std::to_string(now);
      expected.push_back(integer(now));
    } else if (op < 8) {
      sent.push_back({"GET", key});
      expected.push_back(bulk_or_nil(model, key));
    } else if (op == 8) {
      sent.push_back({"EXISTS", key});
      expected.push_back(integer(static_cast<long long>(model.count(key))));
    } else {
      sent.push_back({"DEL", key});
      expected.push_back(integer(static_cast<long long>(model.erase(key))));
    }
  }
  for (const auto& argv : sent)
    client().append(argv);
  for (int i = 0; i < commands; ++i) {
    auto reply = client().get_reply();
    ASSERT_TRUE(expected[i].matches(reply))
      << "reply #" << i << " to \"" << command_text(sent[i]) << "\"";
  }
  // The state the pipeline left matches the model, read back in one MGET.
  std::vector<std::string> mget{"MGET"};
  std::vector<std::optional<std::string>> values;
  for (int k = 0; k < keys; ++k) {
    std::string key = (k % 2 == 0 ? "text:" : "counter:") + std::to_string(k);
    mget.push_back(key);
    auto it = model.find(key);
    values.push_back(it == model.end() ? std::nullopt
                                       : std::optional<std::string>{it->second});
  }
  EXPECT_TRUE(is_bulk_array(run(mget), values));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), static_cast<long long>(model.size())));
}

TEST_P(Pipeline, ErrorRepliesKeepTheirPlaceInThePipeline) {
  const std::vector<std::pair<std::vector<std::string>, expected_reply>> steps = {
    {{"SET", "word", "abc"}, ok()},
    {{"INCR", "word"},
     {expected_reply::error, "ERR value is not an integer or out of range"}},
    {{"GET", "word"}, {expected_reply::bulk, "abc"}},
    {{"nosuchcommand", "x"},
     {expected_reply::error,
      "ERR unknown command 'nosuchcommand', with args beginning with: 'x' "}},
    {{"INCR", "n"}, integer(1)},
    {{"GET"},
     {expected_reply::error, "ERR wrong number of arguments for 'get' command"}},
    {{"SET", "k", "v", "NX", "XX"}, {expected_reply::error, "ERR syntax error"}},
    {{"INCR", "n"}, integer(2)},
    {{"SELECT", "16"}, {expected_reply::error, "ERR DB index is out of range"}},
    {{"PING"}, {expected_reply::status, "PONG"}},
    {{"DBSIZE"}, integer(2)},
  };
  for (int round = 0; round < 3; ++round)
    for (const auto& step : steps)
      client().append(step.first);
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < steps.size(); ++i) {
      auto reply = client().get_reply();
      expected_reply want = steps[i].second;
      if (steps[i].first[0] == "INCR" && steps[i].first[1] == "n")
        want.number += 2 * round;
      ASSERT_TRUE(want.matches(reply))
        << "round " << round << ", reply to \"" << command_text(steps[i].first)
        << "\"";
    }
  }
}

TEST_P(Pipeline, ThousandCommandsInOneWriteAreAnsweredInOrder) {
  raw_connection raw{port()};
  std::string request;
  std::string want;
  for (int i = 0; i < 1000; ++i) {
    std::string payload = "echo #" + std::to_string(i) + std::string(i % 50, '.');
    request += encode_command({"ECHO", payload});
    want += "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  }
  ASSERT_TRUE(raw.send_all(request));
  std::string got = raw.read_exactly(want.size());
  ASSERT_EQ(got.size(), want.size()) << "the replies stopped early";
  EXPECT_TRUE(got == want) << "replies differ from the expected sequence";
}

TEST_P(Pipeline, CommandSplitIntoOneByteWritesIsParsedWhole) {
  raw_connection raw{port()};
  const std::string value = std::string("split\r\n\0value", 13);
  const std::string request = encode_command({"SET", "split-key", value})
                              + encode_command({"GET", "split-key"});
  for (char byte : request)
    ASSERT_TRUE(raw.send_all(std::string(1, byte)));
  EXPECT_EQ(raw.read_line(), "+OK\r\n");
  EXPECT_EQ(escape_bytes(raw.read_exactly(5 + value.size())),
            escape_bytes("$13\r\n" + value));
  EXPECT_EQ(raw.read_line(), "\r\n");
}

TEST_P(Pipeline, ConcurrentPipelinesEachKeepTheirOwnOrder) {
  constexpr int clients = 4;
  constexpr int rounds = 1000;
  std::vector<std::string> failures(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      try {
        hiredis_connection conn{port()};
        std::string own = "own:" + std::to_string(c);
        for (int i = 0; i < rounds; ++i) {
          conn.append({"SET", own, std::to_string(i)});
          conn.append({"INCR", "shared"});
          conn.append({"GET", own});
        }
        long long last_shared = 0;
        for (int i = 0; i < rounds; ++i) {
          auto set = conn.get_reply();
          auto incr = conn.get_reply();
          auto get = conn.get_reply();
          if (!is_status(set, "OK") || !is_bulk(get, std::to_string(i))) {
            failures[c] = "round " + std::to_string(i) + ": SET -> "
                          + describe(set.get()) + ", GET -> " + describe(get.get());
            return;
          }
          // The shared counter only grows as seen from any one client.
          if (incr->type != REDIS_REPLY_INTEGER || incr->integer <= last_shared) {
            failures[c] = "round " + std::to_string(i) + ": INCR shared -> "
                          + describe(incr.get()) + " after "
                          + std::to_string(last_shared);
            return;
          }
          last_shared = incr->integer;
        }
      } catch (const std::exception& ex) {
        failures[c] = ex.what();
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (int c = 0; c < clients; ++c)
    EXPECT_EQ(failures[c], "") << "client " << c;
  EXPECT_TRUE(is_bulk(run({"GET", "shared"}), std::to_string(clients * rounds)));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), clients + 1));
}

INSTANTIATE_TEST_SUITE_P(
  Engines, Pipeline,
  ::testing::Values(engine_config{"DefaultEngine", {}},
                    engine_config{"OneStair", {"--stairs=1"}},
                    engine_config{"ThreeStairsOnIo",
                                  {"--stairs=3", "--resize=no", "--shard-placement=io"}},
                    engine_config{"ThreeStairsOnScheduler",
                                  {"--stairs=3", "--resize=no", "--shard-placement=scheduler"}},
                    engine_config{"ResizingWhileServing",
                                  {"--grow-keys-per-shard=100", "--resize-check-ms=5"}}),
  [](const ::testing::TestParamInfo<engine_config>& info) {
    return std::string{info.param.name};
  });

} // namespace
} // namespace stairkv::testing
