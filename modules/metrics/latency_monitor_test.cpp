#include "modules/metrics/latency_monitor.hpp"

#include <gtest/gtest.h>

using stairkv::metrics::latency_monitor;

TEST(LatencyMonitor, RecordsNothingUntilAThresholdIsSetAndOnlyWhatPassesIt) {
  latency_monitor m;
  m.record("command", 500, 100);
  EXPECT_TRUE(m.snapshot().empty());
  m.set_threshold_ms(100);
  m.record("command", 99, 100);
  EXPECT_TRUE(m.snapshot().empty());
  m.record("command", 100, 100);
  auto events = m.snapshot();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events["command"].samples.size(), 1u);
  EXPECT_EQ(events["command"].samples[0].millis, 100);
  EXPECT_EQ(events["command"].samples[0].unix_seconds, 100);
}

TEST(LatencyMonitor, KeepsTheLargestOfEachSecondAndTheLastHistoryLengthSeconds) {
  latency_monitor m;
  m.set_threshold_ms(1);
  m.record("expire-cycle", 5, 10);
  m.record("expire-cycle", 9, 10);
  m.record("expire-cycle", 3, 10);
  auto s = m.snapshot()["expire-cycle"];
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].millis, 9);
  for (std::int64_t t = 11; t < 11 + 200; ++t)
    m.record("expire-cycle", t, t);
  s = m.snapshot()["expire-cycle"];
  ASSERT_EQ(s.samples.size(), latency_monitor::history_length);
  EXPECT_EQ(s.samples.front().unix_seconds, 11 + 200 - 160);
  EXPECT_EQ(s.samples.back().unix_seconds, 210);
  EXPECT_EQ(s.max_millis, 210);
}

TEST(LatencyMonitor, ResetForgetsTheNamedEventsOrAllAndCountsThem) {
  latency_monitor m;
  m.set_threshold_ms(1);
  m.record("a", 5, 1);
  m.record("b", 5, 1);
  m.record("c", 5, 1);
  EXPECT_EQ(m.reset({"b", "nope"}), 1u);
  EXPECT_EQ(m.snapshot().size(), 2u);
  EXPECT_EQ(m.reset({}), 2u);
  EXPECT_TRUE(m.snapshot().empty());
}
