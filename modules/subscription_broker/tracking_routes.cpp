#include "modules/subscription_broker/tracking_routes.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "modules/shard/batch.hpp"

namespace stairkv::subscription_broker {

void tracking_routes::track(const caf::actor& gateway, std::uint64_t client, bool on) {
  if (on) {
    clients_[client] = gateway;
  } else {
    clients_.erase(client);
    if (broadcasting_.erase(client) != 0)
      prefixes_.remove(client);
  }
  update_figures();
}

void tracking_routes::broadcast(std::uint64_t client, const std::vector<std::string>& prefixes,
                                bool noloop) {
  auto& mine = broadcasting_[client];
  for (const auto& p : prefixes) {
    prefixes_.add(p, client, noloop);
    if (std::find(mine.begin(), mine.end(), p) == mine.end())
      mine.push_back(p);
  }
  update_figures();
}

void tracking_routes::forget_gateway(const caf::actor_addr& gateway) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (it->second.address() != gateway) {
      ++it;
      continue;
    }
    if (broadcasting_.erase(it->first) != 0)
      prefixes_.remove(it->first);
    it = clients_.erase(it);
  }
  update_figures();
}

void tracking_routes::update_figures() {
  if (!shared_)
    return;
  shared_->clients.store(static_cast<std::int64_t>(clients_.size()),
                         std::memory_order_relaxed);
  shared_->prefixes.store(static_cast<std::int64_t>(prefixes_.size()),
                          std::memory_order_relaxed);
}

void tracking_routes::build(const tracking::invalidations& log) {
  // One message per client for the keys it read, and one per client and
  // prefix for the keys under its BCAST prefixes: each with its keys in the
  // order they changed, each key once, messages in the order they began.
  using message_id = std::tuple<std::uint64_t, bool, std::string>; // client, broadcast, prefix
  std::map<message_id, std::vector<std::string>> grouped;
  std::vector<message_id> order;
  auto add = [&](message_id id, std::string_view key) {
    auto [it, fresh] = grouped.try_emplace(id);
    if (fresh)
      order.push_back(std::move(id));
    auto& keys = it->second;
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      keys.emplace_back(key);
  };
  for (const auto& e : log.entries) {
    auto key = shard::key_of_name(log.key(e));
    if (e.client != tracking::everyone) {
      add({e.client, false, {}}, key);
      continue;
    }
    prefixes_.match(key, e.writer, [&](std::uint64_t client, std::string_view prefix) {
      add({client, true, std::string{prefix}}, key);
    });
  }
  for (const auto& id : order) {
    auto found = clients_.find(std::get<0>(id));
    if (found == clients_.end())
      continue; // tracking off since it read the key
    deliveries_[found->second].messages.push_back(
      {std::get<0>(id), std::move(grouped[id]), false, std::get<1>(id)});
  }
}

} // namespace stairkv::subscription_broker
