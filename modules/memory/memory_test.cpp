#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "modules/memory/budget.hpp"
#include "modules/memory/policy.hpp"

namespace stairkv::memory {
namespace {

TEST(Policy, ParsesRedisNamesInAnyCaseAndPrintsThemBack) {
  const char* names[] = {"noeviction",     "allkeys-lru",     "allkeys-lfu",
                         "allkeys-random", "volatile-lru",    "volatile-lfu",
                         "volatile-random", "volatile-ttl"};
  for (const char* name : names) {
    policy p{};
    ASSERT_TRUE(parse_policy(name, p)) << name;
    EXPECT_STREQ(to_string(p), name);
  }
  policy p{};
  ASSERT_TRUE(parse_policy("AllKeys-LRU", p));
  EXPECT_EQ(p, policy::allkeys_lru);
  EXPECT_FALSE(parse_policy("allkeys", p));
  EXPECT_FALSE(parse_policy("", p));
}

TEST(Policy, RankingsAndVolatileOnly) {
  EXPECT_EQ(ranking_of(policy::noeviction), ranking::none);
  EXPECT_EQ(ranking_of(policy::volatile_lru), ranking::lru);
  EXPECT_EQ(ranking_of(policy::allkeys_lfu), ranking::lfu);
  EXPECT_EQ(ranking_of(policy::volatile_random), ranking::random);
  EXPECT_EQ(ranking_of(policy::volatile_ttl), ranking::ttl);
  EXPECT_TRUE(volatile_only(policy::volatile_ttl));
  EXPECT_FALSE(volatile_only(policy::allkeys_lru));
  EXPECT_FALSE(volatile_only(policy::noeviction));
}

TEST(Access, LruIdleIsMillisecondsAndSurvivesTheWrap) {
  std::int64_t t = 1'700'000'000'000;
  auto stamp = lru_stamp(t);
  EXPECT_EQ(lru_idle(stamp, t), 0u);
  EXPECT_EQ(lru_idle(stamp, t + 1), 1u);
  EXPECT_EQ(lru_idle(stamp, t + 86'400'000), 86'400'000u);
  // A stamp just before the 32-bit wrap, read just after it.
  std::int64_t before_wrap = (std::int64_t{1} << 32) * 400 - 5;
  EXPECT_EQ(lru_idle(lru_stamp(before_wrap), before_wrap + 10), 10u);
}

TEST(Access, LfuStartsAtInitialGrowsLogarithmicallyAndDecays) {
  lfu_settings s;
  std::int64_t t = 1'700'000'000'000;
  auto info = lfu_fresh(t);
  EXPECT_EQ(lfu_count(info, t, s), lfu_initial);
  // A draw of 0 always counts; a draw near 1 counts only while the chance is 1.
  info = lfu_touch(info, t, 0, s);
  EXPECT_EQ(lfu_count(info, t, s), lfu_initial + 1);
  auto same = lfu_touch(info, t, ~std::uint64_t{0}, s);
  EXPECT_EQ(lfu_count(same, t, s), lfu_initial + 1);
  // Many accesses with varied draws: grows, but far slower than the accesses.
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    info = lfu_touch(info, t, x, s);
  }
  auto count = lfu_count(info, t, s);
  EXPECT_GT(count, lfu_initial + 5);
  EXPECT_LT(count, 60);
  // One point per decay period without access, down to zero.
  EXPECT_EQ(lfu_count(info, t + 3 * 60'000, s), count - 3);
  EXPECT_EQ(lfu_count(info, t + 1000 * 60'000, s), 0);
  lfu_settings never;
  never.decay_minutes = 0;
  EXPECT_EQ(lfu_count(info, t + 1000 * 60'000, never), count);
}

TEST(Budget, LimitLessOverheadIsWhatTablesMayHold) {
  budget b;
  EXPECT_FALSE(b.over_limit()); // no limit
  b.add_dataset(1000);
  b.refresh(); // the overhead: whatever this process uses beyond the 1000
  EXPECT_GE(b.overhead(), 0);
  EXPECT_EQ(b.used(), b.overhead() + 1000);
  b.set_limit(b.used() + 500);
  EXPECT_FALSE(b.over_limit());
  EXPECT_EQ(b.dataset_limit(), 1500);
  b.add_dataset(600);
  EXPECT_TRUE(b.over_limit());
  b.add_dataset(-600);
  EXPECT_FALSE(b.over_limit());
  b.set_limit(1);
  EXPECT_EQ(b.dataset_limit(), b.overhead() > 0 ? 0 : 1);
}

TEST(Budget, RefusesGrowthOnlyOnAFreshReading) {
  if (read_allocator(false).allocated == 0)
    GTEST_SKIP() << "this allocator keeps no statistics";
  budget b;
  // A reading taken while 8 MB were held for a moment (a deep pipeline's
  // replies) overstates the rest of the process once they are let go.
  auto transient = std::make_unique<std::vector<char>>(8 << 20, 'x');
  EXPECT_EQ((*transient)[12345], 'x');
  b.refresh();
  transient.reset();
  b.set_limit(b.used() - (2 << 20));
  EXPECT_TRUE(b.over_limit()); // by the last reading
  EXPECT_FALSE(b.refuses_growth(1)); // read again: there is room
  EXPECT_FALSE(b.over_limit());
  // Memory that is really held past the limit is refused.
  std::vector<char> held(8 << 20, 'x');
  EXPECT_EQ(held[12345], 'x');
  b.refresh();
  EXPECT_TRUE(b.refuses_growth(2));
  // Other policies make room instead of refusing up front.
  b.set_policy(policy::allkeys_lru);
  EXPECT_FALSE(b.refuses_growth(3));
}

TEST(Budget, PeakAndEvictedCounts) {
  budget b;
  b.add_dataset(4096);
  auto allocated = b.refresh();
  EXPECT_GE(allocated, 4096);
  EXPECT_EQ(b.peak(), allocated);
  EXPECT_GT(read_allocator().resident, 0);
  b.add_evicted(3);
  b.add_evicted(4);
  EXPECT_EQ(b.evicted(), 7);
  b.reset_stats();
  EXPECT_EQ(b.evicted(), 0);
}

TEST(Budget, AllocatorFiguresGrowWithAllocations) {
  auto before = read_allocator();
  std::vector<std::vector<char>> blocks;
  for (int i = 0; i < 64; ++i)
    blocks.emplace_back(64 * 1024, 'x');
  auto after = read_allocator();
  // A sanitizer's allocator reports nothing; the budget then counts the tables only.
  if (before.allocated == 0 && after.allocated == 0)
    GTEST_SKIP() << "this allocator keeps no statistics";
  EXPECT_GE(after.allocated - before.allocated, 64 * 64 * 1024);
}

} // namespace
} // namespace stairkv::memory
