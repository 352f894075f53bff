#pragma once

// A large hash (Redis's hashtable encoding), or a large set (its members as
// fields with empty values): each field and its value in one
// heap block, the table holding only a pointer to it, as the shard's own
// record set does for keys. Counts its bytes exactly (every block as the
// allocator sized it, plus the table's slots and control bytes), which is what
// the memory bound and MEMORY USAGE read.
//
// Each slot of the table holds, beside the pointer, the field's scan position
// (the top 32 bits of its XXH3 hash, what HSCAN's and SSCAN's cursors walk):
// a scan reads the slots in a row and touches only the blocks it returns, so
// a call on a million fields does not fetch a million blocks to find a few.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include "modules/values/growing_set.hpp"

namespace stairkv::values {

class hash_table {
public:
  hash_table() = default;
  hash_table(const hash_table&) = delete;
  hash_table& operator=(const hash_table&) = delete;
  ~hash_table();

  // A table of the fields of compact bytes (compact_hash.hpp).
  static hash_table* from_compact(std::string_view bytes);

  std::size_t size() const noexcept {
    return set_.size();
  }

  bool find(std::string_view field, std::string_view& value) const;

  // True when the field is new.
  bool set(std::string_view field, std::string_view value);
  bool erase(std::string_view field);

  template <class F>
  void for_each(F&& f) const {
    set_.for_each([&](const slot& s) { f(s.e->field(), s.e->value()); });
  }

  // The fields whose scan position lies in [begin, end): f(field, value).
  template <class F>
  void for_each_in(std::uint64_t begin, std::uint64_t end, F&& f) const {
    set_.for_each([&](const slot& s) {
      if (s.position >= begin && s.position < end)
        f(s.e->field(), s.e->value());
    });
  }

  // A field's scan position: the top 32 bits of its XXH3 hash.
  static std::uint32_t scan_position(std::string_view field) noexcept;

  // The fields in the compact form (the serialisation of every hash).
  void write_compact(std::string& out) const;
  // The fields alone in a set's compact form (a set's large encoding is a
  // table of fields without values).
  void write_members(std::string& out) const;

  // Bytes held: the object, its blocks, its slots and control bytes.
  std::int64_t bytes() const noexcept;

private:
  struct entry {
    std::uint32_t field_size;
    std::uint32_t value_size;
    char data[1]; // field, then value

    std::string_view field() const noexcept {
      return {data, field_size};
    }
    std::string_view value() const noexcept {
      return {data + field_size, value_size};
    }
  };

  static entry* make(std::string_view field, std::string_view value);

  struct slot {
    entry* e;
    std::uint32_t position; // scan_position(e->field())
  };

  struct hasher {
    using is_transparent = void;
    std::size_t operator()(absl::string_view field) const {
      return absl::Hash<absl::string_view>{}(field);
    }
    std::size_t operator()(const slot& s) const {
      auto f = s.e->field();
      return (*this)(absl::string_view{f.data(), f.size()});
    }
  };
  struct equal {
    using is_transparent = void;
    static absl::string_view field_of(const slot& s) {
      auto f = s.e->field();
      return {f.data(), f.size()};
    }
    static absl::string_view field_of(absl::string_view f) {
      return f;
    }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return field_of(a) == field_of(b);
    }
  };

  growing_set<slot, hasher, equal> set_; // grows without a stall

  std::int64_t block_bytes_ = 0;
};

} // namespace stairkv::values
