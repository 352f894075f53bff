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

bool compact_set::contains(std::string_view member) const noexcept {
  auto reader = items_.items();
  std::string_view m;
  while (reader.next(m))
    if (m == member)
      return true;
  return false;
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

bool compact_set_edit::erase(std::string_view member) {
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
