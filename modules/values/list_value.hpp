#pragma once

// A list (Redis 7.0's quicklist idea): a row of chunks, each one heap block of
// packed entries, so an element costs a few bytes beside its own and a push or
// a pop at either end is O(1) amortized at any length. Counts its bytes
// exactly (every block as the allocator sized it), which is what the memory
// bound and MEMORY USAGE read.
//
// A chunk is one malloc'd block: a 16-byte header (its capacity, the offsets
// of its first entry and past its last, its entry count), then its bytes.
// The entries sit in [begin, end), with slack on both sides, so a push at the
// front writes before `begin` and a pop at the front moves `begin` forward:
// neither moves the other entries. An entry is its length as a varint
// (packed.hpp), its bytes, then the same varint's bytes in reverse order (a
// "back length": read from the entry's last byte down, seven bits a byte, low
// first, the high bit telling that another byte follows below), so entries
// read forwards and backwards alike.
//
// A chunk takes entries while list_limits allows (Redis's
// list-max-listpack-size): a positive N, at most N entries (and, as Redis
// does, at most 8 KiB of entries); -1 to -5, at most 4, 8, 16, 32 or 64 KiB of
// entries. An entry bigger than that gets a chunk of its own. A chunk left
// empty goes at once; chunks left small by LREM are merged with a neighbour.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::values {

// Redis's list-max-listpack-size (alias list-max-ziplist-size): 0 counts as
// 1, beyond -5 as -5, beyond 32767 as 32767, as Redis clamps them.
struct list_limits {
  std::int64_t max_chunk = -2;
};

class list_value {
public:
  explicit list_value(list_limits limits = {});
  ~list_value();
  list_value(const list_value&) = delete;
  list_value& operator=(const list_value&) = delete;

  // What the shard's ListChange records count (the list itself never reads
  // it): the version of the list the next record builds on.
  std::uint64_t version = 0;

  // The limits for what is added from now on (chunks made before keep their
  // sizes).
  void set_limits(list_limits limits) noexcept;

  std::size_t size() const noexcept {
    return size_;
  }

  void push_front(std::string_view element);
  void push_back(std::string_view element);
  // False when the list is empty.
  bool pop_front(std::string& out);
  bool pop_back(std::string& out);

  // LINDEX: a negative index counts from the tail (-1 the last); false when
  // out of range.
  bool at(std::int64_t index, std::string& out) const;
  // LSET: false when out of range.
  bool set(std::int64_t index, std::string_view element);
  // LINSERT: the element before or after the first `pivot` from the head;
  // false when there is none.
  bool insert(std::string_view pivot, std::string_view element, bool before);
  // LREM: count > 0, the first `count` occurrences from the head; < 0, from
  // the tail; 0, all. Returns how many went.
  std::size_t remove(std::string_view element, std::int64_t count);
  // LTRIM: keeps [start, stop] under Redis's range rules (normalize_range).
  void trim(std::int64_t start, std::int64_t stop);

  // Redis's range rules for a list of `size` elements: a negative index
  // counts from the tail, a start before the head is the head, a stop past the
  // tail the tail. False when nothing is left (start > stop, or start past
  // the tail); otherwise [first, last] within the list.
  static bool normalize_range(std::int64_t start, std::int64_t stop, std::size_t size,
                              std::size_t& first, std::size_t& last) noexcept {
    auto n = static_cast<std::int64_t>(size);
    if (start < 0)
      start += n;
    if (stop < 0)
      stop += n;
    if (start < 0)
      start = 0;
    if (stop >= n)
      stop = n - 1;
    if (start > stop || start >= n)
      return false;
    first = static_cast<std::size_t>(start);
    last = static_cast<std::size_t>(stop);
    return true;
  }

  // LRANGE: f(std::string_view) for each element of [start, stop] (Redis's
  // range rules), head to tail; returns how many.
  template <class F>
  std::size_t range(std::int64_t start, std::int64_t stop, F&& f) const {
    std::size_t first = 0, last = 0;
    if (!normalize_range(start, stop, size_, first, last))
      return 0;
    const auto total = last - first + 1;
    auto left = total;
    auto at = locate(first);
    for (auto slot = at.slot; left > 0; ++slot) {
      const chunk* c = chunk_at(slot);
      const char* p = c->data() + (slot == at.slot ? at.offset : c->begin);
      const char* end = c->data() + c->end;
      for (; p != end && left > 0; --left)
        f(next_entry(p));
    }
    return total;
  }

  // The same range, tail to head.
  template <class F>
  std::size_t range_reversed(std::int64_t start, std::int64_t stop, F&& f) const {
    std::size_t first = 0, last = 0;
    if (!normalize_range(start, stop, size_, first, last))
      return 0;
    const auto total = last - first + 1;
    auto left = total;
    auto at = locate(last);
    for (auto slot = at.slot;; --slot) {
      const chunk* c = chunk_at(slot);
      const char* begin = c->data() + c->begin;
      const char* p = c->data() + c->end;
      if (slot == at.slot) {
        p = c->data() + at.offset;
        next_entry(p); // past the last element of the range
      }
      for (; p != begin && left > 0; --left)
        f(previous_entry(p));
      if (left == 0)
        break;
    }
    return total;
  }

