#pragma once

// The deadlines of one shard's keys, earliest first: what lets a shard retire keys
// when their time comes instead of when someone next reads them. A binary heap:
// O(log n) to add, O(log n) to take the earliest.
//
// Entries are never removed when a key's deadline changes or the key goes away
// (that would need a back-pointer in every key); instead the owner checks each
// due entry against the key's current deadline and skips stale ones. To keep
// stale entries from piling up (a key whose deadline is reset in a loop), the
// queue is rebuilt from the live deadlines when stale entries outnumber live ones.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::expiry {

using deadline_ms = std::int64_t;

class deadline_queue {
public:
  struct entry {
    deadline_ms deadline;
    std::string key;
  };

  void add(std::string_view key, deadline_ms deadline);

  bool empty() const noexcept {
    return heap_.empty();
  }

  std::size_t size() const noexcept {
    return heap_.size();
  }

  // Entry `i` of the heap (i < size()), in no useful order: what eviction draws
  // keys with a deadline from.
  const entry& at(std::size_t i) const noexcept {
    return heap_[i];
  }

  // Bytes held: the heap array and the keys too long to live inside an entry.
  std::int64_t memory() const noexcept {
    return static_cast<std::int64_t>(heap_.capacity() * sizeof(entry)) + key_bytes_;
  }

  // The earliest deadline queued; only valid when not empty.
  deadline_ms earliest() const noexcept {
    return heap_.front().deadline;
  }

  // Removes and passes to `due` every entry whose deadline is at or before `now`,
  // earliest first, at most `limit` of them (so that one call cannot hold its
  // thread for long). Returns how many were passed.
  template <class F>
  std::size_t pop_due(deadline_ms now, std::size_t limit, F&& due) {
    std::size_t n = 0;
    while (n < limit && !heap_.empty() && heap_.front().deadline <= now) {
      auto e = pop();
      due(e);
      ++n;
    }
    return n;
  }

  // Passes every entry whose deadline is at or before `now` to `due`, in no
  // particular order and without removing it, visiting at most `limit` entries.
  // Costs O(due entries): only the part of the heap at or before `now` is walked.
  template <class F>
  void for_each_due(deadline_ms now, std::size_t limit, F&& due) const {
    std::vector<std::size_t> pending;
    if (!heap_.empty() && heap_.front().deadline <= now)
      pending.push_back(0);
    std::size_t visited = 0;
    while (!pending.empty() && visited < limit) {
      auto i = pending.back();
      pending.pop_back();
      due(heap_[i]);
      ++visited;
      for (auto child : {2 * i + 1, 2 * i + 2})
        if (child < heap_.size() && heap_[child].deadline <= now)
          pending.push_back(child);
    }
  }

  // Replaces the contents with exactly the given (key, deadline) pairs.
  template <class ForEachLive>
  void rebuild(ForEachLive&& for_each_live) {
    std::vector<entry>{}.swap(heap_);
    key_bytes_ = 0;
    for_each_live([this](std::string_view key, deadline_ms deadline) {
      heap_.push_back(entry{deadline, std::string{key}});
      key_bytes_ += heap_bytes(heap_.back().key);
    });
    make_heap();
  }

  void clear() noexcept {
    std::vector<entry>{}.swap(heap_);
    key_bytes_ = 0;
  }

private:
  entry pop();
  void make_heap();

  // What a key costs beyond its entry: nothing while it fits the string's
  // inline buffer, its own block otherwise.
  static std::int64_t heap_bytes(const std::string& key) noexcept {
    return key.capacity() > 15 ? static_cast<std::int64_t>(key.capacity() + 1) : 0;
  }

  std::vector<entry> heap_;
  std::int64_t key_bytes_ = 0;
};

} // namespace stairkv::expiry
