#pragma once

// What the shards, the subscription broker and the gateways share about
// client-side caching, as atomics read without a lock: whether any client
// tracks in broadcasting mode (then shards report every change, for the
// broker to match against prefixes), the bound on remembered keys
// (tracking-table-max-keys), and the totals INFO shows.

#include <atomic>
#include <cstdint>
#include <memory>

namespace stairkv::tracking {

struct settings {
  // Clients in BCAST mode; while there is one, every changed key goes to the
  // broker.
  std::atomic<std::int64_t> broadcasting{0};
  // Keys remembered by all shards together at most (0: no bound); past it a
  // shard forgets keys of its own, invalidating them, as Redis does.
  std::atomic<std::int64_t> max_keys{1000000};
  // Keys remembered by all shards (Redis's tracking_total_keys), and the
  // (key, client) pairs (tracking_total_items).
  std::atomic<std::int64_t> keys{0};
  std::atomic<std::int64_t> items{0};
  // Clients with tracking on (tracking_clients) and BCAST prefixes in use
  // (tracking_total_prefixes), kept by the broker.
  std::atomic<std::int64_t> clients{0};
  std::atomic<std::int64_t> prefixes{0};

  bool anyone_broadcasting() const noexcept {
    return broadcasting.load(std::memory_order_relaxed) > 0;
  }
};

using settings_ptr = std::shared_ptr<settings>;

} // namespace stairkv::tracking
