#include "modules/tracking/key_table.hpp"

#include <algorithm>

namespace stairkv::tracking {

void key_table::remember(std::string_view name, std::uint64_t client) {
  auto [it, fresh] = keys_.try_emplace(name);
  auto& who = it->second;
  if (std::find(who.begin(), who.end(), client) != who.end())
    return;
  who.push_back(client);
  count(fresh ? 1 : 0, 1);
}

void key_table::forget(map::iterator it) {
  count(-1, -static_cast<std::int64_t>(it->second.size()));
  keys_.erase(it);
}

void key_table::clear() {
  std::int64_t items = 0;
  for (const auto& entry : keys_)
    items += static_cast<std::int64_t>(entry.second.size());
  count(-static_cast<std::int64_t>(keys_.size()), -items);
  keys_.clear();
}

std::size_t key_table::trim(invalidations& out) {
  if (!shared_ || keys_.empty())
    return 0;
  auto bound = shared_->max_keys.load(std::memory_order_relaxed);
  if (bound <= 0)
    return 0;
  std::size_t gone = 0;
  // Each key forgotten is claimed on the shared total first, so that shards
  // trimming at once never take the total below the bound together.
  auto total = shared_->keys.load(std::memory_order_relaxed);
  while (total > bound && !keys_.empty()) {
    if (!shared_->keys.compare_exchange_weak(total, total - 1, std::memory_order_relaxed))
      continue;
    auto it = keys_.begin();
    for (auto client : it->second)
      out.add(client, 0, it->first);
    shared_->items.fetch_sub(static_cast<std::int64_t>(it->second.size()),
                             std::memory_order_relaxed);
    keys_.erase(it);
    ++gone;
    total = shared_->keys.load(std::memory_order_relaxed);
  }
  return gone;
}

} // namespace stairkv::tracking
