// The stock redis-benchmark runs against the server to completion without
// errors, and its traffic really reaches the keyspace. Speed is reported by
// the tool but never asserted.

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/hiredis_connection.hpp"
#include "tests/support/info.hpp"
#include "tests/support/server_fixture.hpp"

namespace stairkv::testing {
namespace {

// True if the -q output has a result line "<test>: <n> requests per second".
::testing::AssertionResult reports_result_for(const process_result& result,
                                              const std::string& test) {
  // Progress updates and results are separated by '\r' or '\n'.
  std::regex line{"(^|[\r\n]) *" + test + ": [0-9]+(\\.[0-9]+)? requests per second"};
  if (std::regex_search(result.out, line))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no \"" << test << ": ... requests per second\" line\n"
         << result.describe();
}

// redis-benchmark prints these when the server answers with errors, or when
// it cannot fetch the server's CONFIG at start.
::testing::AssertionResult has_no_errors(const process_result& result) {
  std::string all = result.out + result.err;
  for (const char* marker : {"ERR", "Error", "ERROR", "error"})
    if (all.find(marker) != std::string::npos)
      return ::testing::AssertionFailure()
             << "output mentions \"" << marker << "\"\n" << result.describe();
  return ::testing::AssertionSuccess();
}

using RedisBenchmark = server_test;

TEST_F(RedisBenchmark, SetAndGetRunToCompletionWithoutErrors) {
  auto result = run_redis_benchmark(
    port(), {"-q", "-n", "20000", "-c", "20", "-t", "set,get", "-r", "1000"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(reports_result_for(result, "SET"));
  EXPECT_TRUE(reports_result_for(result, "GET"));
  EXPECT_TRUE(has_no_errors(result));
  // 20000 SETs over 1000 random keys: almost surely all of them, at least
  // some of them, never more.
  auto size = integer_of(run({"DBSIZE"}));
  EXPECT_GT(size, 0);
  EXPECT_LE(size, 1000);
  auto info = parse_info(text_of(run({"INFO", "stats"})));
  EXPECT_GE(info.integer_field("total_commands_processed").value_or(0), 40000);
}

TEST_F(RedisBenchmark, PipelinedIncrementsAllLandOnTheCounter) {
  auto result = run_redis_benchmark(
    port(), {"-q", "-n", "20000", "-c", "10", "-P", "16", "-t", "incr,mset"});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(reports_result_for(result, "INCR"));
  EXPECT_TRUE(reports_result_for(result, "MSET \\(10 keys\\)"));
  EXPECT_TRUE(has_no_errors(result));
  // Without -r every INCR hits the one key "counter:__rand_int__".
  EXPECT_TRUE(is_bulk(run({"GET", "counter:__rand_int__"}), "20000"));
}

} // namespace
} // namespace stairkv::testing
