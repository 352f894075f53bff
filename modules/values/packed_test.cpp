#include "modules/values/packed.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace stairkv::values;

TEST(Packed, ItemsComeBackInOrderWithAnyBytes) {
  std::string bytes;
  std::vector<std::string> items{"", "a", std::string(200, 'x'), std::string("\0\r\n", 3)};
  for (const auto& item : items)
    append_item(bytes, item);
  packed_reader reader{bytes};
  std::string_view item;
  std::vector<std::string> back;
  while (reader.next(item))
    back.emplace_back(item);
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(back, items);
}

TEST(Packed, VarintsRoundTripAndTheirSizeIsKnown) {
  for (std::uint64_t n : {0ull, 127ull, 128ull, 16383ull, 16384ull, ~0ull}) {
    std::string bytes;
    append_varint(bytes, n);
    EXPECT_EQ(bytes.size(), varint_size(n));
    std::size_t pos = 0;
    std::uint64_t back = 0;
    ASSERT_TRUE(read_varint(bytes, pos, back));
    EXPECT_EQ(back, n);
    EXPECT_EQ(pos, bytes.size());
  }
}

TEST(Packed, AnItemRunningPastTheEndIsMalformed) {
  std::string bytes;
  append_item(bytes, "hello");
  bytes.pop_back();
  packed_reader reader{bytes};
  std::string_view item;
  EXPECT_FALSE(reader.next(item));
  EXPECT_FALSE(reader.ok());
}

#include "modules/values/dump.hpp"

TEST(DumpPayload, RoundTripsAndRefusesAnyChangedByte) {
  auto payload = dump_payload(1, std::string("\x01\x01" "f" "\x01" "v", 5));
  std::uint8_t type = 0;
  std::string_view bytes;
  ASSERT_TRUE(read_dump_payload(payload, type, bytes));
  EXPECT_EQ(type, 1);
  EXPECT_EQ(bytes, std::string_view("\x01\x01" "f" "\x01" "v", 5));
  for (std::size_t i = 0; i < payload.size(); ++i) {
    auto changed = payload;
    changed[i] = static_cast<char>(changed[i] ^ 0x20);
    EXPECT_FALSE(read_dump_payload(changed, type, bytes)) << "byte " << i;
  }
  EXPECT_FALSE(read_dump_payload("short", type, bytes));
  EXPECT_TRUE(read_dump_payload(dump_payload(0, ""), type, bytes));
  EXPECT_TRUE(bytes.empty());
}
