#include <gtest/gtest.h>

#include <string>

#include "modules/persistence/records.pb.h"

using stairkv::persistence::KeyRecord;

TEST(KeyRecord, RoundTripsBinaryKeysValuesAndDeadlines) {
  KeyRecord in;
  in.set_key(std::string{"k\0\r\n", 4});
  in.set_value(std::string{"\xff\0v", 3});
  in.set_deadline_ms(1'764'000'000'123);
  std::string bytes;
  ASSERT_TRUE(in.SerializeToString(&bytes));
  KeyRecord out;
  ASSERT_TRUE(out.ParseFromString(bytes));
  EXPECT_EQ(out.key(), in.key());
  EXPECT_EQ(out.value(), in.value());
  EXPECT_EQ(out.deadline_ms(), 1'764'000'000'123);
}

TEST(KeyRecord, AKeyWithoutDeadlineReadsBackAsZero) {
  KeyRecord in;
  in.set_key("k");
  std::string bytes;
  in.SerializeToString(&bytes);
  KeyRecord out;
  ASSERT_TRUE(out.ParseFromString(bytes));
  EXPECT_EQ(out.deadline_ms(), 0);
}

TEST(KeyRecord, TruncatedBytesDoNotParse) {
  KeyRecord in;
  in.set_key(std::string(100, 'k'));
  in.set_value(std::string(100, 'v'));
  std::string bytes;
  in.SerializeToString(&bytes);
  KeyRecord out;
  EXPECT_FALSE(out.ParseFromString(bytes.substr(0, 50)) /* inside the key */);
}
