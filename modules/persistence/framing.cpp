#include "modules/persistence/framing.hpp"

#include <xxhash.h>

namespace stairkv::persistence {

namespace {

constexpr std::size_t checksum_size = 4;
constexpr std::size_t max_varint_size = 10;

std::uint32_t checksum(std::string_view payload) {
  return static_cast<std::uint32_t>(XXH3_64bits(payload.data(), payload.size()));
}


// Reads a varint at `at`; returns the bytes it took, 0 if the input ends first,
// or max_varint_size + 1 when it is longer than any varint.
std::size_t get_varint(std::string_view in, std::size_t at, std::uint64_t& n) {
  n = 0;
  for (std::size_t i = 0; i < max_varint_size; ++i) {
    if (at + i >= in.size())
      return 0;
    auto byte = static_cast<unsigned char>(in[at + i]);
    n |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0)
      return i + 1;
  }
  return max_varint_size + 1;
}

} // namespace

void append_varint(std::string& out, std::uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

void append_frame(std::string& out, std::string_view payload) {
  append_varint(out, payload.size());
  out.append(payload.data(), payload.size());
  auto sum = checksum(payload);
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
}

const char* to_string(frame_status s) {
  switch (s) {
    case frame_status::ok:
      return "ok";
    case frame_status::end:
      return "end";
    case frame_status::torn:
      return "torn";
    case frame_status::corrupt:
      return "corrupt";
  }
  return "?";
}

frame_status frame_reader::next(std::string_view& payload) {
  if (position_ == bytes_.size())
    return frame_status::end;
  std::uint64_t length = 0;
  auto header = get_varint(bytes_, position_, length);
  if (header == 0)
    return frame_status::torn;
  if (header > max_varint_size || length > max_payload)
    return frame_status::corrupt;
  auto begin = position_ + header;
  auto left = bytes_.size() - begin;
  if (left < length + checksum_size)
    return frame_status::torn;
  payload = bytes_.substr(begin, length);
  std::uint32_t stored = 0;
  for (std::size_t i = 0; i < checksum_size; ++i)
    stored |= static_cast<std::uint32_t>(
                static_cast<unsigned char>(bytes_[begin + length + i]))
              << (8 * i);
  auto end = begin + length + checksum_size;
  if (stored != checksum(payload))
    // The last frame of the file is where a crash leaves half-written bytes;
    // anywhere else a bad checksum is damage.
    return end == bytes_.size() ? frame_status::torn : frame_status::corrupt;
  position_ = end;
  return frame_status::ok;
}

} // namespace stairkv::persistence
