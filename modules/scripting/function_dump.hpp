#pragma once

// FUNCTION DUMP's payload, in Redis 7's layout: for every library its
// FUNCTION2 opcode (245) and its code as an RDB string, then the RDB version
// (2 bytes, little-endian) and a CRC64 (Jones polynomial, as Redis computes
// it; 8 bytes, little-endian) of all that precedes it. Codes are written
// uncompressed, which Redis reads too; codes Redis compressed (LZF, as it does
// for codes over 20 bytes) are read too.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::scripting {

// Redis's CRC64 (crc64("123456789") == 0xe9c6d914c4b8d9ca).
std::uint64_t crc64(std::uint64_t crc, std::string_view bytes);

std::string dump_libraries(const std::vector<std::string>& codes);

// The libraries' codes in `payload`, or false with Redis's error text.
bool read_library_dump(std::string_view payload, std::vector<std::string>& codes,
                       std::string& error);

} // namespace stairkv::scripting
