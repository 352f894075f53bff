#include "modules/values/compact_hash.hpp"

#include <algorithm>

#include "modules/values/packed.hpp"

namespace stairkv::values {

compact_hash::compact_hash(std::string_view bytes) noexcept : bytes_(bytes) {
  std::uint64_t count = 0;
  std::size_t pos = 0;
  if (read_varint(bytes, pos, count)) {
    count_ = static_cast<std::size_t>(count);
    start_ = pos;
  } else {
    start_ = bytes.size();
  }
}

bool compact_hash::next(std::size_t& pos, std::string_view& field,
                        std::string_view& value) const noexcept {
  if (pos >= bytes_.size())
    return false;
  packed_reader reader{bytes_.substr(pos)};
  if (!reader.next(field) || !reader.next(value))
    return false;
  pos += reader.position();
  return true;
}

bool compact_hash::find(std::string_view field, std::string_view& value) const noexcept {
  auto pos = start_;
  std::string_view f, v;
  while (next(pos, f, v))
    if (f == field) {
      value = v;
      return true;
    }
  return false;
}

bool compact_hash::valid(std::string_view bytes) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_varint(bytes, pos, count) || count > bytes.size())
    return false;
  packed_reader reader{bytes.substr(pos)};
  std::vector<std::string_view> fields;
  fields.reserve(static_cast<std::size_t>(count));
  std::string_view field, value;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!reader.next(field) || !reader.next(value))
      return false;
    fields.push_back(field);
  }
  if (reader.position() != bytes.size() - pos)
    return false; // bytes after the last pair
  std::sort(fields.begin(), fields.end());
  return std::adjacent_find(fields.begin(), fields.end()) == fields.end();
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
