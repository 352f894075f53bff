#pragma once

// The bytes of a compact value (compact_hash.hpp, compact_set.hpp): its entry
// count as a varint, then its items, packed (packed.hpp): two an entry for a
// hash (field, value), one for a set (the member).

#include <cstddef>
#include <string_view>

#include "modules/values/packed.hpp"

namespace stairkv::values {

class compact_items {
public:
  explicit compact_items(std::string_view bytes) noexcept;

  std::size_t count() const noexcept {
    return count_;
  }

  // The items, from the first on.
  packed_reader items() const noexcept {
    return packed_reader{bytes_.substr(start_)};
  }

  // Whether the bytes are well formed: the count, then exactly that many
  // entries of `width` items, nothing after, no entry's first item twice
  // (what a loader checks before it trusts them).
  static bool valid(std::string_view bytes, std::size_t width);

private:
  std::string_view bytes_;
  std::size_t count_ = 0;
  std::size_t start_ = 0;
};

} // namespace stairkv::values
