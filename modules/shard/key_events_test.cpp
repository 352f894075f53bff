#include "modules/shard/key_events.hpp"

#include <gtest/gtest.h>

using namespace stairkv::shard;

TEST(KeyEvents, LettersParseToClassesAndPrintInRedisOrder) {
  std::uint32_t flags = 0;
  ASSERT_TRUE(parse_notify_flags("Ex", flags));
  EXPECT_EQ(flags, notify_flag::keyevent | notify_flag::expired);
  EXPECT_EQ(notify_flags_to_string(flags), "xE");
  ASSERT_TRUE(parse_notify_flags("KEA", flags));
  EXPECT_EQ(notify_flags_to_string(flags), "AKE");
  ASSERT_TRUE(parse_notify_flags("g$lshzxetd", flags)); // every letter of A
  EXPECT_EQ(notify_flags_to_string(flags), "A");
  ASSERT_TRUE(parse_notify_flags("nmK", flags));
  EXPECT_EQ(notify_flags_to_string(flags), "nKm");
  ASSERT_TRUE(parse_notify_flags("", flags));
  EXPECT_EQ(flags, 0u);
  flags = 7;
  EXPECT_FALSE(parse_notify_flags("Eq", flags));
  EXPECT_EQ(flags, 7u); // unchanged on failure
}

TEST(KeyEvents, NothingIsRecordedWithoutADestination) {
  std::uint32_t flags = 0;
  ASSERT_TRUE(parse_notify_flags("A", flags));
  EXPECT_EQ(recorded_classes(flags), 0u);
  ASSERT_TRUE(parse_notify_flags("KA", flags));
  EXPECT_EQ(recorded_classes(flags), notify_flag::all);
  EXPECT_NE(recorded_classes(flags) & class_of(key_event::set), 0u);
  EXPECT_EQ(recorded_classes(flags) & class_of(key_event::new_key), 0u);
  EXPECT_EQ(recorded_classes(flags) & class_of(key_event::keymiss), 0u);
}

TEST(KeyEvents, TheLogKeepsOrderAndKeys) {
  key_event_log log;
  log.add(key_event::set, "a");
  log.add(key_event::del, std::string(300, 'b'));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log.key(log.entries[0]), "a");
  EXPECT_EQ(log.key(log.entries[1]), std::string(300, 'b'));
  EXPECT_EQ(event_name(log.entries[1].what), "del");
}

TEST(KeyEvents, SharesOfAGroupMergeInPlanOrderKeepingEachOperationsOwnOrder) {
  std::vector<key_event_log> shares(3);
  shares[0].add(key_event::set, "p0", 0);
  shares[0].add(key_event::set, "p3", 3);
  shares[1].add(key_event::expired, "p1-first", 1); // found expired, then set
  shares[1].add(key_event::set, "p1-then", 1);
  shares[1].add(key_event::del, "p4", 4);
  shares[2].add(key_event::incrby, "p2", 2); // shares[2] came last
  auto merged = merge_in_plan_order(shares);
  std::vector<std::string> keys;
  for (const auto& e : merged.entries)
    keys.emplace_back(merged.key(e));
  EXPECT_EQ(keys, (std::vector<std::string>{"p0", "p1-first", "p1-then", "p2", "p3", "p4"}));
  EXPECT_EQ(merged.entries[1].what, key_event::expired);
  EXPECT_EQ(merged.entries[5].what, key_event::del);
  EXPECT_TRUE(merge_in_plan_order({}).empty());
}
