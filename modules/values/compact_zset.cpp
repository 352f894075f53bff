#include "modules/values/compact_zset.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_set>

#include "modules/values/packed.hpp"

namespace stairkv::values {

namespace {

bool before(const compact_zset::element& e, double score, std::string_view member) {
  return e.score < score
         || (e.score == score && sorted_set::compare_members(e.member, member) < 0);
}

} // namespace

compact_zset::compact_zset(std::string_view bytes, std::vector<element>& row) : row_(row) {
  row_.clear();
  packed_zset_reader reader{bytes};
  row_.reserve(static_cast<std::size_t>(reader.size()));
  std::string_view member;
  double score = 0;
  while (reader.next(member, score))
    row_.push_back({member, score});
}

compact_zset::compact_zset(std::vector<element>& row) : row_(row) {
  row_.clear();
}

bool compact_zset::valid(std::string_view bytes) {
  packed_zset_reader reader{bytes};
  // Each element takes at least 9 bytes.
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_varint(bytes, pos, count) || count > (bytes.size() - pos) / 9)
    return false;
  std::unordered_set<std::string_view> seen;
  std::string_view member;
  double score = 0;
  std::uint64_t read = 0;
  std::size_t used = pos;
  while (reader.next(member, score)) {
    if (std::isnan(score) || !seen.insert(member).second)
      return false;
    used += varint_size(member.size()) + member.size() + 8;
    ++read;
  }
  return read == count && used == bytes.size();
}

std::size_t compact_zset::index_of(std::string_view member) const {
  for (std::size_t i = 0; i < row_.size(); ++i)
    if (row_[i].member == member)
      return i;
  return row_.size();
}

std::size_t compact_zset::place_of(double score, std::string_view member) const {
  auto it = std::partition_point(row_.begin(), row_.end(),
                                 [&](const element& e) { return before(e, score, member); });
  return static_cast<std::size_t>(it - row_.begin());
}

bool compact_zset::score(std::string_view member, double& out) const {
  auto i = index_of(member);
  if (i == row_.size())
    return false;
  out = row_[i].score;
  return true;
}

bool compact_zset::set(std::string_view member, double score) {
  auto i = index_of(member);
  bool fresh = i == row_.size();
  if (!fresh) {
    if (row_[i].score == score)
      return false; // as sorted_set: an equal score keeps the stored one
    member = row_[i].member;
    row_.erase(row_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  auto at = place_of(score, member);
  row_.insert(row_.begin() + static_cast<std::ptrdiff_t>(at), element{member, score});
  changed_ = true;
  return fresh;
}

bool compact_zset::erase(std::string_view member) {
  auto i = index_of(member);
  if (i == row_.size())
    return false;
  row_.erase(row_.begin() + static_cast<std::ptrdiff_t>(i));
  changed_ = true;
  return true;
}

std::int64_t compact_zset::rank(std::string_view member, bool reverse) const {
  auto i = index_of(member);
  if (i == row_.size())
    return -1;
  return static_cast<std::int64_t>(reverse ? row_.size() - 1 - i : i);
}

bool compact_zset::at_rank(std::size_t rank, std::string_view& member, double& score) const {
  if (rank >= row_.size())
    return false;
  member = row_[rank].member;
  score = row_[rank].score;
  return true;
}

bool compact_zset::score_span(const score_bound& min, const score_bound& max,
                              std::size_t& first, std::size_t& last) const {
  if (row_.empty() || sorted_set::score_range_empty(min, max))
    return false;
  auto lo = std::partition_point(row_.begin(), row_.end(), [&](const element& e) {
    return !sorted_set::above_min(e.score, min);
  });
  auto hi = std::partition_point(row_.begin(), row_.end(), [&](const element& e) {
    return sorted_set::below_max(e.score, max);
  });
  if (lo >= hi)
    return false;
  first = static_cast<std::size_t>(lo - row_.begin());
  last = static_cast<std::size_t>(hi - row_.begin()) - 1;
  return true;
}

bool compact_zset::lex_span(const lex_bound& min, const lex_bound& max, std::size_t& first,
                            std::size_t& last) const {
  if (row_.empty() || sorted_set::lex_range_empty(min, max))
    return false;
  auto lo = std::partition_point(row_.begin(), row_.end(), [&](const element& e) {
    return !sorted_set::lex_above_min(e.member, min);
  });
  auto hi = std::partition_point(row_.begin(), row_.end(), [&](const element& e) {
    return sorted_set::lex_below_max(e.member, max);
  });
  if (lo >= hi)
    return false;
  first = static_cast<std::size_t>(lo - row_.begin());
  last = static_cast<std::size_t>(hi - row_.begin()) - 1;
  return true;
}

std::size_t compact_zset::count_by_score(score_bound min, score_bound max) const {
  std::size_t first = 0, last = 0;
  return score_span(min, max, first, last) ? last - first + 1 : 0;
}

std::size_t compact_zset::count_by_lex(const lex_bound& min, const lex_bound& max) const {
  std::size_t first = 0, last = 0;
  return lex_span(min, max, first, last) ? last - first + 1 : 0;
}

bool compact_zset::fits(const zset_limits& limits) const noexcept {
  if (row_.size() > limits.max_compact_entries)
    return false;
  return std::all_of(row_.begin(), row_.end(), [&](const element& e) {
    return e.member.size() <= limits.max_compact_value;
  });
}

void compact_zset::write(std::string& out) const {
  out.clear();
  append_varint(out, row_.size());
  for (const auto& e : row_)
    append_packed_element(out, e.member, e.score);
}

sorted_set* compact_zset::to_large() const {
  auto large = std::make_unique<sorted_set>();
  for (const auto& e : row_)
    large->set(e.member, e.score);
  return large.release();
}

} // namespace stairkv::values
