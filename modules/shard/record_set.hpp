#pragma once

// The storage of one shard: every key is one heap block holding a small header, the
// key bytes and the value bytes, and the hash table holds only a pointer to it. A
// 16-byte key with a 3-byte value costs one 48-byte allocation plus about 13 bytes
// of table (8-byte slot, 1 control byte, load factor), where a table of std::string
// pairs would cost a 72-byte slot and a separate key allocation. A lookup touches
// the control bytes, the slot and the block, and the block holds the key next to
// its value.
//
// Beside the hash table, a dense array of the same pointers (each record knows its
// position) lets eviction and RANDOMKEY draw a uniformly random key in O(1); it
// costs 8 bytes and a 4-byte index per key. The set also counts its own bytes
// exactly (the allocator's size of every block plus both arrays), which is what
// the memory bound is enforced on.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include "modules/shard/batch.hpp"

namespace stairkv::shard {

// What a key holds. A string keeps its bytes in the record itself, and so
// does a type in its compact encoding (a small hash: values/compact_hash.hpp);
// in its large encoding a type keeps a pointer to its container in the value
// bytes (record::holds_container), so a record's layout is the same for all.
enum class value_type : std::uint8_t {
  string = 0,
  hash = 1,
  set = 2,
  list = 3,
  sorted_set = 4,
  stream = 5,
};

// The name TYPE answers with: "string", "hash", "set", "list", "zset", "stream".
const char* type_name(value_type t) noexcept;

class record {
public:
  std::string_view key() const noexcept {
    return {bytes_, key_size_};
  }

  std::string_view value() const noexcept {
    return {bytes_ + key_size_, value_size_};
  }

  value_type type() const noexcept {
    return static_cast<value_type>(slot_and_type_ >> type_shift);
  }

  // The value bytes are a pointer to a container (a large hash: a
  // values::hash_table), not the value itself.
  bool holds_container() const noexcept {
    return (slot_and_type_ & container_bit) != 0;
  }
  template <class T>
  T* container() const noexcept {
    T* p = nullptr;
    std::memcpy(&p, bytes_ + key_size_, sizeof p);
    return p;
  }

  deadline_ms deadline = no_deadline;
  // Recency or frequency, as the memory policy reads it (see memory/policy.hpp).
  std::uint32_t access = 0;

  // The tag shares one word with the record's position in the dense array: 3
  // bits of type, 1 of encoding (holds_container), 28 of position, so a shard
  // holds at most 2^28 keys (far past what any engine grows one shard to; see
  // record_set::max_keys).
  static constexpr unsigned slot_bits = 28;
  static constexpr std::uint32_t slot_mask = (std::uint32_t{1} << slot_bits) - 1;
  static constexpr std::uint32_t container_bit = std::uint32_t{1} << slot_bits;
  static constexpr unsigned type_shift = slot_bits + 1;

private:
  friend class record_set;
  record() = default;
  char* value_bytes() noexcept {
    return bytes_ + key_size_;
  }
  std::uint32_t slot() const noexcept {
    return slot_and_type_ & slot_mask;
  }
  void set_slot(std::uint32_t slot) noexcept {
    slot_and_type_ = (slot_and_type_ & ~slot_mask) | slot;
  }
  // A type and whether the value bytes are a container's pointer.
  void set_type(value_type t, bool container = false) noexcept {
    slot_and_type_ = (static_cast<std::uint32_t>(t) << type_shift)
                     | (container ? container_bit : 0) | slot();
  }

  std::uint32_t slot_and_type_ = 0; // type tag, position in the dense array
  std::uint32_t key_size_ = 0;
  std::uint32_t value_size_ = 0;
  char bytes_[]; // key, then value
};

// A container taken out of its record (record_set::detach_container): it is
// freed when this goes, on whichever thread that is.
class detached_container {
public:
  detached_container(value_type type, void* container) noexcept
    : type_(type), container_(container) {
  }
  detached_container(detached_container&& other) noexcept
    : type_(other.type_), container_(std::exchange(other.container_, nullptr)) {
  }
  detached_container& operator=(detached_container&& other) noexcept {
    std::swap(type_, other.type_);
    std::swap(container_, other.container_);
    return *this;
  }
  detached_container(const detached_container&) = delete;
  detached_container& operator=(const detached_container&) = delete;
  ~detached_container();

private:
  value_type type_;
  void* container_;
};

class record_set {
public:
  record_set() = default;
  record_set(const record_set&) = delete;
  record_set& operator=(const record_set&) = delete;
  ~record_set();

