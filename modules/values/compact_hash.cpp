#include "modules/values/compact_hash.hpp"

#include <algorithm>

#include "modules/values/packed.hpp"

namespace stairkv::values {

bool compact_hash::find(std::string_view field, std::string_view& value) const noexcept {
  auto reader = items_.items();
  std::string_view f, v;
  while (reader.next(f) && reader.next(v))
    if (f == field) {
      value = v;
      return true;
    }
  return false;
}

compact_hash_edit::compact_hash_edit(std::string_view bytes, std::vector<field_value>& pairs)
  : pairs_(pairs) {
  pairs_.clear();
  compact_hash view{bytes};
  pairs_.reserve(view.size() + 1);
  view.for_each([&](std::string_view f, std::string_view v) { pairs_.emplace_back(f, v); });
}

bool compact_hash_edit::set(std::string_view field, std::string_view value) {
  for (auto& pair : pairs_)
    if (pair.first == field) {
      pair.second = value;
      return false;
    }
  pairs_.emplace_back(field, value);
  return true;
}

bool compact_hash_edit::erase(std::string_view field) {
  auto it = std::find_if(pairs_.begin(), pairs_.end(),
                         [&](const field_value& p) { return p.first == field; });
  if (it == pairs_.end())
    return false;
  pairs_.erase(it); // keeps the others' order, as a listpack does
  return true;
}

void compact_hash_edit::write(std::string& out) const {
  out.clear();
  append_varint(out, pairs_.size());
  for (const auto& [field, value] : pairs_) {
    append_item(out, field);
    append_item(out, value);
  }
}

} // namespace stairkv::values
