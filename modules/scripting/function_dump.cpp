#include "modules/scripting/function_dump.hpp"

#include <array>

#include <liblzf/lzf.h>

namespace stairkv::scripting {

namespace {

constexpr unsigned char function_opcode = 245; // Redis's RDB_OPCODE_FUNCTION2
constexpr std::uint16_t rdb_version = 10;      // Redis 7.0's
// A compressed code says how long it is unpacked: believed up to this much.
constexpr std::uint64_t max_code_bytes = 512ull << 20;

// The table of the reflected Jones polynomial (0xad93d23594c935a9).
std::array<std::uint64_t, 256> make_table() {
  constexpr std::uint64_t reflected = 0x95ac9329ac4bc9b5ull;
  std::array<std::uint64_t, 256> table{};
  for (std::uint64_t i = 0; i < 256; ++i) {
    auto crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1) != 0 ? (crc >> 1) ^ reflected : crc >> 1;
    table[i] = crc;
  }
  return table;
}

void put_length(std::string& out, std::uint64_t n) {
  if (n < 64) {
    out.push_back(static_cast<char>(n));
  } else if (n < 16384) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else if (n <= 0xffffffffull) {
    out.push_back(static_cast<char>(0x80));
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xff));
  } else {
    out.push_back(static_cast<char>(0x81));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
}

// An RDB length at `pos`; false when it is an encoded (compressed or
// integer) string or runs past the end.
bool get_length(std::string_view in, std::size_t& pos, std::uint64_t& n) {
  if (pos >= in.size())
    return false;
  auto first = static_cast<unsigned char>(in[pos++]);
  auto kind = first >> 6;
  if (kind == 0) {
    n = first & 0x3f;
    return true;
  }
  if (kind == 1) {
    if (pos >= in.size())
      return false;
    n = (static_cast<std::uint64_t>(first & 0x3f) << 8) | static_cast<unsigned char>(in[pos++]);
    return true;
  }
  int bytes = first == 0x80 ? 4 : first == 0x81 ? 8 : 0;
  if (bytes == 0 || in.size() - pos < static_cast<std::size_t>(bytes))
    return false;
  n = 0;
  for (int i = 0; i < bytes; ++i)
    n = (n << 8) | static_cast<unsigned char>(in[pos++]);
  return true;
}

} // namespace

std::uint64_t crc64(std::uint64_t crc, std::string_view bytes) {
  static const auto table = make_table();
  for (unsigned char b : bytes)
    crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc;
}

std::string dump_libraries(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& code : codes) {
    out.push_back(static_cast<char>(function_opcode));
    put_length(out, code.size());
    out += code;
  }
  out.push_back(static_cast<char>(rdb_version & 0xff));
  out.push_back(static_cast<char>(rdb_version >> 8));
  auto crc = crc64(0, out);
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

bool read_library_dump(std::string_view payload, std::vector<std::string>& codes,
                       std::string& error) {
  codes.clear();
  if (payload.size() < 10) {
    error = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  auto footer = payload.size() - 10;
  auto version = static_cast<unsigned char>(payload[footer])
                 | (static_cast<unsigned>(static_cast<unsigned char>(payload[footer + 1])) << 8);
  std::uint64_t stored = 0;
  for (int i = 7; i >= 0; --i)
    stored = (stored << 8) | static_cast<unsigned char>(payload[footer + 2 + i]);
  if (version > rdb_version || crc64(0, payload.substr(0, footer + 2)) != stored) {
    error = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  std::size_t pos = 0;
  while (pos < footer) {
    if (static_cast<unsigned char>(payload[pos++]) != function_opcode) {
      error = "ERR given type is not a function";
      return false;
    }
    // An LZF-compressed string (Redis compresses codes over 20 bytes):
    // 0xc3, the compressed length, the length, the bytes.
    if (pos < footer && static_cast<unsigned char>(payload[pos]) == 0xc3) {
      ++pos;
      std::uint64_t packed = 0, size = 0;
      if (!get_length(payload, pos, packed) || !get_length(payload, pos, size)
          || packed > footer - pos || size > max_code_bytes) {
        error = "ERR failed loading the given functions payload";
        return false;
      }
      std::string code(size, '\0');
      if (size != 0
          && lzf_decompress(payload.data() + pos, static_cast<unsigned int>(packed), code.data(),
                            static_cast<unsigned int>(size))
               != size) {
        error = "ERR failed loading the given functions payload";
        return false;
      }
      codes.push_back(std::move(code));
      pos += packed;
      continue;
    }
    std::uint64_t n = 0;
    if (!get_length(payload, pos, n) || n > footer - pos) {
      error = "ERR failed loading the given functions payload";
      return false;
    }
    codes.emplace_back(payload.substr(pos, n));
    pos += n;
  }
  return true;
}

} // namespace stairkv::scripting
