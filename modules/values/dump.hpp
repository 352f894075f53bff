#pragma once

// DUMP's payload, in stairkv's own format: the value's type (one byte), its
// serialised bytes (a string's bytes, a hash's compact form), the format
// version (two bytes, little-endian) and an XXH64 checksum of all that (eight
// bytes, little-endian). RESTORE takes back only payloads that pass both.

#include <cstdint>
#include <string>
#include <string_view>

namespace stairkv::values {

inline constexpr std::uint16_t dump_version = 1;

std::string dump_payload(std::uint8_t type, std::string_view bytes);

// The type and bytes of a payload; false when its version or checksum is not
// this build's.
bool read_dump_payload(std::string_view payload, std::uint8_t& type, std::string_view& bytes);

} // namespace stairkv::values