  // LPOS: the positions (from the head, 0 first) of `element`. rank > 0
  // starts at the rank-th match from the head; rank < 0, at the |rank|-th from
  // the tail, scanning towards the head (0 counts as 1). `count`: how many to
  // collect, 0 all; `maxlen`: how many elements to compare at most, 0 no
  // limit. Appends to `out` in scan order.
  void positions(std::string_view element, std::int64_t rank, std::int64_t count,
                 std::int64_t maxlen, std::vector<std::int64_t>& out) const;

  // Head to tail, f(std::string_view).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t slot = 0; slot < chunk_count_; ++slot) {
      const chunk* c = chunk_at(slot);
      const char* p = c->data() + c->begin;
      const char* end = c->data() + c->end;
      while (p != end)
        f(next_entry(p));
    }
  }

  // Bytes held: the object, the row of chunk pointers, every chunk's block,
  // each as the allocator sized it. Kept as they change.
  std::int64_t bytes() const noexcept {
    return bytes_;
  }

  // The serialisation, appended to `out`: the element count as a varint,
  // then each element as an item (packed.hpp), head first: a compact_items
  // of width 1.
  void write_packed(std::string& out) const;
  // A list of those bytes; nullptr when they are malformed (a count that
  // does not match the items, an item past the end, bytes after the last).
  static list_value* from_packed(std::string_view bytes, list_limits limits = {});

  // How many chunks (what OBJECT ENCODING and DEBUG tell of a quicklist).
  std::size_t chunks() const noexcept {
    return chunk_count_;
  }

private:
  friend struct list_value_probe; // the test's view of the invariants

  struct chunk {
    std::uint32_t capacity; // bytes after the header
    std::uint32_t begin;    // offset of the first entry
    std::uint32_t end;      // offset past the last entry
    std::uint32_t count;    // entries

    char* data() noexcept {
      return reinterpret_cast<char*>(this + 1);
    }
    const char* data() const noexcept {
      return reinterpret_cast<const char*>(this + 1);
    }
    std::size_t used() const noexcept {
      return end - begin;
    }
  };
  static_assert(sizeof(chunk) == 16, "a chunk's header is four 32-bit fields");

  // An element: which chunk, and its entry's offset in that chunk's bytes.
  struct position {
    std::size_t slot;
    std::uint32_t offset;
  };

  // The entry at `p`, moving `p` past it.
  static std::string_view next_entry(const char*& p) noexcept {
    std::size_t n = 0;
    unsigned shift = 0;
    unsigned char byte = 0;
    do {
      byte = static_cast<unsigned char>(*p++);
      n |= static_cast<std::size_t>(byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    std::string_view e{p, n};
    p += n + (shift / 7); // the bytes, then the back length (as long as the length)
    return e;
  }

  // The entry ending at `p`, moving `p` to its start.
  static std::string_view previous_entry(const char*& p) noexcept {
    std::size_t n = 0;
    unsigned shift = 0;
    unsigned char byte = 0;
    do {
      byte = static_cast<unsigned char>(*--p);
      n |= static_cast<std::size_t>(byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    p -= n;
    std::string_view e{p, n};
    p -= shift / 7; // the length before the bytes
    return e;
  }

  const chunk* chunk_at(std::size_t slot) const noexcept {
    return slots_[first_ + slot];
  }
  chunk* chunk_at(std::size_t slot) noexcept {
    return slots_[first_ + slot];
  }

  // The element at `index` (< size()), found from the nearer end, whole
  // chunks skipped by their counts.
  position locate(std::size_t index) const noexcept;
  // The offset of the k-th entry (< count) of `c`, walked from its nearer end.
  static std::uint32_t entry_offset(const chunk* c, std::size_t k) noexcept;

  bool fits(const chunk* c, std::size_t entry_size) const noexcept;
  std::size_t growth_cap() const noexcept;
  chunk* allocate(std::size_t capacity);
  void release(chunk* c) noexcept;
  chunk* make_room(std::size_t slot, std::size_t front, std::size_t back);
  char* resize_gap(std::size_t slot, std::size_t offset, std::size_t old_size,
                   std::size_t new_size);
  void shrink_if_sparse(std::size_t slot);
  void settle(std::size_t slot);
  void insert_slot(std::size_t slot, chunk* c);
  void erase_slots(std::size_t slot, std::size_t n);
  void resize_slots(std::size_t capacity);
  void new_chunk(std::size_t slot, std::string_view element, std::size_t entry_size,
                 bool at_front);
  void insert_at(std::size_t slot, std::size_t offset, std::string_view element);
  void erase_entry(std::size_t slot, std::size_t offset, std::size_t entry_size);
  void merge_around(std::size_t from, std::size_t to);
  void clear() noexcept;
  // The bytes counted again from the blocks, -1 when the chunks break an
  // invariant (what a test compares bytes() with).
  std::int64_t recount(bool check_limits) const;

  // The chunks, head first, in slots_[first_, first_ + chunk_count_): one
  // malloc'd row of pointers with room kept at both ends (recentred or grown
  // when an end runs out), so a chunk joins either end in O(1) amortized. Not
  // a std::deque: libstdc++'s allocates a 512-byte node and a map even for a
  // list of one chunk (most lists), and its blocks would go uncounted.
  chunk** slots_ = nullptr;
  std::size_t slot_capacity_ = 0;
  std::size_t first_ = 0;
  std::size_t chunk_count_ = 0;
  std::size_t size_ = 0;
  std::int64_t bytes_ = 0;
  std::uint32_t max_entries_ = 0; // per chunk
  std::uint32_t max_bytes_ = 0;   // of entries per chunk
};

} // namespace stairkv::values
