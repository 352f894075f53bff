#pragma once

// An absl::flat_hash_set that grows without a stall: the index of a large
// hash, set or sorted set (hash_table.hpp, sorted_set.hpp).
//
// A flat hash set grows by rehashing every element into a table twice the
// size, all at once: for a million fields that is a million hashes and
// scattered reads, some 50 to 100 ms in which the shard answers nobody. From
// `incremental_from` elements on, this set grows the way Redis's dict does
// instead: when the next insert would make the table grow, it becomes the
// old table, an empty one of twice the capacity takes new elements, and every
// change (insert, erase) moves `moves_per_change` elements across, until the
// old table is empty and is freed. Meanwhile a lookup tries both tables, and
// an element is in exactly one of them. Smaller sets grow as absl grows them
// (a rehash of at most `incremental_from` elements takes well under a
// millisecond).
//
// T is small and cheap to copy (a pointer, or one with its scan position);
// Hash and Eq are transparent (a lookup by key, as the
// tables' users look up fields and members by their bytes).

#include <cstddef>
#include <utility>

#include <absl/container/flat_hash_set.h>

namespace stairkv::values {

template <class T, class Hash, class Eq>
class growing_set {
public:
  using table = absl::flat_hash_set<T, Hash, Eq>;
  static constexpr std::size_t incremental_from = std::size_t{1} << 16;
  static constexpr int moves_per_change = 64;

  std::size_t size() const noexcept {
    return now_.size() + old_.size();
  }
  // Slots held by both tables (what the set's byte count charges).
  std::size_t capacity() const noexcept {
    return now_.capacity() + old_.capacity();
  }
  // Whether a grow is being spread over changes (for tests).
  bool growing() const noexcept {
    return !old_.empty();
  }

  void reserve(std::size_t n) {
    now_.reserve(n);
  }

  // The stored element equal to `key`, or null. Its pointer may be swapped in
  // place for another with the same key (the same hash).
  template <class K>
  T* find(const K& key) {
    auto it = now_.find(key);
    if (it != now_.end())
      return const_cast<T*>(&*it);
    if (old_.empty())
      return nullptr;
    auto at = old_.find(key);
    return at != old_.end() ? const_cast<T*>(&*at) : nullptr;
  }
  template <class K>
  const T* find(const K& key) const {
    return const_cast<growing_set*>(this)->find(key);
  }
  template <class K>
  bool contains(const K& key) const {
    return find(key) != nullptr;
  }

  // Adds `value`, which must not be present.
  void insert(T value) {
    if (old_.empty() && now_.size() >= incremental_from
        && now_.size() + 1 > growth(now_.capacity())) {
      old_.swap(now_);
      now_.reserve(old_.size() * 2);
      drain_ = old_.begin();
    }
    now_.insert(std::move(value));
    move_some();
  }

  // Removes the element equal to `key`; false when there is none.
  template <class K>
  bool erase(const K& key) {
    auto it = now_.find(key);
    if (it != now_.end()) {
      now_.erase(it);
      move_some();
      return true;
    }
    if (old_.empty())
      return false;
    auto at = old_.find(key);
    if (at == old_.end())
      return false;
    if (at == drain_)
      ++drain_;
    old_.erase(at);
    move_some();
    return true;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : now_)
      f(e);
    for (const auto& e : old_)
      f(e);
  }

private:
  // absl's rule: a table of capacity c holds c - c/8 elements before it grows.
  static std::size_t growth(std::size_t capacity) noexcept {
    return capacity == 7 ? 6 : capacity - capacity / 8;
  }

  void move_some() {
    for (int n = 0; n < moves_per_change && !old_.empty(); ++n) {
      auto it = drain_++;
      now_.insert(*it);
      old_.erase(it);
    }
    if (old_.empty() && old_.capacity() != 0)
      table{}.swap(old_); // its slots go back
  }

  table now_;
  table old_;
  typename table::iterator drain_;
};

} // namespace stairkv::values
