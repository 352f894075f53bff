#include "benchmarks/options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stairkv::bench {
namespace {

struct parsed {
  bool ok;
  options opts;
  std::string error;
};

parsed parse(std::vector<const char*> args) {
  args.insert(args.begin(), "stairkv-bench");
  parsed result;
  result.ok =
      parse_options(static_cast<int>(args.size()), args.data(), result.opts, result.error);
  return result;
}

TEST(Options, DefaultsReproduceTheReferenceRun) {
  const auto p = parse({});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.mode, run_mode::load);
  EXPECT_EQ(p.opts.host, "127.0.0.1");
  EXPECT_EQ(p.opts.port, 6379);
  EXPECT_EQ(p.opts.keys, 1'000'000u);
  EXPECT_EQ(p.opts.clients, 100u);
  EXPECT_EQ(p.opts.requests, 21'000'000u);
  EXPECT_EQ(p.opts.threads, 2u);
  EXPECT_EQ(p.opts.pipeline, 1u);
  EXPECT_EQ(p.opts.value_size, 16u);
  EXPECT_EQ(p.opts.duration_seconds, 0);
  EXPECT_EQ(format_ratio(p.opts.ratio), "1:1");
}

TEST(Options, ReadsNameEqualsValueAndNameSpaceValue) {
  const auto p = parse({"--port=7000", "--clients", "8", "--ratio=1:10", "--pipeline=16",
                        "--value-size=3", "--duration=2.5", "--out=/tmp/x", "--seed=9"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.port, 7000);
  EXPECT_EQ(p.opts.clients, 8u);
  EXPECT_EQ(p.opts.ratio.get, 10u);
  EXPECT_EQ(p.opts.pipeline, 16u);
  EXPECT_EQ(p.opts.value_size, 3u);
  EXPECT_DOUBLE_EQ(p.opts.duration_seconds, 2.5);
  EXPECT_EQ(p.opts.out_dir, "/tmp/x");
  EXPECT_EQ(p.opts.seed, 9u);
}

TEST(Options, QuickShrinksTheDefaultsButExplicitOptionsWin) {
  auto p = parse({"--quick"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.keys, quick_keys);
  EXPECT_EQ(p.opts.clients, quick_clients);
  EXPECT_EQ(p.opts.requests, quick_requests);
  EXPECT_EQ(p.opts.duration_seconds, quick_duration_seconds);

  p = parse({"--clients=10", "--quick"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.clients, 10u);
  EXPECT_EQ(p.opts.keys, quick_keys);
}

TEST(Options, FillPipelinesDeeplyUnlessToldOtherwise) {
  auto p = parse({"--fill", "--keys=10000"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.mode, run_mode::fill);
  EXPECT_EQ(p.opts.pipeline, fill_pipeline);
  EXPECT_EQ(p.opts.keys, 10000u);
  p = parse({"--pipeline=4", "--fill"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.pipeline, 4u);
}

TEST(Options, ExpiryTakesAKeyCountAndASpread) {
  auto p = parse({"--expiry=2000"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.mode, run_mode::expiry);
  EXPECT_EQ(p.opts.expiry_keys, 2000u);
  EXPECT_EQ(p.opts.expiry_spread_from_ms, 1000);
  EXPECT_EQ(p.opts.expiry_spread_to_ms, 3000);
  p = parse({"--expiry=5", "--expiry-spread-ms=0:250"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.expiry_spread_from_ms, 0);
  EXPECT_EQ(p.opts.expiry_spread_to_ms, 250);
}

TEST(Options, RejectsWhatItCannotHonour) {
  const std::vector<std::vector<const char*>> bad = {{"--port=0"},
                                                     {"--port=70000"},
                                                     {"--clients=0"},
                                                     {"--threads=0"},
                                                     {"--keys=0"},
                                                     {"--keys=1000000000001"},
                                                     {"--ratio=0:0"},
                                                     {"--ratio=1"},
                                                     {"--pipeline=0"},
                                                     {"--duration=-1"},
                                                     {"--duration=soon"},
                                                     {"--requests=1e6"},
                                                     {"--expiry=0"},
                                                     {"--expiry-spread-ms=3:1"},
                                                     {"--frobnicate=1"},
                                                     {"--quick=yes"},
                                                     {"positional"},
                                                     {"--port"},
                                                     {"--fill", "--expiry=10"}};
  for (const auto& args : bad) {
    const auto p = parse(args);
    EXPECT_FALSE(p.ok) << args[0];
    EXPECT_FALSE(p.error.empty()) << args[0];
  }
}

TEST(Options, ErrorsNameTheOption) {
  const auto p = parse({"--clients=many"});
  ASSERT_FALSE(p.ok);
  EXPECT_NE(p.error.find("--clients=many"), std::string::npos) << p.error;
}

TEST(Options, HelpIsAFlag) {
  const auto p = parse({"--help"});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.opts.help);
  EXPECT_NE(usage().find("--expiry-spread-ms"), std::string::npos);
}

}  // namespace
}  // namespace stairkv::bench
