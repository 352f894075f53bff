#include "modules/shard/record_set.hpp"
#include "modules/values/hash_table.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace stairkv::shard;

TEST(RecordSet, InsertedRecordsAreFoundByTheirKeyBytes) {
  record_set s;
  std::string key{"a\0b", 3};
  auto* r = s.insert(key, "value", 42);
  EXPECT_EQ(r->key(), key);
  EXPECT_EQ(r->value(), "value");
  EXPECT_EQ(r->deadline, 42);
  EXPECT_EQ(s.find(key), r);
  EXPECT_EQ(s.find(std::string{"a\0c", 3}), nullptr);
  EXPECT_EQ(s.size(), 1u);
}

TEST(RecordSet, AssignKeepsKeyAndDeadlineWhetherOrNotTheRecordMoves) {
  record_set s;
  auto* r = s.insert("k", "ab", 7);
  r = s.assign(r, "x");
  EXPECT_EQ(s.find("k")->value(), "x");
  std::string big(10000, 'z');
  r = s.assign(r, big);
  EXPECT_EQ(s.find("k"), r);
  EXPECT_EQ(r->value(), big);
  EXPECT_EQ(r->key(), "k");
  EXPECT_EQ(r->deadline, 7);
  r = s.assign(r, "");
  EXPECT_EQ(s.find("k")->value(), "");
}

TEST(RecordSet, RepeatedAppendsBuildTheWholeValue) {
  record_set s;
  auto* r = s.insert("k", "", no_deadline);
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    auto piece = std::to_string(i);
    r = s.append(r, piece);
    expected += piece;
  }
  EXPECT_EQ(s.find("k"), r);
  EXPECT_EQ(r->value(), expected);
}

TEST(RecordSet, ManyKeysSurviveTableGrowthAndErase) {
  record_set s;
  for (int i = 0; i < 100000; ++i)
    s.insert("key:" + std::to_string(i), std::to_string(i * 3), no_deadline);
  EXPECT_EQ(s.size(), 100000u);
  for (int i = 0; i < 100000; i += 2)
    s.erase(s.find("key:" + std::to_string(i)));
  EXPECT_EQ(s.size(), 50000u);
  for (int i = 0; i < 100000; ++i) {
    auto* r = s.find("key:" + std::to_string(i));
    if (i % 2 == 0) {
      EXPECT_EQ(r, nullptr);
    } else {
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->value(), std::to_string(i * 3));
    }
  }
  std::size_t seen = 0;
  s.for_each([&](const record&) { ++seen; });
  EXPECT_EQ(seen, 50000u);
  s.clear();
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.find("key:1"), nullptr);
}

TEST(RecordSet, ASmallValueDoesNotKeepABigBlock) {
  record_set set;
  auto* r = set.insert("k", std::string(100000, 'a'), no_deadline);
  auto big = set.memory();
  r = set.assign(r, std::string(33000, 'b'));
  EXPECT_EQ(r->value(), std::string(33000, 'b'));
  EXPECT_LT(set.memory(), big - 60000);
  EXPECT_LT(record_set::footprint(r), 42000);
  // A value of about the same size reuses the block.
  auto* same = set.assign(r, std::string(32990, 'c'));
  EXPECT_EQ(same, r);
}

TEST(RecordSet, ATypeTagStaysWithItsRecordThroughMovesAndOtherRemovals) {
  record_set s;
  auto* plain = s.insert("plain", "v", 0);
  EXPECT_EQ(plain->type(), value_type::string);
  auto* tagged = s.insert("tagged", "12345678", 0, value_type::sorted_set);
  auto* last = s.insert("last", "v", 0, value_type::hash);
  EXPECT_EQ(tagged->type(), value_type::sorted_set);
  // A move to a bigger block keeps the tag it is given (and the position, for
  // RANDOMKEY); a value assigned without one is a string.
  tagged = s.assign(tagged, std::string(5000, 'x'), value_type::sorted_set);
  EXPECT_EQ(tagged->type(), value_type::sorted_set);
  tagged = s.append(tagged, std::string(20000, 'y'));
  EXPECT_EQ(tagged->type(), value_type::sorted_set);
  // Erasing another key moves the last record into its position: tags stay put.
  s.erase(plain);
  EXPECT_EQ(s.find("last"), last);
  EXPECT_EQ(last->type(), value_type::hash);
  EXPECT_EQ(s.find("tagged")->type(), value_type::sorted_set);
  bool dense_ok = true;
  for (std::size_t i = 0; i < s.size(); ++i)
    dense_ok = dense_ok && s.find(s.at(i)->key()) == s.at(i);
  EXPECT_TRUE(dense_ok);
  EXPECT_STREQ(type_name(value_type::sorted_set), "zset");
  EXPECT_STREQ(type_name(value_type::string), "string");
  auto* plain_again = s.assign(s.find("last"), "now a string");
  EXPECT_EQ(plain_again->type(), value_type::string);
}

TEST(RecordSet, AContainerIsCountedFreedAndReplaced) {
  record_set s;
  auto* r = s.insert("h", "", 0, value_type::hash);
  auto before = s.memory();
  auto* fields = new stairkv::values::hash_table();
  for (int i = 0; i < 100; ++i)
    fields->set("field" + std::to_string(i), std::string(40, 'v'));
  auto container = fields->bytes();
  r = s.assign_container(r, value_type::hash, fields);
  EXPECT_TRUE(r->holds_container());
  EXPECT_EQ(r->container<stairkv::values::hash_table>(), fields);
  EXPECT_GE(s.memory(), before + container - 64);
  EXPECT_GE(record_set::footprint(r), container);
  // The table grows in place: the set is told, and counts it.
  auto grown_from = fields->bytes();
  fields->set("more", std::string(1000, 'w'));
  s.container_resized(fields->bytes() - grown_from);
  auto full = s.memory();
  // A string replaces the container (freed: ASan and valgrind would see a leak).
  r = s.assign(r, "plain");
  EXPECT_FALSE(r->holds_container());
  EXPECT_EQ(r->type(), value_type::string);
  EXPECT_LT(s.memory(), full - container);
  r = s.assign_container(r, value_type::hash, new stairkv::values::hash_table());
  s.erase(r);
  EXPECT_EQ(s.size(), 0u);
}
