#pragma once

// A list of byte strings in one buffer, each after its length as a varint
// (LEB128: 7 bits a byte, low first). What a shard operation carries when a
// command names several fields (HSET's pairs, HMGET's and HDEL's fields), and
// the entries of a compact hash (compact_hash.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stairkv::values {

inline void append_varint(std::string& out, std::uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

// Bytes append_varint writes for `n`.
inline std::size_t varint_size(std::uint64_t n) noexcept {
  std::size_t size = 1;
  while (n >= 0x80) {
    n >>= 7;
    ++size;
  }
  return size;
}

// Reads a varint at `pos`, moving past it; false when the bytes end inside one
// or it does not fit 64 bits.
inline bool read_varint(std::string_view in, std::size_t& pos, std::uint64_t& n) noexcept {
  n = 0;
  for (unsigned shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    auto byte = static_cast<unsigned char>(in[pos++]);
    n |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0)
      return true;
  }
  return false;
}

inline void append_item(std::string& out, std::string_view item) {
  append_varint(out, item.size());
  out.append(item.data(), item.size());
}

// Reads the items of a packed list in order. A malformed list (an item that
// runs past the end) reads as ending there: `ok()` tells it apart.
class packed_reader {
public:
  explicit packed_reader(std::string_view bytes) noexcept : bytes_(bytes) {
  }

  bool next(std::string_view& item) noexcept {
    if (pos_ >= bytes_.size())
      return false;
    std::uint64_t size = 0;
    if (!read_varint(bytes_, pos_, size) || size > bytes_.size() - pos_) {
      broken_ = true;
      pos_ = bytes_.size();
      return false;
    }
    item = bytes_.substr(pos_, size);
    pos_ += size;
    return true;
  }

  bool ok() const noexcept {
    return !broken_;
  }

  std::size_t position() const noexcept {
    return pos_;
  }

private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool broken_ = false;
};

} // namespace stairkv::values
