#include "benchmarks/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace stairkv::bench {
namespace {

TEST(Histogram, IsEmptyUntilSomethingIsRecorded) {
  histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, CountsSmallValuesExactly) {
  for (std::uint64_t v = 0; v < 2 * histogram::sub_bucket_count; ++v) {
    histogram h;
    h.record(v);
    EXPECT_EQ(h.percentile(50), v);
    EXPECT_EQ(histogram::bucket_lowest(histogram::bucket_index(v)), v);
    EXPECT_EQ(histogram::bucket_highest(histogram::bucket_index(v)), v);
  }
}

TEST(Histogram, BucketsTileTheWholeRangeWithoutGapsOrOverlaps) {
  EXPECT_EQ(histogram::bucket_lowest(0), 0u);
  for (std::size_t i = 1; i < histogram::bucket_count; ++i) {
    ASSERT_EQ(histogram::bucket_lowest(i), histogram::bucket_highest(i - 1) + 1) << i;
  }
  EXPECT_EQ(histogram::bucket_highest(histogram::bucket_count - 1), UINT64_MAX);
  EXPECT_EQ(histogram::bucket_index(UINT64_MAX), histogram::bucket_count - 1);
}

TEST(Histogram, EveryValueLandsInTheBucketThatContainsIt) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    // Spread over every magnitude, not just the top few.
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::size_t index = histogram::bucket_index(v);
    ASSERT_LT(index, histogram::bucket_count);
    ASSERT_LE(histogram::bucket_lowest(index), v);
    ASSERT_GE(histogram::bucket_highest(index), v);
  }
}

TEST(Histogram, ReportsEveryValueWithinOnePercent) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = 1 + (rng() >> (rng() % 64));
    const std::size_t index = histogram::bucket_index(v);
    const double width = static_cast<double>(histogram::bucket_highest(index) -
                                             histogram::bucket_lowest(index));
    ASSERT_LE(width / static_cast<double>(v), 0.01) << v;

    histogram h;
    h.record(v);
    h.record(v * 2 > v ? v * 2 : v);  // a larger value, so max does not clamp p50
    const auto p = h.percentile(50);
    ASSERT_GE(p, v);
    ASSERT_LE(static_cast<double>(p - v) / static_cast<double>(v), 0.01) << v;
  }
}

TEST(Histogram, PercentilesOfOneToOneThousand) {
  histogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 1000u);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_EQ(h.percentile(100), 1000u);
  // The exact answers are 500, 900, 990 and 999; each may be over-reported by at
  // most its bucket's width, never under-reported.
  const struct {
    double percent;
    std::uint64_t exact;
  } cases[] = {{50, 500}, {90, 900}, {99, 990}, {99.9, 999}};
  for (const auto& c : cases) {
    const auto got = h.percentile(c.percent);
    EXPECT_GE(got, c.exact) << c.percent;
    EXPECT_LE(static_cast<double>(got), c.exact * 1.01) << c.percent;
  }
}

TEST(Histogram, PercentilesOfASkewedDistribution) {
  // 990 fast requests of 100 us and 10 slow ones of 50 ms: p99 is still fast,
  // p99.9 is slow.
  histogram h;
  h.record(100'000, 990);
  h.record(50'000'000, 10);
  EXPECT_LE(h.percentile(50), 101'000u);
  EXPECT_LE(h.percentile(99), 101'000u);
  EXPECT_GE(h.percentile(99.1), 50'000'000u);
  EXPECT_EQ(h.percentile(99.9), 50'000'000u);
  EXPECT_EQ(h.max(), 50'000'000u);
}

TEST(Histogram, PercentilesOfUniformRandomValuesMatchTheSortedValues) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint64_t> dist(1'000, 10'000'000);
  std::vector<std::uint64_t> values;
  histogram h;
  for (int i = 0; i < 50000; ++i) {
    values.push_back(dist(rng));
    h.record(values.back());
  }
  std::sort(values.begin(), values.end());
  for (double percent : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9}) {
    const auto exact = values[static_cast<std::size_t>(percent / 100 * values.size()) - 1];
    const auto got = h.percentile(percent);
    EXPECT_GE(got, exact) << percent;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.01) << percent;
  }
}

TEST(Histogram, MaxAndMinAreExact) {
  histogram h;
  h.record(123'456'789);
  h.record(987'654'321);
  h.record(5'000);
  EXPECT_EQ(h.max(), 987'654'321u);
  EXPECT_EQ(h.min(), 5'000u);
  EXPECT_EQ(h.percentile(100), 987'654'321u);
}

TEST(Histogram, MergingEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(5);
  histogram a, b, all;
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t v = rng() % 5'000'000;
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double percent : {10.0, 50.0, 90.0, 99.0, 99.99})
    EXPECT_EQ(a.percentile(percent), all.percentile(percent)) << percent;
}

TEST(Histogram, MergingAnEmptyHistogramChangesNothing) {
  histogram a, empty;
  a.record(42);
  a.merge(empty);
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(a.min(), 42u);
  EXPECT_EQ(a.max(), 42u);
  empty.merge(a);
  EXPECT_EQ(empty.min(), 42u);
}

TEST(Histogram, NonzeroBucketsRebuildTheSamePercentiles) {
  histogram original;
  for (std::uint64_t v = 1000; v < 200000; v += 37) original.record(v);
  histogram rebuilt;
  for (const auto& b : original.nonzero_buckets()) rebuilt.record_bucket(b.index, b.count);
  EXPECT_EQ(rebuilt.count(), original.count());
  for (double percent : {50.0, 90.0, 99.0})
    EXPECT_EQ(rebuilt.percentile(percent), original.percentile(percent)) << percent;
}

TEST(Histogram, ResetForgetsEverything) {
  histogram h;
  h.record(10);
  h.record(1'000'000);
  h.reset();
  EXPECT_TRUE(h.empty());
  EXPECT_TRUE(h.nonzero_buckets().empty());
  h.record(7);
  EXPECT_EQ(h.min(), 7u);
  EXPECT_EQ(h.max(), 7u);
}

}  // namespace
}  // namespace stairkv::bench
