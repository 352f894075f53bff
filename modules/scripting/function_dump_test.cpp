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
