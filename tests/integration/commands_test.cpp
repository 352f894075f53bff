// Every command of the server's Redis subset, driven through hiredis against a
// fresh server per test: replies, option handling and the exact wording of
// Redis 7 error messages.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

using namespace std::chrono_literals;

constexpr char max_int64[] = "9223372036854775807";
constexpr char min_int64[] = "-9223372036854775808";

// Calls `condition` until it holds or `timeout` passes; true if it held.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline)
    if (condition())
      return true;
  return condition();
}

// The value of the line "db0:keys=...,expires=...,avg_ttl=..." or nullopt
// when INFO keyspace has no db0 line (an empty database).
std::optional<std::string> db0_line(hiredis_connection& client) {
  auto info = parse_info(text_of(client.command({"INFO", "keyspace"})));
  auto it = info.sections.find("keyspace");
  if (it == info.sections.end())
    throw std::runtime_error("INFO keyspace has no # Keyspace section");
  auto db0 = it->second.find("db0");
  if (db0 == it->second.end())
    return std::nullopt;
  return db0->second;
}

// Matches "keys=<keys>,expires=<expires>,avg_ttl=<any integer>".
::testing::AssertionResult keyspace_is(const std::optional<std::string>& line,
                                       long long keys, long long expires) {
  std::string prefix = "keys=" + std::to_string(keys)
                       + ",expires=" + std::to_string(expires) + ",avg_ttl=";
  if (!line)
    return ::testing::AssertionFailure()
           << "INFO keyspace has no db0 line, expected db0:" << prefix << "N";
  if (line->compare(0, prefix.size(), prefix) != 0
      || line->size() == prefix.size()
      || line->find_first_not_of("0123456789", prefix.size())
           != std::string::npos)
    return ::testing::AssertionFailure()
           << "expected db0:" << prefix << "N, got db0:" << *line;
  return ::testing::AssertionSuccess();
}

// -- connection commands ----------------------------------------------------

using ConnectionCommands = server_test;

TEST_F(ConnectionCommands, PingRepliesPong) {
  EXPECT_TRUE(is_status(run({"PING"}), "PONG"));
}

TEST_F(ConnectionCommands, PingWithMessageRepliesTheMessageAsBulkString) {
  EXPECT_TRUE(is_bulk(run({"PING", "hello world"}), "hello world"));
}

TEST_F(ConnectionCommands, PingWithTwoArgumentsIsAnArityError) {
  EXPECT_TRUE(is_error(run({"PING", "a", "b"}),
                       "ERR wrong number of arguments for 'ping' command"));
}

TEST_F(ConnectionCommands, EchoRepliesItsArgument) {
  EXPECT_TRUE(is_bulk(run({"ECHO", "stairs"}), "stairs"));
  EXPECT_TRUE(is_bulk(run({"ECHO", ""}), ""));
}

TEST_F(ConnectionCommands, EchoWithoutArgumentIsAnArityError) {
  EXPECT_TRUE(is_error(run({"ECHO"}),
                       "ERR wrong number of arguments for 'echo' command"));
}

