// The stock redis-cli works against the server: one-shot commands, commands
// read from stdin, and --pipe mass insertion.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

using RedisCli = server_test;

TEST_F(RedisCli, PingPrintsPong) {
  auto result = run_redis_cli(port(), {"PING"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "PONG\n") << result.describe();
}

TEST_F(RedisCli, SetThenGetThroughCommandLineArguments) {
  auto set = run_redis_cli(port(), {"SET", "k", "from redis-cli"});
  EXPECT_EQ(set.exit_code, 0) << set.describe();
  EXPECT_EQ(set.out, "OK\n") << set.describe();
  auto get = run_redis_cli(port(), {"GET", "k"});
  EXPECT_EQ(get.exit_code, 0) << get.describe();
  EXPECT_EQ(get.out, "from redis-cli\n") << get.describe();
  // The value is really stored, not just echoed by the tool.
  EXPECT_TRUE(is_bulk(run({"GET", "k"}), "from redis-cli"));
}

TEST_F(RedisCli, GetOfMissingKeyPrintsAnEmptyLine) {
  auto result = run_redis_cli(port(), {"GET", "missing"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "\n") << result.describe();
}

TEST_F(RedisCli, ErrorReplyIsPrintedWithItsMessage) {
  auto result = run_redis_cli(port(), {"GET"});
  // redis-cli follows an error reply with an empty line.
  EXPECT_EQ(result.out + result.err,
            "ERR wrong number of arguments for 'get' command\n\n")
    << result.describe();
}

TEST_F(RedisCli, CommandsPipedThroughStdinRunInOrder) {
  auto result = run_redis_cli(port(), {},
                              "SET a 1\n"
                              "INCR a\n"
                              "INCRBY a 10\n"
                              "GET a\n"
                              "DEL a\n"
                              "GET a\n"
                              "EXISTS a\n");
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "OK\n2\n12\n12\n1\n\n0\n") << result.describe();
}

TEST_F(RedisCli, QuotedArgumentsFromStdinKeepSpacesAndEscapedBytes) {
  auto result = run_redis_cli(port(), {},
                              "SET \"my key\" \"hello world\"\n"
                              "GET \"my key\"\n"
                              "SET bin \"a\\x00b\\r\\n\"\n"
                              "STRLEN bin\n");
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.out, "OK\nhello world\nOK\n5\n") << result.describe();
  EXPECT_TRUE(is_bulk(run({"GET", "bin"}), std::string("a\0b\r\n", 5)));
  EXPECT_TRUE(is_bulk(run({"GET", "my key"}), "hello world"));
}

TEST_F(RedisCli, MassInsertionWithPipeReportsNoErrors) {
  constexpr int keys = 10000;
  std::string protocol;
  for (int i = 0; i < keys; ++i)
    protocol += encode_command({"SET", "mass:" + std::to_string(i),
                                "value " + std::to_string(i * 3)});
  auto result = run_redis_cli(port(), {"--pipe"}, protocol);
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_NE(result.out.find("errors: 0, replies: 10000"), std::string::npos)
    << result.describe();
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), keys));
  for (int i : {0, 1, 4999, 9999})
    EXPECT_TRUE(is_bulk(run({"GET", "mass:" + std::to_string(i)}),
                        "value " + std::to_string(i * 3)));
}

TEST_F(RedisCli, MassInsertionWithPipeCountsErrorReplies) {
  std::string protocol;
  for (int i = 0; i < 100; ++i) {
    protocol += encode_command({"SET", "key:" + std::to_string(i), "text"});
    if (i % 20 == 0)
      protocol += encode_command({"INCR", "key:" + std::to_string(i)});
  }
  auto result = run_redis_cli(port(), {"--pipe"}, protocol);
  EXPECT_NE(result.out.find("errors: 5, replies: 105"), std::string::npos)
    << result.describe();
  EXPECT_NE(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(is_integer(run({"DBSIZE"}), 100));
}

TEST_F(RedisCli, InfoKeyspaceShowsTheKeyCount) {
  ASSERT_TRUE(is_status(run({"MSET", "a", "1", "b", "2", "c", "3"}), "OK"));
  auto result = run_redis_cli(port(), {"INFO", "keyspace"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_NE(result.out.find("# Keyspace"), std::string::npos) << result.describe();
  EXPECT_NE(result.out.find("db0:keys=3,expires=0,avg_ttl=0"), std::string::npos)
    << result.describe();
}

TEST_F(RedisCli, DbsizeAfterFlushallIsZero) {
  ASSERT_TRUE(is_status(run({"MSET", "a", "1", "b", "2"}), "OK"));
  auto flush = run_redis_cli(port(), {"FLUSHALL"});
  EXPECT_EQ(flush.out, "OK\n") << flush.describe();
  auto size = run_redis_cli(port(), {"DBSIZE"});
  EXPECT_EQ(size.exit_code, 0) << size.describe();
  EXPECT_EQ(size.out, "0\n") << size.describe();
}

} // namespace
} // namespace stairkv::testing
