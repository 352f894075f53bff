#include "modules/metrics/histogram.hpp"

#include <gtest/gtest.h>

namespace stairkv::metrics {
namespace {

using command_histogram = basic_histogram<6, 40>;

TEST(Histogram, ABoundedRangeCountsLargerValuesInItsLastBucket) {
  command_histogram h;
  EXPECT_EQ(command_histogram::bucket_count, (41u - 6u) * 64u);
  h.record(1000);
  h.record(std::uint64_t{1} << 50); // past 2^40
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(command_histogram::bucket_index(std::uint64_t{1} << 50),
            command_histogram::bucket_count - 1);
  // The largest value is reported as it was recorded, not as the bucket's bound.
  EXPECT_EQ(h.percentile(100), std::uint64_t{1} << 50);
  // 1000 lies in a bucket 8 wide ([1000, 1007]); min and max clamp the answer.
  EXPECT_GE(h.percentile(50), 1000u);
  EXPECT_LE(h.percentile(50), 1016u);
}

TEST(Histogram, PercentilesAreWithinTheBucketWidthAboveTheTruth) {
  command_histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v)
    h.record(v * 10);
  for (double p : {50.0, 99.0, 99.9}) {
    auto truth = static_cast<double>(p / 100.0 * 1000000.0);
    auto got = static_cast<double>(h.percentile(p));
    EXPECT_GE(got, truth - 10) << p;
    EXPECT_LE(got, truth * 1.016 + 10) << p;
  }
  h.reset();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.percentile(50), 0u);
}

} // namespace
} // namespace stairkv::metrics
