#include "modules/tracking/key_table.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace stairkv::tracking {
namespace {

std::set<std::pair<std::uint64_t, std::string>> pairs(const invalidations& log) {
  std::set<std::pair<std::uint64_t, std::string>> out;
  for (const auto& e : log.entries)
    out.emplace(e.client, std::string{log.key(e)});
  return out;
}

TEST(TrackingKeyTable, ChangeTellsEachClientOnceThenForgets) {
  auto shared = std::make_shared<settings>();
  key_table table{shared};
  table.remember("a", 7);
  table.remember("a", 7);
  table.remember("a", 9);
  table.remember("b", 7);
  EXPECT_EQ(shared->keys.load(), 2);
  EXPECT_EQ(shared->items.load(), 3);
  invalidations log;
  table.changed("a", 0, log);
  EXPECT_EQ(pairs(log), (std::set<std::pair<std::uint64_t, std::string>>{{7, "a"}, {9, "a"}}));
  invalidations again;
  table.changed("a", 0, again);
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(shared->keys.load(), 1);
  EXPECT_EQ(shared->items.load(), 1);
}

TEST(TrackingKeyTable, NoloopWriterIsSkippedButForgotten) {
  key_table table;
  table.remember("k", 1);
  table.remember("k", 2);
  invalidations log;
  table.changed("k", 1, log);
  EXPECT_EQ(pairs(log), (std::set<std::pair<std::uint64_t, std::string>>{{2, "k"}}));
  EXPECT_TRUE(table.empty());
}

TEST(TrackingKeyTable, TrimKeepsTheSharedBoundAcrossTables) {
  auto shared = std::make_shared<settings>();
  key_table one{shared};
  key_table two{shared};
  for (int i = 0; i < 50; ++i) {
    one.remember("one" + std::to_string(i), 1);
    two.remember("two" + std::to_string(i), 2);
  }
  EXPECT_EQ(shared->keys.load(), 100);
  shared->max_keys = 30;
  invalidations log;
  auto gone = one.trim(log);
  EXPECT_EQ(gone, 50u); // all of its own, and still above the bound
  EXPECT_EQ(log.entries.size(), 50u);
  invalidations more;
  EXPECT_EQ(two.trim(more), 20u);
  EXPECT_EQ(shared->keys.load(), 30);
  EXPECT_EQ(shared->items.load(), 30);
  EXPECT_EQ(two.size(), 30u);
}

TEST(TrackingKeyTable, ClearAndDestructionGiveBackTheirCounts) {
  auto shared = std::make_shared<settings>();
  {
    key_table table{shared};
    table.remember("x", 1);
    table.remember("y", 1);
    table.remember("y", 2);
    table.clear();
    EXPECT_EQ(shared->keys.load(), 0);
    EXPECT_EQ(shared->items.load(), 0);
    table.remember("z", 3);
  }
  EXPECT_EQ(shared->keys.load(), 0);
  EXPECT_EQ(shared->items.load(), 0);
}

} // namespace
} // namespace stairkv::tracking
