#include "modules/tracking/prefixes.hpp"

#include <algorithm>

namespace stairkv::tracking {

namespace {

bool overlap(std::string_view a, std::string_view b) {
  auto n = std::min(a.size(), b.size());
  return a.compare(0, n, b.substr(0, n)) == 0;
}

} // namespace

std::string prefix_overlap_error(const std::vector<std::string>& existing,
                                 const std::vector<std::string>& added) {
  for (std::size_t i = 0; i < added.size(); ++i) {
    for (const auto& old : existing)
      if (overlap(added[i], old) && added[i] != old)
        return "ERR Prefix '" + added[i] + "' overlaps with an existing prefix '" + old
               + "'. Prefixes for a single client must not overlap.";
    for (std::size_t j = i + 1; j < added.size(); ++j)
      if (overlap(added[i], added[j]))
        return "ERR Prefix '" + added[i] + "' overlaps with another provided prefix '"
               + added[j] + "'. Prefixes for a single client must not overlap.";
  }
  return {};
}

void prefix_table::add(const std::string& prefix, std::uint64_t client, bool noloop) {
  auto& who = table_[prefix];
  for (auto& c : who)
    if (c.client == client) {
      c.noloop = noloop;
      return;
    }
  who.push_back(listener{client, noloop});
}

void prefix_table::remove(std::uint64_t client) {
  for (auto it = table_.begin(); it != table_.end();) {
    auto& who = it->second;
    who.erase(std::remove_if(who.begin(), who.end(),
                             [&](const listener& c) { return c.client == client; }),
              who.end());
    it = who.empty() ? table_.erase(it) : std::next(it);
  }
}

} // namespace stairkv::tracking
