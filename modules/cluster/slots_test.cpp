#include "modules/cluster/slots.hpp"

#include <gtest/gtest.h>

namespace stairkv::cluster {
namespace {

TEST(Slots, Crc16IsXmodem) {
  // The standard check value of CRC-16/XMODEM.
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(Slots, KnownKeysLandWhereRedisPutsThem) {
  // As Redis 7.0's CLUSTER KEYSLOT answers.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("key:000000000000"), key_slot("key:000000000000"));
  EXPECT_LT(key_slot("anything at all"), slot_count);
}

TEST(Slots, HashTagsFollowRedisRules) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(hashed_part("foo{}{bar}"), "foo{}{bar}"); // an empty tag: the whole key
  EXPECT_EQ(hashed_part("foo{{bar}}zap"), "{bar");    // up to the first } after {
  EXPECT_EQ(hashed_part("foo{bar}{zap}"), "bar");     // only the first tag counts
  EXPECT_EQ(hashed_part("{bar"), "{bar");             // no closing brace
  EXPECT_EQ(hashed_part("plain"), "plain");
}

} // namespace
} // namespace stairkv::cluster
