#pragma once

// A small sorted set in its record's own bytes (Redis's listpack encoding of
// a zset): at most zset-max-listpack-entries members of at most
// zset-max-listpack-value bytes each, kept as the serialised form of
// sorted_set (write_packed: the count, then each element as its member item
// and its score's 8 bytes, lowest first), so that DUMP, snapshots and the
// gateway's readers take it as it is.
//
// compact_zset reads those bytes into a row of views (member, score), in
// order, and answers every question sorted_set answers, the same way (the
// same bound rules, the same LIMIT arithmetic), in O(n) over at most a few
// hundred elements, as a listpack walk does. Its changes keep the row in
// order; write() gives the bytes to store. Views point into the bytes it was
// read from and into the members given to set(), which must outlive it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/values/sorted_set.hpp"

namespace stairkv::values {

struct zset_limits {
  std::size_t max_compact_entries = 128; // zset-max-listpack-entries
  std::size_t max_compact_value = 64;    // zset-max-listpack-value
};

// The bytes of a sorted set with no element (a key being made).
inline std::string_view empty_packed_zset() noexcept {
  return std::string_view{"\0", 1};
}

class compact_zset {
public:
  struct element {
    std::string_view member;
    double score;
  };

  // The elements of `bytes` (trusted: the table's own), read into `row`,
  // scratch space reused from call to call.
  compact_zset(std::string_view bytes, std::vector<element>& row);
  // An empty set, for a key being created.
  explicit compact_zset(std::vector<element>& row);

  // Bytes from outside (RESTORE, a file): the serialised form, no NaN, no
  // member twice; the elements in any order.
  static bool valid(std::string_view bytes);

  std::size_t size() const noexcept {
    return row_.size();
  }
  // Whether a change was made since it was read (write() is owed).
  bool changed() const noexcept {
    return changed_;
  }
  bool score(std::string_view member, double& out) const;
  bool set(std::string_view member, double score);
  bool erase(std::string_view member);
  std::int64_t rank(std::string_view member, bool reverse = false) const;
  bool at_rank(std::size_t rank, std::string_view& member, double& score) const;

  template <class F>
  void range_by_rank(std::size_t start, std::size_t stop, bool reverse, F&& f) const {
    if (start > stop || stop >= row_.size())
      return;
    for (std::size_t r = start; r <= stop; ++r) {
      const auto& e = row_[reverse ? row_.size() - 1 - r : r];
      f(e.member, e.score);
    }
  }

  template <class F>
  std::size_t range_by_score(score_bound min, score_bound max, bool reverse,
                             std::int64_t offset, std::int64_t limit, F&& f) const {
    std::size_t first = 0, last = 0;
    if (offset < 0 || !score_span(min, max, first, last))
      return 0;
    return walk(first, last, reverse, offset, limit, f);
  }

  template <class F>
  std::size_t range_by_lex(const lex_bound& min, const lex_bound& max, bool reverse,
                           std::int64_t offset, std::int64_t limit, F&& f) const {
    std::size_t first = 0, last = 0;
    if (offset < 0 || !lex_span(min, max, first, last))
      return 0;
    return walk(first, last, reverse, offset, limit, f);
  }

  std::size_t count_by_score(score_bound min, score_bound max) const;
  std::size_t count_by_lex(const lex_bound& min, const lex_bound& max) const;

  template <class F>
  std::size_t erase_by_rank(std::size_t start, std::size_t stop, F&& f) {
    if (start > stop || stop >= row_.size())
      return 0;
    return erase_span(start, stop, f);
  }
  template <class F>
  std::size_t erase_by_score(score_bound min, score_bound max, F&& f) {
    std::size_t first = 0, last = 0;
    if (!score_span(min, max, first, last))
      return 0;
    return erase_span(first, last, f);
  }
  template <class F>
  std::size_t erase_by_lex(const lex_bound& min, const lex_bound& max, F&& f) {
    std::size_t first = 0, last = 0;
    if (!lex_span(min, max, first, last))
      return 0;
    return erase_span(first, last, f);
  }

  template <class F>
  std::size_t pop(std::size_t count, bool highest, F&& f) {
    auto n = std::min(count, row_.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto& e = row_[highest ? row_.size() - 1 - i : i];
      f(e.member, e.score);
    }
    if (highest)
      row_.erase(row_.end() - static_cast<std::ptrdiff_t>(n), row_.end());
    else
      row_.erase(row_.begin(), row_.begin() + static_cast<std::ptrdiff_t>(n));
    changed_ = changed_ || n > 0;
    return n;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : row_)
      f(e.member, e.score);
  }

  // Whether the set may stay compact under `limits`.
  bool fits(const zset_limits& limits) const noexcept;
  // The serialised form of the set as it is now, replacing what `out` held.
  void write(std::string& out) const;
  // A large set of the same elements.
  sorted_set* to_large() const;

private:
  // [first, last] of the elements in a range, as sorted_set finds them; false
  // when it holds none.
  bool score_span(const score_bound& min, const score_bound& max, std::size_t& first,
                  std::size_t& last) const;
  bool lex_span(const lex_bound& min, const lex_bound& max, std::size_t& first,
                std::size_t& last) const;
  // Where (score, member) goes: the first element after it.
  std::size_t place_of(double score, std::string_view member) const;
  std::size_t index_of(std::string_view member) const; // size() when missing

  template <class F>
  std::size_t walk(std::size_t first, std::size_t last, bool reverse, std::int64_t offset,
                   std::int64_t limit, F& f) const {
    auto span = last - first + 1;
    if (static_cast<std::uint64_t>(offset) >= span)
      return 0;
    std::size_t visited = 0;
    for (auto i = static_cast<std::size_t>(offset); i < span && limit != 0; ++i) {
      const auto& e = row_[reverse ? last - i : first + i];
      f(e.member, e.score);
      ++visited;
      if (limit > 0)
        --limit;
    }
    return visited;
  }

  template <class F>
  std::size_t erase_span(std::size_t first, std::size_t last, F& f) {
    for (auto i = first; i <= last; ++i)
      f(row_[i].member);
    row_.erase(row_.begin() + static_cast<std::ptrdiff_t>(first),
               row_.begin() + static_cast<std::ptrdiff_t>(last + 1));
    changed_ = true;
    return last - first + 1;
  }

  std::vector<element>& row_;
  bool changed_ = false;
};

} // namespace stairkv::values