  record* find(std::string_view key) const;

  // Asks the CPU to start loading what find(key) will touch.
  void prefetch(std::string_view key) const;

  // At most this many keys (the dense array's positions); insert() past it
  // throws std::bad_alloc, as running out of memory would.
  static constexpr std::size_t max_keys = std::size_t{1} << record::slot_bits;

  // Adds a key that is not present.
  record* insert(std::string_view key, std::string_view value, deadline_ms deadline,
                 value_type type = value_type::string);

  // Replaces a record's value, now of type `type` (a container it held is
  // freed); the record may move, use the returned pointer.
  record* assign(record* r, std::string_view value,
                 value_type type = value_type::string);

  // Makes a record hold `container` (a large encoding of `type`, owned by the
  // record from now on) in place of its value; the record may move.
  record* assign_container(record* r, value_type type, void* container);

  // A record's container changed size by `delta` bytes (the table edits
  // containers in place and says so here, so memory() stays exact).
  void container_resized(std::int64_t delta) noexcept {
    block_bytes_ += delta;
  }

  // Bytes a record's container holds (0 for a value in the record itself).
  static std::int64_t container_bytes(const record* r) noexcept;

  // How many elements a record's container holds (0 for a value in the
  // record itself): what freeing it costs.
  static std::size_t container_elements(const record* r) noexcept;

  // Takes a record's container out of it (no longer counted here), for the
  // caller to free elsewhere; the record is left holding nothing, to be
  // erased next.
  detached_container detach_container(record* r) noexcept;

  // Appends to a record's value, with room to grow so that repeated appends stay
  // amortized O(1) per byte; the record may move.
  record* append(record* r, std::string_view more);

  void erase(record* r);
  void clear();

  // Takes a record out of the set without freeing it: the caller owns it now.
  void release(record* r);

  // Puts an owned record (from another shard's release) into the set. A key that
  // is already present keeps its record; the incoming one is freed and false
  // returned.
  bool adopt(record* r);

  // Frees a record that is in no set, and its container.
  static void destroy(record* r);

  std::size_t size() const noexcept {
    return set_.size();
  }

  // The record at position `i` of the dense array (i < size()); positions change
  // as records come and go. `at(random % size())` is a uniform draw.
  record* at(std::size_t i) const noexcept {
    return dense_[i];
  }

  // Bytes one record takes: its block and container, its hash-table slot and
  // control byte, its place in the dense array.
  static std::int64_t footprint(const record* r) noexcept;

  // Bytes held: every record's block as the allocator sized it, the hash table's
  // slots and control bytes, and the dense array.
  std::int64_t memory() const noexcept;

  // Counts changes that add or remove a key or move a record (anything that makes
  // a saved record pointer or a saved list of keys stale); in-place value
  // updates do not count.
  std::uint64_t changes() const noexcept {
    return changes_;
  }

  template <class F>
  void for_each(F&& f) const {
    for (auto* r : set_)
      f(*r);
  }

private:
  struct hasher {
    using is_transparent = void;
    std::size_t operator()(absl::string_view key) const {
      return absl::Hash<absl::string_view>{}(key);
    }
    std::size_t operator()(const record* r) const {
      auto k = r->key();
      return (*this)(absl::string_view{k.data(), k.size()});
    }
  };

  struct key_equal {
    using is_transparent = void;
    static absl::string_view key_of(const record* r) {
      auto k = r->key();
      return {k.data(), k.size()};
    }
    static absl::string_view key_of(absl::string_view k) {
      return k;
    }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return key_of(a) == key_of(b);
    }
  };

  using set_type = absl::flat_hash_set<record*, hasher, key_equal>;

public:
  // Iteration that survives release() and erase() of other records (the table
  // never rehashes on removal), but not insertions.
  using const_iterator = set_type::const_iterator;
  const_iterator begin() const {
    return set_.begin();
  }
  const_iterator end() const {
    return set_.end();
  }

private:
  // Swaps the stored pointer of a record for its moved copy (same key, same hash).
  void replace(record* old_record, record* new_record);

  static record* allocate(std::size_t key_size, std::size_t capacity);
  // Counting blocks in and out of this set.
  void count_in(record* r) noexcept;
  void count_out(record* r) noexcept;
  void add_dense(record* r);
  void remove_dense(record* r) noexcept;

  set_type set_;
  std::vector<record*> dense_;
  std::int64_t block_bytes_ = 0;
  std::uint64_t changes_ = 0;
};

} // namespace stairkv::shard
