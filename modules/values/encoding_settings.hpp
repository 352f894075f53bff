#pragma once

// When values leave their compact encodings: Redis's hash-max-listpack-entries
// and hash-max-listpack-value (alias hash-max-ziplist-*), set-max-intset-entries,
// set-max-listpack-entries and -value, and the size of lists' chunks
// (list-max-listpack-size), zset-max-listpack-entries and -value; shared by every shard of a store and
// changed by CONFIG SET, read once per batch.

#include <atomic>
#include <cstdint>
#include <memory>

#include "modules/values/compact_hash.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/compact_zset.hpp"
#include "modules/values/list_value.hpp"

namespace stairkv::values {

struct encoding_settings {
  std::atomic<std::int64_t> hash_max_entries{128};
  std::atomic<std::int64_t> hash_max_value{64};

  std::atomic<std::int64_t> set_max_intset_entries{512};
  std::atomic<std::int64_t> set_max_entries{128};
  std::atomic<std::int64_t> set_max_value{64};

  std::atomic<std::int64_t> list_max_listpack_size{-2};

  std::atomic<std::int64_t> zset_max_entries{128};
  std::atomic<std::int64_t> zset_max_value{64};

  zset_limits zsets() const noexcept {
    return zset_limits{
      static_cast<std::size_t>(zset_max_entries.load(std::memory_order_relaxed)),
      static_cast<std::size_t>(zset_max_value.load(std::memory_order_relaxed))};
  }

  set_limits sets() const noexcept {
    return set_limits{
      static_cast<std::size_t>(set_max_intset_entries.load(std::memory_order_relaxed)),
      static_cast<std::size_t>(set_max_entries.load(std::memory_order_relaxed)),
      static_cast<std::size_t>(set_max_value.load(std::memory_order_relaxed))};
  }

  list_limits lists() const noexcept {
    return list_limits{list_max_listpack_size.load(std::memory_order_relaxed)};
  }

  hash_limits hashes() const noexcept {
    return hash_limits{
      static_cast<std::size_t>(hash_max_entries.load(std::memory_order_relaxed)),
      static_cast<std::size_t>(hash_max_value.load(std::memory_order_relaxed))};
  }
};

using encoding_settings_ptr = std::shared_ptr<encoding_settings>;

} // namespace stairkv::values
