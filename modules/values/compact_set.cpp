#include "modules/values/compact_set.hpp"

#include <algorithm>
#include <cstdint>

#include "modules/values/packed.hpp"

namespace stairkv::values {

bool is_integer_member(std::string_view member) noexcept {
  // Redis's string2ll: an optional '-', digits without a leading zero (0 alone
  // is fine), at most 20 characters, within 64 bits.
  if (member.empty() || member.size() > 20)
    return false;
  std::size_t i = 0;
  bool negative = member[0] == '-';
  if (negative && member.size() == 1)
    return false;
  i = negative ? 1 : 0;
  if (member[i] == '0')
    return member.size() == 1;
  std::uint64_t value = 0;
  for (; i < member.size(); ++i) {
    char c = member[i];
    if (c < '0' || c > '9')
      return false;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (~std::uint64_t{0} - digit) / 10)
      return false;
    value = value * 10 + digit;
  }
  return negative ? value <= (std::uint64_t{1} << 63) : value < (std::uint64_t{1} << 63);
}

compact_set::compact_set(std::string_view bytes) noexcept : bytes_(bytes) {
  std::uint64_t count = 0;
  std::size_t pos = 0;
  if (read_varint(bytes, pos, count)) {
    count_ = static_cast<std::size_t>(count);
    start_ = pos;
  } else {
    start_ = bytes.size();
  }
}

bool compact_set::next(std::size_t& pos, std::string_view& member) const noexcept {
  if (pos >= bytes_.size())
    return false;
  packed_reader reader{bytes_.substr(pos)};
  if (!reader.next(member))
    return false;
  pos += reader.position();
  return true;
}

bool compact_set::contains(std::string_view member) const noexcept {
  auto pos = start_;
  std::string_view m;
  while (next(pos, m))
    if (m == member)
      return true;
  return false;
}

bool compact_set::valid(std::string_view bytes) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_varint(bytes, pos, count) || count > bytes.size())
    return false;
  packed_reader reader{bytes.substr(pos)};
  std::vector<std::string_view> members;
  members.reserve(static_cast<std::size_t>(count));
  std::string_view member;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!reader.next(member))
      return false;
    members.push_back(member);
  }
  if (reader.position() != bytes.size() - pos)
    return false;
  std::sort(members.begin(), members.end());
  return std::adjacent_find(members.begin(), members.end()) == members.end();
}

compact_set_edit::compact_set_edit(std::string_view bytes,
                                   std::vector<std::string_view>& members)
  : members_(members) {
  members_.clear();
  compact_set view{bytes};
  members_.reserve(view.size() + 1);
  view.for_each([&](std::string_view m) { members_.push_back(m); });
}

bool compact_set_edit::add(std::string_view member) {
  if (std::find(members_.begin(), members_.end(), member) != members_.end())
    return false;
  members_.push_back(member);
  return true;
}

bool compact_set_edit::remove(std::string_view member) {
  auto it = std::find(members_.begin(), members_.end(), member);
  if (it == members_.end())
    return false;
  members_.erase(it);
  return true;
}

bool compact_set_edit::fits(const set_limits& limits) const noexcept {
  bool integers = std::all_of(members_.begin(), members_.end(), is_integer_member);
  if (integers && members_.size() <= limits.max_intset_entries)
    return true;
  return members_.size() <= limits.max_compact_entries
         && std::all_of(members_.begin(), members_.end(), [&](std::string_view m) {
              return m.size() <= limits.max_compact_value;
            });
}

void compact_set_edit::write(std::string& out) const {
  out.clear();
  append_varint(out, members_.size());
  for (auto member : members_)
    append_item(out, member);
}

} // namespace stairkv::values
