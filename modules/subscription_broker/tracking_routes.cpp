#include "modules/subscription_broker/tracking_routes.hpp"

#include <algorithm>
#include <map>

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
  // Each client's keys, in the order they changed, each once; a broadcasting
  // client's per prefix.
  std::map<std::pair<std::uint64_t, std::string>, std::vector<std::string>> grouped;
  std::vector<std::pair<std::uint64_t, std::string>> order; // messages as they began
  auto add = [&](std::uint64_t client, std::string_view prefix, std::string_view key) {
    std::pair<std::uint64_t, std::string> id{client, std::string{prefix}};
    auto [it, fresh] = grouped.try_emplace(id);
    if (fresh)
      order.push_back(id);
    std::string k{key};
    if (std::find(it->second.begin(), it->second.end(), k) == it->second.end())
      it->second.push_back(std::move(k));
  };
  // A default-mode client's message is apart from its prefixes' (this name
  // only groups; it is never matched against keys).
  static const std::string own = std::string{"\0own", 4};
  for (const auto& e : log.entries) {
    auto key = shard::key_of_name(log.key(e));
    if (e.client != tracking::everyone) {
      add(e.client, own, key);
      continue;
    }
    prefixes_.match(key, e.writer, [&](std::uint64_t client, std::string_view prefix) {
      add(client, prefix, key);
    });
  }
  for (const auto& id : order) {
    auto found = clients_.find(id.first);
    if (found == clients_.end())
      continue; // tracking off since it read the key
    deliveries_[found->second].messages.push_back(
      {id.first, std::move(grouped[id]), false, id.second != own});
  }
}

} // namespace stairkv::subscription_broker
