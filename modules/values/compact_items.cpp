#include "modules/values/compact_items.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace stairkv::values {

compact_items::compact_items(std::string_view bytes) noexcept : bytes_(bytes) {
  std::uint64_t count = 0;
  std::size_t pos = 0;
  if (read_varint(bytes, pos, count)) {
    count_ = static_cast<std::size_t>(count);
    start_ = pos;
  } else {
    start_ = bytes.size();
  }
}

bool compact_items::valid(std::string_view bytes, std::size_t width) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_varint(bytes, pos, count) || count > bytes.size())
    return false;
  packed_reader reader{bytes.substr(pos)};
  std::vector<std::string_view> firsts;
  firsts.reserve(static_cast<std::size_t>(count));
  std::string_view item;
  for (std::uint64_t i = 0; i < count; ++i)
    for (std::size_t j = 0; j < width; ++j) {
      if (!reader.next(item))
        return false;
      if (j == 0)
        firsts.push_back(item);
    }
  if (reader.position() != bytes.size() - pos)
    return false; // bytes after the last entry
  std::sort(firsts.begin(), firsts.end());
  return std::adjacent_find(firsts.begin(), firsts.end()) == firsts.end();
}

} // namespace stairkv::values
