#pragma once

// What a shard tells the subscription broker after a batch or turn in which
// remembered keys changed: one entry per (client, key), plus, while someone
// tracks in broadcasting mode, one entry per changed key for everyone (client
// 0), matched against prefixes by the broker. Keys are as the shard names
// them: in their shard database (`db`), which the broker does not need: an
// invalidation names the key alone, as Redis's does.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::tracking {

// Entry::client of a change announced to the broadcasting clients.
inline constexpr std::uint64_t everyone = 0;

struct invalidations {
  struct entry {
    std::uint64_t client; // the tracking client (a gateway's connection tag)
    // The client that made the change when it asked not to hear of its own
    // (NOLOOP); 0 otherwise.
    std::uint64_t writer;
    std::size_t key_begin;
    std::size_t key_size;
  };

  std::string keys;
  std::vector<entry> entries;

  void add(std::uint64_t client, std::uint64_t writer, std::string_view key) {
    entries.push_back(entry{client, writer, keys.size(), key.size()});
    keys.append(key.data(), key.size());
  }

  std::string_view key(const entry& e) const noexcept {
    return {keys.data() + e.key_begin, e.key_size};
  }

  bool empty() const noexcept {
    return entries.empty();
  }
};

} // namespace stairkv::tracking
