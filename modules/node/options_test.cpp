#include "modules/node/options.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace stairkv::node;

namespace {

bool parse(std::vector<std::string> args, options& out, std::string& error) {
  args.insert(args.begin(), "stairkv-server");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), out, error);
}

} // namespace

TEST(Options, DefaultsAreRedisDefaults) {
  options o;
  std::string error;
  ASSERT_TRUE(parse({}, o, error));
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_EQ(o.maxmemory_policy, "noeviction");
  EXPECT_EQ(o.caf_port, 0);
}

TEST(Options, AcceptsEqualsAndSpaceForms) {
  options o;
  std::string error;
  ASSERT_TRUE(parse({"--port=7000", "--stairs", "4", "--shard-placement=scheduler"},
                    o, error))
    << error;
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.stairs, 4u);
  EXPECT_EQ(o.shard_placement, "scheduler");
}

TEST(Options, RejectsUnknownNamesAndBadValuesByName) {
  options o;
  std::string error;
  EXPECT_FALSE(parse({"--nosuch=1"}, o, error));
  EXPECT_NE(error.find("nosuch"), std::string::npos);
  EXPECT_FALSE(parse({"--port=70000"}, o, error));
  EXPECT_NE(error.find("port"), std::string::npos);
  EXPECT_FALSE(parse({"--stairs=0"}, o, error));
  EXPECT_FALSE(parse({"--stairs=13"}, o, error));
  EXPECT_FALSE(parse({"--maxmemory-policy=sometimes"}, o, error));
  EXPECT_FALSE(parse({"--port"}, o, error));
}

TEST(Options, MemoryAmountsTakeRedisUnits) {
  std::int64_t n = 0;
  ASSERT_TRUE(parse_memory("100", n));
  EXPECT_EQ(n, 100);
  ASSERT_TRUE(parse_memory("1k", n));
  EXPECT_EQ(n, 1000);
  ASSERT_TRUE(parse_memory("1kb", n));
  EXPECT_EQ(n, 1024);
  ASSERT_TRUE(parse_memory("40MB", n));
  EXPECT_EQ(n, 40 * 1024 * 1024);
  ASSERT_TRUE(parse_memory("2gb", n));
  EXPECT_EQ(n, 2LL * 1024 * 1024 * 1024);
  EXPECT_FALSE(parse_memory("mb", n));
  EXPECT_FALSE(parse_memory("10 tb", n));
  EXPECT_FALSE(parse_memory("99999999999999999gb", n));
}

TEST(Options, ConfigFileLinesThenCommandLineWins) {
  auto path = testing::TempDir() + "/stairkv-options-test.conf";
  {
    std::ofstream f{path};
    f << "# a comment\n\nport 7001\nmaxmemory-policy \"allkeys-lru\"\nstairs 2\n";
  }
  options o;
  std::string error;
  ASSERT_TRUE(parse({path, "--stairs=5"}, o, error)) << error;
  EXPECT_EQ(o.config_file, path);
  EXPECT_EQ(o.port, 7001);
  EXPECT_EQ(o.maxmemory_policy, "allkeys-lru");
  EXPECT_EQ(o.stairs, 5u);
  std::remove(path.c_str());
}

TEST(Options, ConfigFileErrorsNameTheLine) {
  auto path = testing::TempDir() + "/stairkv-options-bad.conf";
  {
    std::ofstream f{path};
    f << "port 7001\nbogus 1\n";
  }
  options o;
  std::string error;
  EXPECT_FALSE(parse({path}, o, error));
  EXPECT_NE(error.find(":2:"), std::string::npos) << error;
  std::remove(path.c_str());
}

TEST(Options, ConfigListAnswersCurrentValues) {
  options o;
  o.port = 1234;
  bool found = false;
  for (auto& [name, value] : o.as_config())
    if (name == "port") {
      found = true;
      EXPECT_EQ(value, "1234");
    }
  EXPECT_TRUE(found);
}

TEST(Options, CafSettingsPassThroughUnchanged) {
  options o;
  std::string error;
  ASSERT_TRUE(parse({"--caf.middleman.max-consecutive-reads=1"}, o, error)) << error;
  ASSERT_EQ(o.caf_settings.size(), 1u);
  EXPECT_EQ(o.caf_settings[0].first, "middleman.max-consecutive-reads");
  EXPECT_EQ(o.caf_settings[0].second, "1");
}

TEST(Options, OutputLimitsTakeRedisGroupsAndChangeOnlyTheClassesNamed) {
  stairkv::gateway::client_limits limits;
  ASSERT_TRUE(parse_output_limits("pubsub 1mb 256kb 10", limits));
  EXPECT_EQ(limits.pubsub.hard_bytes, 1 << 20);
  EXPECT_EQ(limits.pubsub.soft_bytes, 256 << 10);
  EXPECT_EQ(limits.pubsub.soft_seconds, 10);
  EXPECT_FALSE(limits.normal.enabled());
  ASSERT_TRUE(parse_output_limits("normal 4mb 0 0 replica 1gb 1gb 0", limits));
  EXPECT_EQ(limits.normal.hard_bytes, 4 << 20);
  EXPECT_EQ(limits.pubsub.hard_bytes, 1 << 20);
  EXPECT_EQ(output_limits_to_string(limits),
            "normal 4194304 0 0 slave 268435456 67108864 60 pubsub 1048576 262144 10");
  auto before = output_limits_to_string(limits);
  EXPECT_FALSE(parse_output_limits("pubsub 1mb 256kb", limits));
  EXPECT_FALSE(parse_output_limits("pubsub 1mb 256kb 10 normal x 0 0", limits));
  EXPECT_FALSE(parse_output_limits("master 1 1 1", limits));
  EXPECT_FALSE(parse_output_limits("", limits));
  EXPECT_EQ(output_limits_to_string(limits), before);
}

TEST(Options, NotifyKeyspaceEventsAreCheckedAndShownTheRedisWay) {
  options o;
  std::string error;
  EXPECT_FALSE(parse({"--notify-keyspace-events=Kq"}, o, error));
  ASSERT_TRUE(parse({"--notify-keyspace-events=KEA"}, o, error)) << error;
  bool listed = false;
  for (const auto& [name, value] : o.as_config()) {
    if (name == "notify-keyspace-events") {
      listed = true;
      EXPECT_EQ(value, "AKE");
    }
  }
  EXPECT_TRUE(listed);
}
