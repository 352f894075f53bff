#include "modules/scripting/function_dump.hpp"

#include <gtest/gtest.h>

using namespace stairkv::scripting;

TEST(FunctionDump, Crc64IsRedisOwn) {
  EXPECT_EQ(crc64(0, "123456789"), 0xe9c6d914c4b8d9caull);
  EXPECT_EQ(crc64(0, ""), 0u);
}

TEST(FunctionDump, LibrariesComeBackAsTheyWent) {
  std::vector<std::string> codes{"#!lua name=a\nreturn 1", std::string(70, 'x'),
                                 std::string(20000, 'y'), ""};
  auto payload = dump_libraries(codes);
  // Opcode, a one-byte length, the code; then version 10 and the CRC.
  EXPECT_EQ(static_cast<unsigned char>(payload[0]), 245);
  EXPECT_EQ(static_cast<unsigned char>(payload[1]), codes[0].size());
  EXPECT_EQ(payload.substr(payload.size() - 10, 2), std::string("\x0a\x00", 2));
  std::vector<std::string> back;
  std::string error;
  ASSERT_TRUE(read_library_dump(payload, back, error)) << error;
  EXPECT_EQ(back, codes);
  ASSERT_TRUE(read_library_dump(dump_libraries({}), back, error)) << error;
  EXPECT_TRUE(back.empty());
}

TEST(FunctionDump, DamagedPayloadsAreRefusedWithRedisWords) {
  std::vector<std::string> codes;
  std::string error;
  EXPECT_FALSE(read_library_dump("bad_payload", codes, error));
  EXPECT_EQ(error, "ERR DUMP payload version or checksum are wrong");
  auto payload = dump_libraries({"#!lua name=a\nreturn 1"});
  for (std::size_t i = 0; i < payload.size(); ++i) {
    auto damaged = payload;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    EXPECT_FALSE(read_library_dump(damaged, codes, error)) << i;
  }
  // A length running past the end, behind a correct checksum.
  std::string body = "\xf5\x3f" "abc";
  body += std::string("\x0a\x00", 2);
  auto crc = crc64(0, body);
  for (int i = 0; i < 8; ++i)
    body.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  EXPECT_FALSE(read_library_dump(body, codes, error));
  EXPECT_EQ(error, "ERR failed loading the given functions payload");
}

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

} // namespace

// Payloads taken from redis-server 7.0.15 (Debian's) with FUNCTION DUMP: one
// stored plainly, one LZF-compressed (Redis compresses codes over 20 bytes when
// that saves room).
TEST(FunctionDump, PayloadsFromRedisItselfAreRead) {
  std::vector<std::string> codes;
  std::string error;
  auto plain = from_hex(
    "f5406a23216c7561206e616d653d6d796c69620a72656469732e72656769737465725f66756e6374696f6e28"
    "276d7966756e63272c2066756e6374696f6e286b6579732c2061726773292072657475726e202768656c6c6f"
    "2066726f6d2061206c6962726172792720656e64290a0005f6b6eaeb54a739");
  ASSERT_TRUE(read_library_dump(plain, codes, error)) << error;
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes[0], "#!lua name=mylib\nredis.register_function('myfunc', function(keys, "
                      "args) return 'hello from a library' end)");
  auto compressed = from_hex(
    "f5c3406041951923216c7561206e616d653d6269670a2d2d206162636465666768e0ff07e12707190a726564"
    "69732e72656769737465725f66756e6374696f6e2827216002272c20e0000f19292072657475726e2027636f"
    "6d707265737365642720656e64290a00fd2bd389b2ee1315");
  ASSERT_TRUE(read_library_dump(compressed, codes, error)) << error;
  ASSERT_EQ(codes.size(), 1u);
  std::string expected = "#!lua name=big\n-- ";
  for (int i = 0; i < 40; ++i)
    expected += "abcdefgh";
  expected += "\nredis.register_function('big', function() return 'compressed' end)";
  EXPECT_EQ(codes[0], expected);
  // Our own dump of it is read by the same reader (and by Redis: plain strings).
  std::vector<std::string> again;
  ASSERT_TRUE(read_library_dump(dump_libraries(codes), again, error)) << error;
  EXPECT_EQ(again, codes);
}