TEST_F(ConnectionCommands, CommandNamesAreCaseInsensitive) {
  EXPECT_TRUE(is_status(run({"pInG"}), "PONG"));
  EXPECT_TRUE(is_status(run({"set", "k", "v"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GeT", "k"}), "v"));
}

TEST_F(ConnectionCommands, QuitRepliesOkThenClosesOnlyThatConnection) {
  raw_connection raw{port()};
  ASSERT_TRUE(raw.send_all(encode_command({"QUIT"})));
  auto end = raw.read_until_closed();
  EXPECT_EQ(end.data, "+OK\r\n");
  EXPECT_TRUE(end.closed) << "the server kept the connection open after QUIT";
  EXPECT_TRUE(is_status(run({"PING"}), "PONG"));
}

TEST_F(ConnectionCommands, SelectOfDatabaseZeroSucceeds) {
  ASSERT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_status(run({"SELECT", "0"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v"));
}

TEST_F(ConnectionCommands, SelectPastTheSixteenDatabasesIsOutOfRange) {
  for (const char* index : {"16", "-1", "1000"}) {
    SCOPED_TRACE(std::string{"SELECT "} + index);
    EXPECT_TRUE(is_error(run({"SELECT", index}), "ERR DB index is out of range"));
  }
  // The failed SELECTs left the connection on database 0.
  ASSERT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
  // Database 15 is the last, and holds its own keys.
  ASSERT_TRUE(is_status(run({"SELECT", "15"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
  EXPECT_TRUE(is_nil(run({"GET", "k"})));
}

TEST_F(ConnectionCommands, SelectOfNonNumericIndexIsNotAnInteger) {
  EXPECT_TRUE(is_error(run({"SELECT", "zero"}),
                       "ERR value is not an integer or out of range"));
}

TEST_F(ConnectionCommands, UnknownCommandErrorQuotesNameAndFirstArguments) {
  EXPECT_TRUE(is_error(run({"foo", "a"}),
                       "ERR unknown command 'foo', with args beginning with: 'a' "));
  EXPECT_TRUE(
    is_error(run({"foo", "a", "b"}),
             "ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
}

TEST_F(ConnectionCommands, UnknownCommandWithoutArgumentsKeepsNameAsSent) {
  EXPECT_TRUE(is_error(run({"FOO"}),
                       "ERR unknown command 'FOO', with args beginning with: "));
}

TEST_F(ConnectionCommands, ConnectionStaysUsableAfterErrors) {
  EXPECT_TRUE(is_error_starting_with(run({"nosuchcommand"}), "ERR unknown"));
  EXPECT_TRUE(is_error_starting_with(run({"GET"}), "ERR wrong number"));
  EXPECT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v"));
}

// -- SET and GET ------------------------------------------------------------

using SetAndGet = server_test;

TEST_F(SetAndGet, GetReturnsTheValueSet) {
  ASSERT_TRUE(is_status(run({"SET", "greeting", "hello"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "greeting"}), "hello"));
}

TEST_F(SetAndGet, GetOfMissingKeyIsNil) {
  EXPECT_TRUE(is_nil(run({"GET", "missing"})));
}

TEST_F(SetAndGet, SetOverwritesTheValue) {
  ASSERT_TRUE(is_status(run({"SET", "k", "first"}), "OK"));
  ASSERT_TRUE(is_status(run({"SET", "k", "second"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "second"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

TEST_F(SetAndGet, EmptyValueIsAnEmptyBulkStringNotNil) {
  ASSERT_TRUE(is_status(run({"SET", "empty", ""}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "empty"}), ""));
  EXPECT_TRUE(is_integer(run({"EXISTS", "empty"}), 1));
}

TEST_F(SetAndGet, GetWithWrongArgumentCountIsAnArityError) {
  EXPECT_TRUE(is_error(run({"GET"}),
                       "ERR wrong number of arguments for 'get' command"));
  EXPECT_TRUE(is_error(run({"GET", "a", "b"}),
                       "ERR wrong number of arguments for 'get' command"));
  // The error names the command in lower case whatever case was sent.
  EXPECT_TRUE(is_error(run({"GeT"}),
                       "ERR wrong number of arguments for 'get' command"));
}

TEST_F(SetAndGet, SetWithoutValueIsAnArityError) {
  EXPECT_TRUE(is_error(run({"SET", "k"}),
                       "ERR wrong number of arguments for 'set' command"));
  EXPECT_TRUE(is_error(run({"SET"}),
                       "ERR wrong number of arguments for 'set' command"));
}

TEST_F(SetAndGet, SetNxSetsOnlyAMissingKey) {
  EXPECT_TRUE(is_status(run({"SET", "k", "first", "NX"}), "OK"));
  EXPECT_TRUE(is_nil(run({"SET", "k", "second", "NX"})));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "first"));
}

TEST_F(SetAndGet, SetXxSetsOnlyAnExistingKey) {
  EXPECT_TRUE(is_nil(run({"SET", "k", "first", "XX"})));
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
  ASSERT_TRUE(is_status(run({"SET", "k", "first"}), "OK"));
  EXPECT_TRUE(is_status(run({"SET", "k", "second", "XX"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "second"));
}

TEST_F(SetAndGet, SetNxTogetherWithXxIsASyntaxError) {
  EXPECT_TRUE(is_error(run({"SET", "k", "v", "NX", "XX"}), "ERR syntax error"));
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

TEST_F(SetAndGet, SetGetRepliesTheOldValueAndStoresTheNewOne) {
  ASSERT_TRUE(is_status(run({"SET", "k", "old"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"SET", "k", "new", "GET"}), "old"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "new"));
}

TEST_F(SetAndGet, SetGetOnMissingKeyRepliesNilAndStoresTheValue) {
  EXPECT_TRUE(is_nil(run({"SET", "k", "v", "GET"})));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v"));
}

TEST_F(SetAndGet, SetNxGetOnExistingKeyRepliesOldValueWithoutSetting) {
  ASSERT_TRUE(is_status(run({"SET", "k", "old"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"SET", "k", "new", "NX", "GET"}), "old"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "old"));
}

TEST_F(SetAndGet, SetXxGetOnMissingKeyRepliesNilWithoutCreatingIt) {
  EXPECT_TRUE(is_nil(run({"SET", "k", "v", "XX", "GET"})));
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

TEST_F(SetAndGet, SetOptionsAreCaseInsensitive) {
  EXPECT_TRUE(is_status(run({"SET", "k", "v1", "nx", "ex", "100"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"SET", "k", "v2", "xX", "get"}), "v1"));
  EXPECT_TRUE(is_status(run({"SET", "k", "v3", "Px", "100000"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v3"));
}

TEST_F(SetAndGet, SetExStoresTheValueWithAnExpiry) {
  ASSERT_TRUE(is_status(run({"SET", "k", "v", "EX", "100"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "v"));
  EXPECT_TRUE(keyspace_is(db0_line(client()), 1, 1));
}

TEST_F(SetAndGet, PlainSetDiscardsAnExistingExpiry) {
  ASSERT_TRUE(is_status(run({"SET", "k", "v", "EX", "100"}), "OK"));
  ASSERT_TRUE(keyspace_is(db0_line(client()), 1, 1));
  ASSERT_TRUE(is_status(run({"SET", "k", "w"}), "OK"));
  EXPECT_TRUE(keyspace_is(db0_line(client()), 1, 0));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "w"));
}

TEST_F(SetAndGet, KeySetWithPxDisappearsAfterItsTimeToLive) {
  constexpr auto ttl = 200ms;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
    is_status(run({"SET", "short", "v", "PX", std::to_string(ttl.count())}), "OK"));
  ASSERT_TRUE(is_status(run({"SET", "long", "v", "PX", "600000"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "long"}), "v"));
  bool gone = eventually(
    [&] { return run({"GET", "short"})->type == REDIS_REPLY_NIL; }, 10s);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(gone) << "a key set with PX 200 was still readable after 10 s";
  // It cannot expire before its time to live (some slack for a server clock
  // that is cached with coarse granularity).
  EXPECT_GE(waited.count(), (ttl - 50ms).count())
    << "the key expired after " << waited.count() << " ms";
  EXPECT_TRUE(is_integer(run({"EXISTS", "short"}), 0));
  EXPECT_TRUE(is_bulk(run({"GET", "long"}), "v"));
  EXPECT_TRUE(
    eventually([&] { return integer_of(run({"DBSIZE"})) == 1; }, 10s))
    << "DBSIZE still counts the expired key";
}

TEST_F(SetAndGet, SetWithNonPositiveExpireIsAnInvalidExpireTime) {
  const std::vector<std::vector<std::string>> cases = {
    {"SET", "k", "v", "EX", "0"},
    {"SET", "k", "v", "EX", "-5"},
    {"SET", "k", "v", "PX", "0"},
    {"SET", "k", "v", "PX", "-1"},
  };
  for (const auto& argv : cases) {
    SCOPED_TRACE(argv[3] + " " + argv[4]);
    EXPECT_TRUE(is_error(run(argv), "ERR invalid expire time in 'set' command"));
  }
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

TEST_F(SetAndGet, SetWithNonIntegerExpireIsNotAnInteger) {
  EXPECT_TRUE(is_error(run({"SET", "k", "v", "EX", "soon"}),
                       "ERR value is not an integer or out of range"));
  EXPECT_TRUE(is_error(run({"SET", "k", "v", "PX", "1.5"}),
                       "ERR value is not an integer or out of range"));
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

TEST_F(SetAndGet, SetWithMalformedOptionsIsASyntaxError) {
  const std::vector<std::vector<std::string>> cases = {
    {"SET", "k", "v", "EX"},                    // EX without its value
    {"SET", "k", "v", "PX"},                    // PX without its value
    {"SET", "k", "v", "EX", "10", "PX", "100"}, // both EX and PX
    {"SET", "k", "v", "BOGUS"},                 // unknown option
    {"SET", "k", "v", "NX", "NX", "XX"},
  };
  for (const auto& argv : cases) {
    std::string trace;
    for (const auto& arg : argv)
      trace += arg + " ";
    SCOPED_TRACE(trace);
    EXPECT_TRUE(is_error(run(argv), "ERR syntax error"));
  }
  EXPECT_TRUE(is_integer(run({"EXISTS", "k"}), 0));
}

// -- DEL, EXISTS, DBSIZE, FLUSHDB, FLUSHALL --------------------------------------

using Keyspace = server_test;

TEST_F(Keyspace, DelRepliesHowManyKeysItRemoved) {
  ASSERT_TRUE(is_status(run({"MSET", "a", "1", "b", "2", "c", "3"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DEL", "a", "b", "missing"}), 2));
  EXPECT_TRUE(is_nil(run({"GET", "a"})));
  EXPECT_TRUE(is_nil(run({"GET", "b"})));
  EXPECT_TRUE(is_bulk(run({"GET", "c"}), "3"));
  EXPECT_TRUE(is_integer(run({"DEL", "a"}), 0));
}

TEST_F(Keyspace, DelWithoutKeysIsAnArityError) {
  EXPECT_TRUE(is_error(run({"DEL"}),
                       "ERR wrong number of arguments for 'del' command"));
}

TEST_F(Keyspace, ExistsCountsEveryArgumentThatNamesAKey) {
  ASSERT_TRUE(is_status(run({"SET", "a", "1"}), "OK"));
  EXPECT_TRUE(is_integer(run({"EXISTS", "a"}), 1));
  EXPECT_TRUE(is_integer(run({"EXISTS", "missing"}), 0));
  EXPECT_TRUE(is_integer(run({"EXISTS", "a", "a", "missing"}), 2));
}

TEST_F(Keyspace, ExistsWithoutKeysIsAnArityError) {
  EXPECT_TRUE(is_error(run({"EXISTS"}),
                       "ERR wrong number of arguments for 'exists' command"));
}

TEST_F(Keyspace, DbsizeCountsKeys) {
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(is_status(run({"SET", "key:" + std::to_string(i), "v"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 100));
  ASSERT_TRUE(is_integer(run({"DEL", "key:0", "key:1"}), 2));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 98));
}

TEST_F(Keyspace, DbsizeWithArgumentIsAnArityError) {
  EXPECT_TRUE(is_error(run({"DBSIZE", "x"}),
                       "ERR wrong number of arguments for 'dbsize' command"));
}

TEST_F(Keyspace, FlushdbRemovesEveryKey) {
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(is_status(run({"SET", "key:" + std::to_string(i), "v"}), "OK"));
  EXPECT_TRUE(is_status(run({"FLUSHDB"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
  EXPECT_TRUE(is_nil(run({"GET", "key:7"})));
  ASSERT_TRUE(is_status(run({"SET", "after", "v"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

TEST_F(Keyspace, FlushallRemovesEveryKeySeenByEveryClient) {
  hiredis_connection other{port()};
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(is_status(run({"SET", "key:" + std::to_string(i), "v"}), "OK"));
  ASSERT_TRUE(is_status(run({"SET", "ttl", "v", "EX", "100"}), "OK"));
  ASSERT_TRUE(is_integer(other.command({"DBSIZE"}), 1001));
  EXPECT_TRUE(is_status(other.command({"FLUSHALL"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
  EXPECT_TRUE(is_integer(run({"EXISTS", "key:999", "ttl"}), 0));
  EXPECT_FALSE(db0_line(client()).has_value())
    << "INFO keyspace still lists db0 after FLUSHALL: " << *db0_line(client());
}

TEST_F(Keyspace, FlushdbWithUnknownArgumentIsASyntaxError) {
  ASSERT_TRUE(is_status(run({"SET", "k", "v"}), "OK"));
  EXPECT_TRUE(is_error(run({"FLUSHDB", "bogus"}), "ERR syntax error"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

// -- INCR, DECR, INCRBY, DECRBY ---------------------------------------------

using Counters = server_test;

TEST_F(Counters, IncrOfMissingKeyStartsAtOne) {
  EXPECT_TRUE(is_integer(run({"INCR", "n"}), 1));
  EXPECT_TRUE(is_integer(run({"INCR", "n"}), 2));
  EXPECT_TRUE(is_bulk(run({"GET", "n"}), "2"));
}

TEST_F(Counters, DecrOfMissingKeyStartsAtMinusOne) {
  EXPECT_TRUE(is_integer(run({"DECR", "n"}), -1));
  EXPECT_TRUE(is_integer(run({"DECR", "n"}), -2));
  EXPECT_TRUE(is_bulk(run({"GET", "n"}), "-2"));
}

TEST_F(Counters, IncrbyAndDecrbyAddTheirArgument) {
  ASSERT_TRUE(is_status(run({"SET", "n", "-5"}), "OK"));
  EXPECT_TRUE(is_integer(run({"INCRBY", "n", "15"}), 10));
  EXPECT_TRUE(is_integer(run({"INCRBY", "n", "-3"}), 7));
  EXPECT_TRUE(is_integer(run({"DECRBY", "n", "10"}), -3));
  EXPECT_TRUE(is_integer(run({"DECRBY", "n", "-4"}), 1));
  EXPECT_TRUE(is_integer(run({"INCRBY", "fresh", "42"}), 42));
  EXPECT_TRUE(is_bulk(run({"GET", "n"}), "1"));
}

TEST_F(Counters, CountersReachTheLimitsOfSigned64BitIntegers) {
  ASSERT_TRUE(is_status(run({"SET", "n", "9223372036854775806"}), "OK"));
  EXPECT_TRUE(is_integer(run({"INCR", "n"}), INT64_MAX));
  ASSERT_TRUE(is_status(run({"SET", "m", "-9223372036854775807"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DECR", "m"}), INT64_MIN));
  EXPECT_TRUE(is_bulk(run({"GET", "m"}), min_int64));
}

TEST_F(Counters, OverflowIsAnErrorAndLeavesTheValueUnchanged) {
  ASSERT_TRUE(is_status(run({"SET", "max", max_int64}), "OK"));
  ASSERT_TRUE(is_status(run({"SET", "min", min_int64}), "OK"));
  const std::vector<std::vector<std::string>> cases = {
    {"INCR", "max"},
    {"INCRBY", "max", "1"},
    {"DECRBY", "max", "-1"},
    {"DECR", "min"},
    {"DECRBY", "min", "1"},
    {"INCRBY", "min", "-1"},
  };
  for (const auto& argv : cases) {
    SCOPED_TRACE(argv[0] + " " + argv[1]);
    EXPECT_TRUE(is_error(run(argv), "ERR increment or decrement would overflow"));
  }
  EXPECT_TRUE(is_bulk(run({"GET", "max"}), max_int64));
  EXPECT_TRUE(is_bulk(run({"GET", "min"}), min_int64));
}

TEST_F(Counters, IncrOfValueThatIsNotACanonicalIntegerIsAnError) {
  // Redis accepts only canonical decimal integers that fit in 64 bits.
  const std::vector<std::string> values = {
    "abc", "1.5", "", " 1", "1 ", "+1", "01", "0x10", "99999999999999999999",
    std::string("1\0", 2),
  };
  for (const auto& value : values) {
    SCOPED_TRACE("value \"" + escape_bytes(value) + "\"");
    ASSERT_TRUE(is_status(run({"SET", "n", value}), "OK"));
    EXPECT_TRUE(is_error(run({"INCR", "n"}),
                         "ERR value is not an integer or out of range"));
    EXPECT_TRUE(is_bulk(run({"GET", "n"}), value));
  }
}

TEST_F(Counters, NonIntegerIncrementIsAnError) {
  for (const char* by : {"one", "1.0", "", "9223372036854775808"}) {
    SCOPED_TRACE(std::string{"increment \""} + by + "\"");
    EXPECT_TRUE(is_error(run({"INCRBY", "n", by}),
                         "ERR value is not an integer or out of range"));
    EXPECT_TRUE(is_error(run({"DECRBY", "n", by}),
                         "ERR value is not an integer or out of range"));
  }
  EXPECT_TRUE(is_integer(run({"EXISTS", "n"}), 0));
}

TEST_F(Counters, CounterCommandsCheckTheirArity) {
  EXPECT_TRUE(is_error(run({"INCR"}),
                       "ERR wrong number of arguments for 'incr' command"));
  EXPECT_TRUE(is_error(run({"DECR", "a", "b"}),
                       "ERR wrong number of arguments for 'decr' command"));
  EXPECT_TRUE(is_error(run({"INCRBY", "a"}),
                       "ERR wrong number of arguments for 'incrby' command"));
  EXPECT_TRUE(is_error(run({"DECRBY", "a", "1", "2"}),
                       "ERR wrong number of arguments for 'decrby' command"));
}

TEST_F(Counters, IncrAfterAppendSeesTheConcatenatedDigits) {
  ASSERT_TRUE(is_status(run({"SET", "n", "1"}), "OK"));
  ASSERT_TRUE(is_integer(run({"APPEND", "n", "2"}), 2));
  EXPECT_TRUE(is_integer(run({"INCR", "n"}), 13));
}

// -- MSET, MGET ---------------------------------------------------------------

using MultiKey = server_test;

TEST_F(MultiKey, MsetStoresEveryPairAndMgetReadsThemInOrder) {
  ASSERT_TRUE(is_status(run({"MSET", "a", "1", "b", "2", "c", "3"}), "OK"));
  EXPECT_TRUE(is_bulk_array(run({"MGET", "c", "missing", "a", "b", "a"}),
                            {"3", std::nullopt, "1", "2", "1"}));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 3));
}

TEST_F(MultiKey, MsetRepeatedKeyKeepsTheLastValue) {
  ASSERT_TRUE(is_status(run({"MSET", "k", "1", "k", "2"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "2"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

TEST_F(MultiKey, MsetOverManyKeysIsVisibleToEveryKey) {
  std::vector<std::string> mset{"MSET"};
  std::vector<std::string> mget{"MGET"};
  std::vector<std::optional<std::string>> expected;
  for (int i = 0; i < 500; ++i) {
    mset.push_back("key:" + std::to_string(i));
    mset.push_back("value:" + std::to_string(i * 7));
    mget.push_back("key:" + std::to_string(i));
    expected.emplace_back("value:" + std::to_string(i * 7));
  }
  ASSERT_TRUE(is_status(run(mset), "OK"));
  EXPECT_TRUE(is_bulk_array(run(mget), expected));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 500));
}

TEST_F(MultiKey, MsetWithAnOddNumberOfArgumentsIsAnArityError) {
  EXPECT_TRUE(is_error(run({"MSET", "a"}),
                       "ERR wrong number of arguments for 'mset' command"));
  EXPECT_TRUE(is_error(run({"MSET", "a", "1", "b"}),
                       "ERR wrong number of arguments for 'mset' command"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
}

TEST_F(MultiKey, MgetWithoutKeysIsAnArityError) {
  EXPECT_TRUE(is_error(run({"MGET"}),
                       "ERR wrong number of arguments for 'mget' command"));
}

// -- APPEND, STRLEN -------------------------------------------------------------

using StringLength = server_test;

TEST_F(StringLength, AppendCreatesTheKeyAndRepliesTheNewLength) {
  EXPECT_TRUE(is_integer(run({"APPEND", "k", "Hello"}), 5));
  EXPECT_TRUE(is_integer(run({"APPEND", "k", " World"}), 11));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "Hello World"));
}

TEST_F(StringLength, AppendOfNothingKeepsTheValue) {
  ASSERT_TRUE(is_status(run({"SET", "k", "abc"}), "OK"));
  EXPECT_TRUE(is_integer(run({"APPEND", "k", ""}), 3));
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "abc"));
}

TEST_F(StringLength, StrlenCountsBytesAndIsZeroForMissingKey) {
  EXPECT_TRUE(is_integer(run({"STRLEN", "missing"}), 0));
  // "été" in UTF-8: five bytes, three characters.
  ASSERT_TRUE(is_status(run({"SET", "k", "\xc3\xa9t\xc3\xa9"}), "OK"));
  EXPECT_TRUE(is_integer(run({"STRLEN", "k"}), 5));
}

TEST_F(StringLength, AppendAndStrlenCheckTheirArity) {
  EXPECT_TRUE(is_error(run({"APPEND", "k"}),
                       "ERR wrong number of arguments for 'append' command"));
  EXPECT_TRUE(is_error(run({"STRLEN"}),
                       "ERR wrong number of arguments for 'strlen' command"));
  EXPECT_TRUE(is_error(run({"STRLEN", "a", "b"}),
                       "ERR wrong number of arguments for 'strlen' command"));
}

// -- binary safety ---------------------------------------------------------------

using BinarySafety = server_test;

std::string every_byte_value() {
  std::string bytes;
  for (int i = 0; i < 256; ++i)
    bytes += static_cast<char>(i);
  return bytes;
}

TEST_F(BinarySafety, KeysAndValuesWithNulAndCrlfRoundTripExactly) {
  const std::string key = std::string("k\0ey\r\nwith\r\nbreaks", 19);
  const std::string value = "\r\n$5\r\n*1\r\n" + every_byte_value() + "\r\n";
  ASSERT_TRUE(is_status(run({"SET", key, value}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", key}), value));
  EXPECT_TRUE(is_integer(run({"STRLEN", key}), static_cast<long long>(value.size())));
  EXPECT_TRUE(is_integer(run({"EXISTS", key}), 1));
  // Keys that differ only after a NUL byte are different keys.
  EXPECT_TRUE(is_nil(run({"GET", std::string("k\0ex", 4)})));
  EXPECT_TRUE(is_nil(run({"GET", "k"})));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 1));
}

TEST_F(BinarySafety, BinaryPayloadsWorkWithEveryStringCommand) {
  const std::string nul_key("\0", 1);
  const std::string crlf_key = "\r\n";
  ASSERT_TRUE(is_status(run({"MSET", nul_key, std::string("a\0b", 3), crlf_key,
                             "\r\n\r\n"}),
                        "OK"));
  EXPECT_TRUE(is_bulk_array(run({"MGET", nul_key, crlf_key}),
                            {std::string("a\0b", 3), "\r\n\r\n"}));
  EXPECT_TRUE(is_integer(run({"APPEND", nul_key, std::string("\0\r\n", 3)}), 6));
  EXPECT_TRUE(is_bulk(run({"GET", nul_key}), std::string("a\0b\0\r\n", 6)));
  EXPECT_TRUE(is_bulk(run({"SET", crlf_key, "x", "GET"}), "\r\n\r\n"));
  EXPECT_TRUE(is_bulk(run({"ECHO", std::string("\0\r\n\0", 4)}),
                      std::string("\0\r\n\0", 4)));
  EXPECT_TRUE(is_integer(run({"DEL", nul_key, crlf_key}), 2));
}

TEST_F(BinarySafety, EmptyKeyIsAValidKey) {
  ASSERT_TRUE(is_status(run({"SET", "", "empty key"}), "OK"));
  EXPECT_TRUE(is_bulk(run({"GET", ""}), "empty key"));
  EXPECT_TRUE(is_integer(run({"EXISTS", ""}), 1));
}

TEST_F(BinarySafety, MultiMegabyteValueRoundTrips) {
  std::string value;
  value.reserve(4 << 20);
  const std::string bytes = every_byte_value();
  while (value.size() < (4u << 20))
    value += bytes;
  ASSERT_TRUE(is_status(run({"SET", "big", value}), "OK"));
  EXPECT_TRUE(is_integer(run({"STRLEN", "big"}), static_cast<long long>(value.size())));
  auto reply = run({"GET", "big"});
  ASSERT_EQ(reply->type, REDIS_REPLY_STRING) << describe(reply.get());
  ASSERT_EQ(reply->len, value.size());
  EXPECT_TRUE(std::string(reply->str, reply->len) == value)
    << "the 4 MiB value came back with different bytes";
  EXPECT_TRUE(is_integer(run({"APPEND", "big", "!"}),
                         static_cast<long long>(value.size() + 1)));
}

// -- COMMAND, CONFIG --------------------------------------------------------------

using Introspection = server_test;

TEST_F(Introspection, CommandCountIsPositive) {
  auto reply = run({"COMMAND", "COUNT"});
  ASSERT_EQ(reply->type, REDIS_REPLY_INTEGER) << describe(reply.get());
  EXPECT_GT(reply->integer, 0);
}

TEST_F(Introspection, CommandDocsRepliesNamesPairedWithDocs) {
  // Full Redis command docs nest deeper than hiredis parses, so this reads the
  // reply off a raw connection.
  raw_connection raw{port()};
  for (auto argv : std::vector<std::vector<std::string>>{{"COMMAND", "DOCS"},
                                                         {"COMMAND", "DOCS", "get"}}) {
    SCOPED_TRACE(argv.size() == 2 ? "COMMAND DOCS" : "COMMAND DOCS get");
    ASSERT_TRUE(raw.send_all(encode_command(argv)));
    auto reply = raw.read_reply();
    ASSERT_EQ(reply.type, '*') << "not an array, or no complete reply";
    // RESP2 renders the map as a flat array: name, docs, name, docs, ...
    EXPECT_EQ(reply.elements.size() % 2, 0u);
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      EXPECT_EQ(reply.elements[i].type, '$') << "element " << i;
      EXPECT_EQ(reply.elements[i + 1].type, '*') << "element " << i + 1;
    }
    if (argv.size() == 3 && !reply.elements.empty()) {
      ASSERT_EQ(reply.elements.size(), 2u);
      EXPECT_EQ(reply.elements[0].text, "get");
    }
  }
  // The connection is still in step after the (possibly large) replies.
  ASSERT_TRUE(raw.send_all(encode_command({"PING"})));
  EXPECT_EQ(raw.read_reply().text, "PONG");
}

TEST_F(Introspection, CommandWithUnknownSubcommandIsAnError) {
  EXPECT_TRUE(is_error(run({"COMMAND", "FOO"}),
                       "ERR unknown subcommand 'FOO'. Try COMMAND HELP."));
}

TEST_F(Introspection, ConfigGetRepliesParameterValuePairs) {
  // redis-benchmark asks for these two when it starts.
  for (const char* name : {"save", "appendonly"}) {
    SCOPED_TRACE(name);
    auto reply = run({"CONFIG", "GET", name});
    ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY) << describe(reply.get());
    ASSERT_EQ(reply->elements, 2u) << describe(reply.get());
    EXPECT_EQ(describe(reply->element[0]), std::string{"\""} + name + "\"");
    EXPECT_EQ(reply->element[1]->type, REDIS_REPLY_STRING)
      << describe(reply.get());
  }
}

TEST_F(Introspection, ConfigGetOfUnknownParameterIsAnEmptyArray) {
  EXPECT_TRUE(is_bulk_array(run({"CONFIG", "GET", "no-such-parameter"}), {}));
}

TEST_F(Introspection, ConfigGetWithoutParameterIsAnArityError) {
  EXPECT_TRUE(is_error(run({"CONFIG", "GET"}),
                       "ERR wrong number of arguments for 'config|get' command"));
}

// -- INFO ----------------------------------------------------------------------------

using Info = server_test;

TEST_F(Info, InfoWithoutArgumentListsTheStandardSections) {
  auto info = parse_info(text_of(run({"INFO"})));
  for (const char* section : {"server", "clients", "memory", "stats", "keyspace"})
    EXPECT_TRUE(info.has_section(section)) << "no # " << section << " section";
}

TEST_F(Info, InfoWithSectionNameListsOnlyThatSection) {
  auto info = parse_info(text_of(run({"INFO", "keyspace"})));
  EXPECT_TRUE(info.has_section("keyspace"));
  EXPECT_EQ(info.sections.size(), 1u) << text_of(run({"INFO", "keyspace"}));
  auto upper = parse_info(text_of(run({"INFO", "SERVER"})));
  EXPECT_TRUE(upper.has_section("server"));
  EXPECT_FALSE(upper.has_section("keyspace"));
}

TEST_F(Info, ServerSectionReportsVersionPortAndProcessId) {
  auto info = parse_info(text_of(run({"INFO", "server"})));
  auto version = info.field("redis_version");
  ASSERT_TRUE(version.has_value());
  EXPECT_FALSE(version->empty());
  EXPECT_EQ(info.integer_field("tcp_port"), port());
  EXPECT_EQ(info.integer_field("process_id"), server().pid());
}

TEST_F(Info, ClientsSectionCountsConnectedClients) {
  hiredis_connection second{port()};
  hiredis_connection third{port()};
  ASSERT_TRUE(is_status(second.command({"PING"}), "PONG"));
  ASSERT_TRUE(is_status(third.command({"PING"}), "PONG"));
  auto info = parse_info(text_of(run({"INFO", "clients"})));
  EXPECT_EQ(info.integer_field("connected_clients"), 3);
}

TEST_F(Info, MemorySectionReportsUsedMemory) {
  auto info = parse_info(text_of(run({"INFO", "memory"})));
  auto used = info.integer_field("used_memory");
  ASSERT_TRUE(used.has_value()) << "no integer used_memory field";
#if defined(__SANITIZE_ADDRESS__)
  // The node is built the same way as this test: AddressSanitizer's allocator
  // keeps no glibc statistics, so there is no figure to check.
  GTEST_SKIP() << "used_memory comes from glibc's allocator, replaced under ASan";
#endif
  EXPECT_GT(*used, 0);
}

TEST_F(Info, StatsSectionCountsConnectionsAndCommands) {
  hiredis_connection second{port()};
  ASSERT_TRUE(is_status(second.command({"PING"}), "PONG"));
  auto before = parse_info(text_of(run({"INFO", "stats"})));
  auto connections = before.integer_field("total_connections_received");
  auto commands_before = before.integer_field("total_commands_processed");
  ASSERT_TRUE(connections.has_value()) << "no total_connections_received";
  ASSERT_TRUE(commands_before.has_value()) << "no total_commands_processed";
  EXPECT_GE(*connections, 2);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(is_status(second.command({"PING"}), "PONG"));
  auto after = parse_info(text_of(run({"INFO", "stats"})));
  EXPECT_GE(after.integer_field("total_commands_processed").value_or(0),
            *commands_before + 10);
}

TEST_F(Info, KeyspaceSectionCountsKeysAndKeysWithExpiry) {
  EXPECT_FALSE(db0_line(client()).has_value())
    << "an empty server lists db0: " << *db0_line(client());
  ASSERT_TRUE(is_status(run({"MSET", "a", "1", "b", "2"}), "OK"));
  EXPECT_EQ(db0_line(client()), "keys=2,expires=0,avg_ttl=0");
  ASSERT_TRUE(is_status(run({"SET", "c", "3", "EX", "1000"}), "OK"));
  ASSERT_TRUE(is_status(run({"SET", "d", "4", "PX", "1000000"}), "OK"));
  EXPECT_TRUE(keyspace_is(db0_line(client()), 4, 2));
  ASSERT_TRUE(is_integer(run({"DEL", "c", "a"}), 2));
  EXPECT_TRUE(keyspace_is(db0_line(client()), 2, 1));
}

TEST_F(Info, EngineSectionReportsTheShardStaircase) {
  auto info = parse_info(text_of(run({"INFO", "engine"})));
  for (const char* field : {"engine_generation", "engine_stairs", "engine_shards",
                            "engine_migrating", "engine_keys_migrated"}) {
    auto value = info.integer_field(field);
    ASSERT_TRUE(value.has_value()) << "no integer field " << field << " in\n"
                                   << text_of(run({"INFO", "engine"}));
    EXPECT_GE(*value, 0) << field;
  }
  EXPECT_GE(*info.integer_field("engine_shards"), 1);
}

// A server started with a fixed staircase of N stairs runs 2^N - 1 shards.
class FixedStaircase : public server_test,
                       public ::testing::WithParamInterface<int> {
protected:
  std::vector<std::string> server_args() const override {
    return {"--stairs=" + std::to_string(GetParam()), "--resize=no"};
  }
};

TEST_P(FixedStaircase, EngineSectionReportsTwoToTheStairsMinusOneShards) {
  auto info = parse_info(text_of(run({"INFO", "engine"})));
  EXPECT_EQ(info.integer_field("engine_stairs"), GetParam());
  EXPECT_EQ(info.integer_field("engine_shards"), (1LL << GetParam()) - 1);
}

TEST_P(FixedStaircase, KeysSpreadOverAllShardsAreAllCounted) {
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(is_status(run({"SET", "key:" + std::to_string(i),
                               std::to_string(i)}),
                          "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 300));
  EXPECT_EQ(db0_line(client()), "keys=300,expires=0,avg_ttl=0");
  for (int i = 0; i < 300; i += 37)
    EXPECT_TRUE(is_bulk(run({"GET", "key:" + std::to_string(i)}),
                        std::to_string(i)));
  ASSERT_TRUE(is_status(run({"FLUSHALL"}), "OK"));
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 0));
}

INSTANTIATE_TEST_SUITE_P(Stairs, FixedStaircase, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Stairs";
                         });

} // namespace
} // namespace stairkv::testing
