#include "modules/engine/layout.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace stairkv::engine;

TEST(Staircase, StairKHoldsTwoToTheKShards) {
  EXPECT_EQ(shards_in(1), 1u);
  EXPECT_EQ(shards_in(2), 3u);
  EXPECT_EQ(shards_in(3), 7u);
  EXPECT_EQ(shards_in(10), 1023u);
}

TEST(Staircase, EveryPositionIsInsideItsStair) {
  for (unsigned stairs = 1; stairs <= 8; ++stairs) {
    for (std::uint64_t i = 0; i < 5000; ++i) {
      auto pos = locate(hash_key("key:" + std::to_string(i)), stairs);
      ASSERT_LT(pos.stair, stairs);
      ASSERT_LT(pos.slot, std::size_t{1} << pos.stair);
      ASSERT_EQ(pos.shard, (std::size_t{1} << pos.stair) - 1 + pos.slot);
      ASSERT_LT(pos.shard, shards_in(stairs));
    }
  }
}

TEST(Staircase, ExtremeHashesLandOnTheFirstAndLastShard) {
  EXPECT_EQ(locate(0, 3).shard, 0u);
  auto last = locate(~std::uint64_t{0}, 3);
  EXPECT_EQ(last.shard, 6u);
  EXPECT_EQ(last.stair, 2u);
  EXPECT_EQ(last.slot, 3u);
}

TEST(Staircase, ASingleStairRoutesEverythingToOneShard) {
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(locate(hash_key(std::to_string(i)), 1).shard, 0u);
}

TEST(Staircase, KeysSpreadEvenlyOverAllShards) {
  constexpr unsigned stairs = 4; // 15 shards
  constexpr int keys = 150000;
  std::vector<int> counts(shards_in(stairs));
  for (int i = 0; i < keys; ++i)
    ++counts[locate(hash_key("user:" + std::to_string(i)), stairs).shard];
  double expected = static_cast<double>(keys) / counts.size();
  for (auto c : counts) {
    EXPECT_GT(c, expected * 0.9);
    EXPECT_LT(c, expected * 1.1);
  }
}

TEST(Staircase, RoutingIsAFunctionOfTheKeyBytes) {
  std::string a{"x\0y", 3};
  std::string b{"x\0z", 3};
  EXPECT_EQ(hash_key(a), hash_key(std::string{"x\0y", 3}));
  EXPECT_NE(hash_key(a), hash_key(b));
}

TEST(Staircase, OverlappingShardsCoverEveryKeyOfTheSource) {
  for (unsigned from = 1; from <= 5; ++from) {
    for (unsigned to : {from - 1, from + 1}) {
      if (to == 0)
        continue;
      for (std::uint64_t i = 0; i < 20000; ++i) {
        auto h = hash_key("k" + std::to_string(i) + "/" + std::to_string(from));
        auto source = locate(h, from).shard;
        auto target = locate(h, to).shard;
        auto range = overlapping_shards(source, from, to);
        ASSERT_LE(range.first, target);
        ASSERT_GE(range.last, target);
      }
    }
  }
}

TEST(Staircase, GrowingByOneStairSplitsASourceOverAtMostThreeTargets) {
  for (std::size_t s = 0; s < shards_in(4); ++s) {
    auto range = overlapping_shards(s, 4, 5);
    EXPECT_LE(range.last - range.first, 2u);
  }
  EXPECT_EQ(overlapping_shards(0, 1, 2).first, 0u);
  EXPECT_EQ(overlapping_shards(0, 1, 2).last, 2u);
}
