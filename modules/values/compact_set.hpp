#pragma once

// A small set in one run of bytes: its member count as a varint, then each
// member as a packed item (packed.hpp), in the order they were added. A shard
// keeps these bytes as the key's value itself while the set is small (Redis's
// intset and listpack idea); the same bytes are every set's serialisation
// (records, RENAME, DUMP), whatever its encoding.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "modules/values/compact_items.hpp"

namespace stairkv::values {

// Redis's thresholds: a set of integers only stays compact up to
// set-max-intset-entries members (its "intset"); any other up to
// set-max-listpack-entries members of at most set-max-listpack-value bytes
// (Redis 7.2's "listpack").
struct set_limits {
  std::size_t max_intset_entries = 512;
  std::size_t max_compact_entries = 128;
  std::size_t max_compact_value = 64;
};

// Whether a member reads as a 64-bit integer in Redis's strict form (what an
// intset holds).
bool is_integer_member(std::string_view member) noexcept;

// The bytes of a set with no member.
inline std::string_view empty_compact_set() noexcept {
  return {"\0", 1};
}

// Reads compact bytes. A view: the bytes must outlive it.
class compact_set {
public:
  explicit compact_set(std::string_view bytes) noexcept : items_(bytes) {
  }

  std::size_t size() const noexcept {
    return items_.count();
  }

  bool contains(std::string_view member) const noexcept;

  template <class F>
  void for_each(F&& f) const {
    auto reader = items_.items();
    std::string_view member;
    while (reader.next(member))
      f(member);
  }

  // Well formed: the count, exactly that many members, none twice.
  static bool valid(std::string_view bytes) {
    return compact_items::valid(bytes, 1);
  }

private:
  compact_items items_;
};

// Changes a compact set: its members read once (views into the old bytes and
// the new members' buffer), then written out. `members` is reused.
class compact_set_edit {
public:
  compact_set_edit(std::string_view bytes, std::vector<std::string_view>& members);

  bool add(std::string_view member);
  bool erase(std::string_view member);

  const std::vector<std::string_view>& members() const noexcept {
    return members_;
  }
  std::size_t size() const noexcept {
    return members_.size();
  }

  // Whether the set, as it is now, still fits the compact encoding.
  bool fits(const set_limits& limits) const noexcept;

  // The changed set's bytes into `out` (cleared first; not a buffer the
  // members point into).
  void write(std::string& out) const;

private:
  std::vector<std::string_view>& members_;
};

} // namespace stairkv::values
