#pragma once

// The one place that combines shard replies into one: used by plans (a command
// whose keys or keyless work spread over shards) and by an old shard during a
// resize (its own share plus those of the new shards that hold its former keys).
// Both gather their parts with these functions and only render differently:
// a plan to the client's RESP, a shard back into a batch_result.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modules/shard/batch.hpp"

namespace stairkv::shard {

// One shard reply among those a merge combines.
struct reply_part {
  const batch_result* result;
  std::size_t index;

  std::string_view bytes() const {
    return result->reply(index);
  }
  const op_share* share() const {
    return result->share(index);
  }
  // Whether the shard answered with an error (which a merge passes on).
  bool is_error() const {
    auto b = bytes();
    return !b.empty() && b.front() == '-';
  }
};

using reply_parts = std::vector<reply_part>;

// The counts of counted operations added up (DEL, EXISTS, DBSIZE), from their
// typed shares (operation::counted). A part without one answered with
// something else (an error), which is then the answer instead.
struct merged_count {
  std::int64_t total = 0;
  std::string_view error; // non-empty: pass this on instead
};

inline merged_count sum_counts(const reply_parts& parts) {
  merged_count m;
  for (const auto& p : parts) {
    const auto* share = p.share();
    if (share == nullptr) {
      m.error = p.bytes();
      return m;
    }
    m.total += share->count;
  }
  return m;
}

// The first error among the parts, or empty (MSET, FLUSHALL: +OK otherwise).
inline std::string_view first_error(const reply_parts& parts) {
  for (const auto& p : parts)
    if (p.is_error())
      return p.bytes();
  return {};
}

// The elements of keys/scan shares joined: the counts added, the bulks kept in
// order, the keys looked at summed (SCAN).
struct merged_elements {
  std::int64_t elements = 0;
  std::int64_t looked = 0;
  std::vector<std::string_view> bodies;
  std::string_view error; // non-empty: a part answered with this error
};

inline merged_elements join_elements(const reply_parts& parts) {
  merged_elements m;
  m.bodies.reserve(parts.size());
  for (const auto& p : parts) {
    const auto* share = p.share();
    if (share == nullptr) {
      m.error = p.bytes();
      return m;
    }
    m.elements += share->elements;
    m.looked += share->looked;
    m.bodies.push_back(p.bytes());
  }
  return m;
}

// The size of a DEBUG DIGEST digest (op_code::digest), as Redis's SHA-1.
inline constexpr std::size_t digest_size = 20;

// Bytes as lower-case hex digits, two per byte (DEBUG DIGEST, DIGEST-VALUE).
inline std::string hex_digits(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    text.push_back(digits[bytes[i] >> 4]);
    text.push_back(digits[bytes[i] & 15]);
  }
  return text;
}

// DEBUG DIGEST: the 20-byte digests of the parts (one or more back to back in
// each, see op_code::digest) XORed into one, as 40 hex digits; every digit is
// 0 for an empty node. `error` is set instead when a part answered with one.
struct merged_digest {
  std::string hex;
  std::string_view error;
};

inline merged_digest xor_digests(const reply_parts& parts) {
  unsigned char total[digest_size] = {};
  merged_digest m;
  auto joined = join_elements(parts);
  if (!joined.error.empty()) {
    m.error = joined.error;
    return m;
  }
  for (auto body : joined.bodies)
    for (std::size_t i = 0; i < body.size(); ++i)
      total[i % digest_size] ^= static_cast<unsigned char>(body[i]);
  m.hex = hex_digits(total, digest_size);
  return m;
}

// The statistics of several shards as one (INFO): sums, and the mean time left
// weighted by each shard's keys with a deadline. Parts without figures (a shard
// that could not answer) count as empty.
inline table_stats sum_stats(const reply_parts& parts) {
  table_stats total;
  double ttl_weighted = 0;
  for (const auto& p : parts) {
    const auto* share = p.share();
    if (share == nullptr)
      continue;
    const auto& s = share->stats;
    total.keys += s.keys;
    total.keys_with_deadline += s.keys_with_deadline;
    total.hits += s.hits;
    total.misses += s.misses;
    total.expired += s.expired;
    total.backlog += s.backlog;
    total.stale += s.stale;
    ttl_weighted += static_cast<double>(s.avg_ttl_ms)
                    * static_cast<double>(s.keys_with_deadline);
    for (const auto& d : s.databases) {
      auto it = std::find_if(total.databases.begin(), total.databases.end(),
                             [&](const database_keys& t) { return t.db == d.db; });
      if (it == total.databases.end()) {
        total.databases.push_back(d);
        continue;
      }
      it->keys += d.keys;
      it->keys_with_deadline += d.keys_with_deadline;
      it->deadline_sum += d.deadline_sum;
    }
  }
  std::sort(total.databases.begin(), total.databases.end(),
            [](const database_keys& a, const database_keys& b) { return a.db < b.db; });
  if (total.keys_with_deadline > 0)
    total.avg_ttl_ms = static_cast<std::int64_t>(
      ttl_weighted / static_cast<double>(total.keys_with_deadline));
  return total;
}

} // namespace stairkv::shard
