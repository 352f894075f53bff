// Checks of the integration-test harness itself, with ordinary Unix programs
// standing in for the server.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/info.hpp"
#include "tests/support/raw_connection.hpp"
#include "tests/support/server_process.hpp"

namespace stairkv::testing {
namespace {

using namespace std::chrono_literals;

TEST(RunProcess, FeedsStdinAndCollectsStdoutStderrAndExitCode) {
  auto result = run_process({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"},
                            "hello\nworld\n", 30s);
  EXPECT_EQ(result.out, "hello\nworld\n");
  EXPECT_EQ(result.err, "oops\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.timed_out);
}

TEST(RunProcess, PassesLargeInputWhileDrainingLargeOutput) {
  std::string input(4 << 20, 'x');
  auto result = run_process({"/bin/cat"}, input, 60s);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.size(), input.size());
}

TEST(RunProcess, KillsAProgramThatOutlivesItsTimeout) {
  auto result = run_process({"/bin/sh", "-c", "exec sleep 60"}, "", 200ms);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.exit_code, 128 + 9);
}

TEST(RunProcess, ChildInheritsNoDescriptorsBeyondItsStdio) {
  // A descriptor deliberately left inheritable, as hiredis leaves its sockets.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  auto result = run_process({"/bin/ls", "/proc/self/fd"}, "", 30s);
  ::close(leaked);
  // ls itself holds the directory it lists as descriptor 3.
  EXPECT_EQ(result.out, "0\n1\n2\n3\n") << result.describe();
}

class ServerProcessWithBinary : public ::testing::Test {
protected:
  void use_binary(const char* path) {
    const char* old = std::getenv("STAIRKV_SERVER");
    saved_ = old ? std::optional<std::string>{old} : std::nullopt;
    ::setenv("STAIRKV_SERVER", path, 1);
  }

  void TearDown() override {
    if (saved_)
      ::setenv("STAIRKV_SERVER", saved_->c_str(), 1);
    else
      ::unsetenv("STAIRKV_SERVER");
  }

private:
  std::optional<std::string> saved_;
};

TEST_F(ServerProcessWithBinary, ReportsAServerThatExitsBeforeItIsReady) {
  // /bin/sh rejects the --port=0 option and exits with status 2.
  use_binary("/bin/sh");
  try {
    server_process server;
    FAIL() << "started although the binary exited at once";
  } catch (const std::runtime_error& ex) {
    std::string what = ex.what();
    EXPECT_NE(what.find("exited with status 2"), std::string::npos) << what;
    EXPECT_NE(what.find("--- server output ---"), std::string::npos) << what;
  }
}

TEST_F(ServerProcessWithBinary, RefusesAMissingBinary) {
  use_binary("/nonexistent/stairkv-server");
  EXPECT_THROW(server_process{}, std::runtime_error);
}

TEST(EncodeCommand, ProducesRespArrayOfBulkStrings) {
  EXPECT_EQ(encode_command({"SET", "k", std::string("a\0b", 3)}),
            std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
}

TEST(ParseInfo, SplitsSectionsAndFields) {
  auto info = parse_info("# Server\r\nredis_version:7.0.0\r\n\r\n# Keyspace\r\n"
                         "db0:keys=2,expires=0,avg_ttl=0\r\n");
  EXPECT_TRUE(info.has_section("server"));
  EXPECT_TRUE(info.has_section("Keyspace"));
  EXPECT_EQ(info.field("redis_version"), "7.0.0");
  EXPECT_EQ(info.sections["keyspace"]["db0"], "keys=2,expires=0,avg_ttl=0");
  EXPECT_EQ(info.integer_field("redis_version"), std::nullopt);
}

} // namespace
} // namespace stairkv::testing
