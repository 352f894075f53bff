#include "benchmarks/timeline.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stairkv::bench {
namespace {

constexpr std::int64_t ms = 1'000'000;

TEST(Timeline, OneRowPerIntervalWithOpsRateAndP99) {
  interval_recorder recorder;
  // Interval 0: 100 replies of 50 us; interval 2: 1000 replies, 1% of them 5 ms.
  for (int i = 0; i < 100; ++i) recorder.at(10 * ms).record(50'000);
  for (int i = 0; i < 990; ++i) recorder.at(250 * ms).record(100'000);
  for (int i = 0; i < 10; ++i) recorder.at(299 * ms).record(5'000'000);
  const auto rows = build_timeline({recorder.finish()}, 300 * ms);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].t_ms, 0);
  EXPECT_EQ(rows[0].ops, 100u);
  EXPECT_DOUBLE_EQ(rows[0].ops_per_sec, 1000.0);
  EXPECT_NEAR(rows[0].p99_us, 50.0, 0.5);
  EXPECT_EQ(rows[1].t_ms, 100);
  EXPECT_EQ(rows[1].ops, 0u);
  EXPECT_EQ(rows[1].p99_us, 0.0);
  EXPECT_EQ(rows[2].t_ms, 200);
  EXPECT_EQ(rows[2].ops, 1000u);
  EXPECT_NEAR(rows[2].p99_us, 100.0, 1.0);
}

TEST(Timeline, MergesThreadsIntervalByInterval) {
  interval_recorder a, b;
  for (int i = 0; i < 98; ++i) a.at(5 * ms).record(10'000);
  for (int i = 0; i < 2; ++i) b.at(50 * ms).record(900'000);
  for (int i = 0; i < 7; ++i) b.at(150 * ms).record(10'000);
  const auto rows = build_timeline({a.finish(), b.finish()}, 200 * ms);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].ops, 100u);
  // p99 of the merged interval is the slow thread's latency.
  EXPECT_NEAR(rows[0].p99_us, 900.0, 9.0);
  EXPECT_EQ(rows[1].ops, 7u);
}

TEST(Timeline, TheLastIntervalIsRatedOverItsActualLength) {
  interval_recorder recorder;
  for (int i = 0; i < 50; ++i) recorder.at(120 * ms).record(1000);
  const auto rows = build_timeline({recorder.finish()}, 125 * ms);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].ops, 50u);
  EXPECT_DOUBLE_EQ(rows[1].ops_per_sec, 50 / 0.025);
}

TEST(Timeline, NoRepliesStillGivesRowsForTheRun) {
  const auto rows = build_timeline({{}, {}}, 250 * ms);
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) EXPECT_EQ(row.ops, 0u);
}

}  // namespace
}  // namespace stairkv::bench
