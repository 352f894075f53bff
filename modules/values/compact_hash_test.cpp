#include "modules/values/compact_hash.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace stairkv::values;

namespace {

std::map<std::string, std::string> contents(std::string_view bytes) {
  std::map<std::string, std::string> out;
  compact_hash{bytes}.for_each(
    [&](std::string_view f, std::string_view v) { out.emplace(f, v); });
  return out;
}

} // namespace

TEST(CompactHash, SetFindEraseKeepOrderAndCount) {
  std::vector<field_value> pairs;
  std::string bytes{empty_compact_hash()};
  std::string next;
  {
    compact_hash_edit edit{bytes, pairs};
    EXPECT_TRUE(edit.set("a", "1"));
    EXPECT_TRUE(edit.set("b", "2"));
    EXPECT_FALSE(edit.set("a", "3")); // replaced, not added
    edit.write(next);
  }
  bytes.swap(next);
  compact_hash view{bytes};
  EXPECT_EQ(view.size(), 2u);
  std::string_view value;
  ASSERT_TRUE(view.find("a", value));
  EXPECT_EQ(value, "3");
  EXPECT_FALSE(view.find("c", value));
  std::vector<std::string> order;
  view.for_each([&](std::string_view f, std::string_view) { order.emplace_back(f); });
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  {
    compact_hash_edit edit{bytes, pairs};
    EXPECT_TRUE(edit.erase("a"));
    EXPECT_FALSE(edit.erase("a"));
    edit.write(next);
  }
  EXPECT_EQ(contents(next), (std::map<std::string, std::string>{{"b", "2"}}));
  EXPECT_TRUE(compact_hash::valid(next));
}

TEST(CompactHash, ValidRefusesWrongCountsDuplicatesAndTrailingBytes) {
  std::vector<field_value> pairs;
  std::string bytes;
  compact_hash_edit edit{empty_compact_hash(), pairs};
  edit.set("f", "v");
  edit.set("g", "w");
  edit.write(bytes);
  EXPECT_TRUE(compact_hash::valid(bytes));
  EXPECT_TRUE(compact_hash::valid(empty_compact_hash()));
  EXPECT_FALSE(compact_hash::valid(""));
  auto trailing = bytes + "x";
  EXPECT_FALSE(compact_hash::valid(trailing));
  auto short_count = bytes;
  short_count[0] = 3;
  EXPECT_FALSE(compact_hash::valid(short_count));
  std::string twice;
  pairs = {{"f", "1"}, {"f", "2"}};
  compact_hash_edit{empty_compact_hash(), pairs}.write(twice);
  // (An edit reads its own bytes: build the duplicate by hand.)
  twice = std::string{"\x02\x01" "f" "\x01" "1" "\x01" "f" "\x01" "2", 9};
  EXPECT_FALSE(compact_hash::valid(twice));
}
