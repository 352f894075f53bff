#pragma once

// The keys one shard remembers for the clients that read them (CLIENT
// TRACKING in its default mode): a key's clients are told once when it
// changes, and then forgotten, until they read it again. Only the shard's own
// actor touches its table; the totals over all shards are atomics in the
// shared settings, which also bound them (tracking-table-max-keys).
//
// Keys are named as the shard names them where databases meet (a key of
// database n > 0 behind a two-byte prefix: shard::qualified_key), and the
// invalidations carry those names.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>
#include <absl/hash/hash.h>

#include "modules/tracking/invalidations.hpp"
#include "modules/tracking/settings.hpp"

namespace stairkv::tracking {

// A remembered key with its clients, as a table hands it to another.
struct tracked_key {
  std::string name;
  std::vector<std::uint64_t> clients;
};

class key_table {
public:
  using clients = absl::InlinedVector<std::uint64_t, 2>;

  explicit key_table(settings_ptr shared = nullptr) : shared_(std::move(shared)) {}
  key_table(const key_table&) = delete;
  key_table& operator=(const key_table&) = delete;
  ~key_table() {
    clear();
  }

  // Where the totals are kept from now on (set while the table is empty).
  void count_in(settings_ptr shared) {
    clear();
    shared_ = std::move(shared);
  }

  bool empty() const noexcept {
    return keys_.empty();
  }
  std::size_t size() const noexcept {
    return keys_.size();
  }

  // `client` may cache `name` from now on.
  void remember(std::string_view name, std::uint64_t client);

  // `name` changed: each client that remembered it hears of it in `out`,
  // except `skip` (a NOLOOP client's own change; 0: nobody), and the key is
  // forgotten by all of them.
  void changed(std::string_view name, std::uint64_t skip, invalidations& out) {
    if (keys_.empty())
      return;
    auto it = keys_.find(name);
    if (it == keys_.end())
      return;
    for (auto client : it->second)
      if (client != skip)
        out.add(client, 0, name);
    forget(it);
  }

  // Forgets every key without a word (FLUSHALL: the clients hear one null
  // invalidation instead).
  void clear();

  // While the keys of all shards exceed the bound, forgets keys of this table
  // (their clients hear of each, as of a change); returns how many went.
  std::size_t trim(invalidations& out);

  // Every key with its clients (a resize hands them to the new shards).
  template <class Visit>
  void for_each(Visit visit) const {
    for (const auto& [name, who] : keys_)
      visit(std::string_view{name}, who);
  }

private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const {
      return absl::Hash<std::string_view>{}(k);
    }
  };
  struct equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const {
      return a == b;
    }
  };
  using map = absl::flat_hash_map<std::string, clients, hash, equal>;

  void forget(map::iterator it);
  void count(std::int64_t keys, std::int64_t items) noexcept {
    if (shared_) {
      shared_->keys.fetch_add(keys, std::memory_order_relaxed);
      shared_->items.fetch_add(items, std::memory_order_relaxed);
    }
  }

  settings_ptr shared_;
  map keys_;
};

} // namespace stairkv::tracking
