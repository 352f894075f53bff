#include "benchmarks/expiry_probe.hpp"

#include <gtest/gtest.h>

namespace stairkv::bench {
namespace {

TEST(ExpiryProbe, RecognisesItsOwnKeysOnly) {
  std::uint64_t index = 0;
  ASSERT_TRUE(probe_key_index("exp:000000000042", 100, index));
  EXPECT_EQ(index, 42u);
  EXPECT_FALSE(probe_key_index("exp:000000000100", 100, index));  // beyond this run
  EXPECT_FALSE(probe_key_index("key:000000000042", 100, index));
  EXPECT_FALSE(probe_key_index("exp:00000000004x", 100, index));
  EXPECT_FALSE(probe_key_index("exp:42", 100, index));
  EXPECT_FALSE(probe_key_index("", 100, index));
}

TEST(ExpiryProbe, LatenessPercentilesAreNearestRank) {
  std::vector<double> lateness;
  for (int i = 1; i <= 100; ++i) lateness.push_back(i);
  lateness.push_back(-3);  // one early event
  const auto s = summarize_lateness(lateness);
  EXPECT_EQ(s.p50_ms, 50);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.max_ms, 100);
  EXPECT_EQ(s.min_ms, -3);
  EXPECT_NEAR(s.mean_ms, (5050.0 - 3) / 101, 1e-9);
}

TEST(ExpiryProbe, NoEventsGiveZeros) {
  const auto s = summarize_lateness({});
  EXPECT_EQ(s.p50_ms, 0);
  EXPECT_EQ(s.max_ms, 0);
}

}  // namespace
}  // namespace stairkv::bench
