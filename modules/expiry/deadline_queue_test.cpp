#include "modules/expiry/deadline_queue.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using stairkv::expiry::deadline_queue;

namespace {

std::vector<std::pair<long, std::string>> drain(deadline_queue& q, long now,
                                                std::size_t limit = 1000000) {
  std::vector<std::pair<long, std::string>> out;
  q.pop_due(now, limit, [&](const deadline_queue::entry& e) {
    out.emplace_back(e.deadline, e.key);
  });
  return out;
}

} // namespace

TEST(DeadlineQueue, HandsOutDueEntriesEarliestFirstAndNothingEarly) {
  deadline_queue q;
  q.add("c", 30);
  q.add("a", 10);
  q.add("b", 20);
  q.add("late", 1000);
  EXPECT_EQ(q.earliest(), 10);
  EXPECT_TRUE(drain(q, 9).empty());
  auto due = drain(q, 30);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].second, "a");
  EXPECT_EQ(due[1].second, "b");
  EXPECT_EQ(due[2].second, "c");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.earliest(), 1000);
}

TEST(DeadlineQueue, KeysWithTheSameDeadlineAreAllHandedOut) {
  deadline_queue q;
  for (int i = 0; i < 100; ++i)
    q.add("k" + std::to_string(i), 50);
  auto due = drain(q, 50);
  EXPECT_EQ(due.size(), 100u);
  EXPECT_TRUE(q.empty());
}

TEST(DeadlineQueue, ALimitBoundsOneCall) {
  deadline_queue q;
  for (int i = 0; i < 10; ++i)
    q.add("k" + std::to_string(i), i);
  EXPECT_EQ(drain(q, 100, 4).size(), 4u);
  EXPECT_EQ(q.earliest(), 4);
  EXPECT_EQ(drain(q, 100).size(), 6u);
}

TEST(DeadlineQueue, RandomDeadlinesComeOutSorted) {
  deadline_queue q;
  std::mt19937 rng{7};
  for (int i = 0; i < 20000; ++i)
    q.add("k" + std::to_string(i), static_cast<long>(rng() % 100000));
  auto due = drain(q, 100000);
  ASSERT_EQ(due.size(), 20000u);
  for (std::size_t i = 1; i < due.size(); ++i)
    ASSERT_LE(due[i - 1].first, due[i].first);
}

TEST(DeadlineQueue, RebuildKeepsOnlyTheLiveDeadlines) {
  deadline_queue q;
  q.add("a", 10);
  q.add("a", 20); // reset: the first entry is stale now
  q.add("gone", 5);
  q.rebuild([](auto add) { add("a", 20); });
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.earliest(), 20);
}

TEST(DeadlineQueue, VisitsExactlyTheDueEntriesWithoutTakingThem) {
  deadline_queue q;
  std::mt19937 rng{7};
  std::uniform_int_distribution<long> when{1, 1000};
  std::size_t due = 0;
  for (int i = 0; i < 5000; ++i) {
    auto d = when(rng);
    if (d <= 300)
      ++due;
    q.add("k" + std::to_string(i), d);
  }
  std::size_t seen = 0;
  q.for_each_due(300, 1000000, [&](const deadline_queue::entry& e) {
    EXPECT_LE(e.deadline, 300);
    ++seen;
  });
  EXPECT_EQ(seen, due);
  EXPECT_EQ(q.size(), 5000u);
  std::size_t capped = 0;
  q.for_each_due(300, 10, [&](const deadline_queue::entry&) { ++capped; });
  EXPECT_EQ(capped, 10u);
  std::size_t none = 0;
  q.for_each_due(0, 1000000, [&](const deadline_queue::entry&) { ++none; });
  EXPECT_EQ(none, 0u);
}
