#include "modules/engine_manager/resize_policy.hpp"

#include <gtest/gtest.h>

using namespace stairkv::engine_manager;

namespace {

resize_policy small_policy() {
  resize_policy p;
  p.grow_keys_per_shard = 1000;
  p.shrink_divisor = 4;
  p.grow_backlog_per_shard = 10;
  p.congested_samples = 3;
  p.max_stairs = 5;
  return p;
}

} // namespace

TEST(ResizeRules, GrowsOneStairWhenAverageKeysPassTheGrowthPoint) {
  resize_rules rules{small_policy()};
  EXPECT_EQ(rules.decide(1, {1000, 0}), 1u);
  EXPECT_EQ(rules.decide(1, {1001, 0}), 2u);
  // 3 shards hold up to 3000.
  EXPECT_EQ(rules.decide(2, {3000, 0}), 2u);
  EXPECT_EQ(rules.decide(2, {3001, 0}), 3u);
  // Even far past the point, one stair at a time.
  EXPECT_EQ(rules.decide(2, {1'000'000, 0}), 3u);
}

TEST(ResizeRules, NeverGrowsPastTheLastStair) {
  resize_rules rules{small_policy()};
  EXPECT_EQ(rules.decide(5, {1'000'000'000, 0}), 5u);
}

TEST(ResizeRules, GrowsWhenCongestedForSeveralSamplesInARow) {
  resize_rules rules{small_policy()};
  // 3 shards, backlog above 10 per shard: three samples in a row are needed.
  EXPECT_EQ(rules.decide(2, {100, 31}), 2u);
  EXPECT_EQ(rules.decide(2, {100, 31}), 2u);
  EXPECT_EQ(rules.decide(2, {100, 31}), 3u);
}

TEST(ResizeRules, AQuietSampleResetsCongestion) {
  resize_rules rules{small_policy()};
  EXPECT_EQ(rules.decide(2, {2000, 31}), 2u);
  EXPECT_EQ(rules.decide(2, {2000, 31}), 2u);
  EXPECT_EQ(rules.decide(2, {2000, 0}), 2u);
  EXPECT_EQ(rules.decide(2, {2000, 31}), 2u);
}

TEST(ResizeRules, ShrinksOnlyWellBelowTheGrowthPoint) {
  resize_rules rules{small_policy()};
  // From 3 stairs (7 shards) to 2 (3 shards): keys must be below 3 * 1000 / 4 = 750.
  EXPECT_EQ(rules.decide(3, {750, 0}), 3u);
  EXPECT_EQ(rules.decide(3, {749, 0}), 2u);
  EXPECT_EQ(rules.decide(1, {0, 0}), 1u);
}

TEST(ResizeRules, NoFlappingAroundEitherThreshold) {
  resize_rules rules{small_policy()};
  // Right after growing from 1 to 2 stairs at 1001 keys, neither rule fires.
  EXPECT_EQ(rules.decide(2, {1001, 0}), 2u);
  // Right after shrinking from 3 to 2 stairs at 749 keys, neither fires either.
  EXPECT_EQ(rules.decide(2, {749, 0}), 2u);
  for (std::uint64_t keys = 250; keys <= 3000; keys += 50)
    EXPECT_EQ(rules.decide(2, {keys, 0}), 2u) << keys;
}

TEST(ResizeRules, CongestionBlocksAShrink) {
  resize_rules rules{small_policy()};
  EXPECT_EQ(rules.decide(3, {10, 71}), 3u);
}
