#include "modules/values/compact_set.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace stairkv::values;

TEST(CompactSet, AddRemoveContainKeepOrderAndCheckTheLimits) {
  std::vector<std::string_view> members;
  std::string bytes{empty_compact_set()}, next;
  {
    compact_set_edit edit{bytes, members};
    EXPECT_TRUE(edit.add("1"));
    EXPECT_TRUE(edit.add("2"));
    EXPECT_FALSE(edit.add("1"));
    EXPECT_TRUE(edit.fits(set_limits{2, 0, 0})); // integers: the intset bound
    EXPECT_FALSE(edit.fits(set_limits{1, 1, 64}));
    edit.write(next);
  }
  bytes.swap(next);
  compact_set view{bytes};
  EXPECT_EQ(view.size(), 2u);
  EXPECT_TRUE(view.contains("2"));
  EXPECT_FALSE(view.contains("3"));
  EXPECT_TRUE(compact_set::valid(bytes));
  {
    compact_set_edit edit{bytes, members};
    EXPECT_TRUE(edit.add("word"));
    EXPECT_FALSE(edit.fits(set_limits{512, 2, 64})); // not all integers: 3 > 2
    EXPECT_TRUE(edit.erase("1"));
    EXPECT_FALSE(edit.erase("1"));
    edit.write(next);
  }
  std::vector<std::string> order;
  compact_set{next}.for_each([&](std::string_view m) { order.emplace_back(m); });
  EXPECT_EQ(order, (std::vector<std::string>{"2", "word"}));
  EXPECT_FALSE(compact_set::valid(next + "x"));
  EXPECT_FALSE(compact_set::valid(std::string{"\x02\x01" "a" "\x01" "a", 6}));
}

TEST(CompactSet, IntegerMembersAreRedisStrict) {
  for (auto yes : {"0", "-1", "42", "9223372036854775807", "-9223372036854775808"})
    EXPECT_TRUE(is_integer_member(yes)) << yes;
  for (auto no : {"", "-", "01", "+1", "1.0", " 1", "9223372036854775808", "abc", "-0"})
    EXPECT_FALSE(is_integer_member(no)) << no;
}
