#pragma once

// When values leave their compact encodings: Redis's hash-max-listpack-entries
// and hash-max-listpack-value (alias hash-max-ziplist-*), shared by every
// shard of a store and changed by CONFIG SET, read once per batch.

#include <atomic>
#include <cstdint>
#include <memory>

#include "modules/values/compact_hash.hpp"

namespace stairkv::values {

struct encoding_settings {
  std::atomic<std::int64_t> hash_max_entries{128};
  std::atomic<std::int64_t> hash_max_value{64};

  hash_limits hashes() const noexcept {
    return hash_limits{
      static_cast<std::size_t>(hash_max_entries.load(std::memory_order_relaxed)),
      static_cast<std::size_t>(hash_max_value.load(std::memory_order_relaxed))};
  }
};

using encoding_settings_ptr = std::shared_ptr<encoding_settings>;

} // namespace stairkv::values
