#pragma once

// A small hash in one run of bytes (Redis's listpack idea): its field count as
// a varint, then each field and its value as packed items (packed.hpp), in the
// order they were added. A shard keeps these bytes as the key's value itself,
// so a hash of a few fields costs one allocation; the same bytes are every
// hash's serialisation (records, RENAME), whatever its encoding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/values/compact_items.hpp"

namespace stairkv::values {

// Redis's thresholds (hash-max-listpack-entries, hash-max-listpack-value): a
// hash with more fields, or a field or value longer, takes the large encoding.
struct hash_limits {
  std::size_t max_compact_entries = 128;
  std::size_t max_compact_value = 64;

  bool fit(std::string_view field, std::string_view value) const noexcept {
    return field.size() <= max_compact_value && value.size() <= max_compact_value;
  }
};

using field_value = std::pair<std::string_view, std::string_view>;

// The bytes of a hash with no field.
inline std::string_view empty_compact_hash() noexcept {
  return {"\0", 1};
}

// Reads compact bytes. A view: the bytes must outlive it.
class compact_hash {
public:
  explicit compact_hash(std::string_view bytes) noexcept : items_(bytes) {
  }

  std::size_t size() const noexcept {
    return items_.count();
  }

  bool find(std::string_view field, std::string_view& value) const noexcept;

  template <class F>
  void for_each(F&& f) const {
    auto reader = items_.items();
    std::string_view field, value;
    while (reader.next(field) && reader.next(value))
      f(field, value);
  }

  // Whether the bytes are well formed: the count, then exactly that many
  // pairs, no field twice (what a loader checks before it trusts them).
  static bool valid(std::string_view bytes) {
    return compact_items::valid(bytes, 2);
  }

private:
  compact_items items_;
};

// Changes a compact hash: reads its pairs once (views into the old bytes and
// into whatever the new fields and values are taken from), then writes the
// new bytes out. `pairs` is reused from change to change.
class compact_hash_edit {
public:
  compact_hash_edit(std::string_view bytes, std::vector<field_value>& pairs);

  // True when the field is new.
  bool set(std::string_view field, std::string_view value);
  bool erase(std::string_view field);

  std::size_t size() const noexcept {
    return pairs_.size();
  }

  const std::vector<field_value>& pairs() const noexcept {
    return pairs_;
  }

  // The changed hash's bytes, into `out` (cleared first; not a buffer the
  // pairs point into).
  void write(std::string& out) const;

private:
  std::vector<field_value>& pairs_;
};

} // namespace stairkv::values
