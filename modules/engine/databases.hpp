#pragma once

// The node's numbering of its databases. Every shard keeps one table of keys
// per database in use (shard/table.hpp), addressed by the operation's database
// byte; the numbers clients SELECT name those through this map. SWAPDB swaps
// two entries of the map: instant, nothing moves in any shard, and every plan
// made after it addresses the other tables, which is all a reader can see
// (plan order: README). The map is written by the node's one plan maker (the
// gateway, or the store's front actor without a node) and read by it without a
// lock on the request path; the broker (for the numbers in keyspace event
// channels) and the savers (a snapshot records the map) read it through
// copy(), which takes the lock.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::engine {

class database_map {
public:
  // The most databases a node has: an operation names its database in a byte.
  static constexpr unsigned max_databases = 256;

  explicit database_map(unsigned count = 16) {
    if (count == 0 || count > max_databases)
      count = 16;
    std::lock_guard<std::mutex> lock{mutex_};
    physical_.resize(count);
    for (unsigned i = 0; i < count; ++i)
      physical_[i] = static_cast<char>(i);
    identity_ = true;
  }

  unsigned count() const noexcept {
    return static_cast<unsigned>(physical_.size());
  }

  static constexpr std::string_view out_of_range = "ERR DB index is out of range";

  // Reads a database number as SELECT, MOVE and COPY ... DB take it: true with
  // `number` set, else false with Redis's error (without '-' and CRLF) in
  // `error`: not an integer, or not one of this node's numbers.
  bool read_number(std::string_view text, unsigned& number, std::string_view& error) const {
    std::int64_t n = 0;
    if (!protocol::parse_int64(text, n)) {
      error = protocol::errors::not_an_integer;
      return false;
    }
    if (n < 0 || n >= static_cast<std::int64_t>(count())) {
      error = out_of_range;
      return false;
    }
    number = static_cast<unsigned>(n);
    return true;
  }

  // The shards' database that number `logical` names (the plan maker's
  // thread only; logical < count()).
  std::uint8_t physical(unsigned logical) const noexcept {
    return static_cast<std::uint8_t>(physical_[logical]);
  }

  // SWAPDB a b (the plan maker's thread only).
  void swap(unsigned a, unsigned b) {
    std::lock_guard<std::mutex> lock{mutex_};
    std::swap(physical_[a], physical_[b]);
    identity_ = is_identity();
  }

  // The map as a DatabaseMap record holds it (byte n: number n's database).
  std::string copy() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return physical_;
  }

  // A loaded file's map; false (and no change) when it is not a permutation
  // of this node's databases.
  bool assign(std::string_view map) {
    if (map.size() != physical_.size())
      return false;
    std::string seen(map.size(), '\0');
    for (char c : map) {
      auto p = static_cast<std::uint8_t>(c);
      if (p >= map.size() || seen[p] != '\0')
        return false;
      seen[p] = 1;
    }
    std::lock_guard<std::mutex> lock{mutex_};
    physical_.assign(map.data(), map.size());
    identity_ = is_identity();
    return true;
  }

  // The number that names the shards' database `physical`, from any thread.
  unsigned logical(std::uint8_t physical) const {
    if (identity_.load(std::memory_order_acquire))
      return physical;
    std::lock_guard<std::mutex> lock{mutex_};
    for (std::size_t i = 0; i < physical_.size(); ++i)
      if (static_cast<std::uint8_t>(physical_[i]) == physical)
        return static_cast<unsigned>(i);
    return physical;
  }

private:
  bool is_identity() const noexcept {
    for (std::size_t i = 0; i < physical_.size(); ++i)
      if (static_cast<std::uint8_t>(physical_[i]) != i)
        return false;
    return true;
  }

  mutable std::mutex mutex_;
  std::string physical_; // byte n: the shards' database of number n
  std::atomic<bool> identity_{true};
};

using database_map_ptr = std::shared_ptr<database_map>;

} // namespace stairkv::engine
