// The shard's operations that inspect keys without changing them or counting
// an access: OBJECT and DEBUG OBJECT, and the digests of DEBUG DIGEST and
// DEBUG DIGEST-VALUE.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include <xxhash.h>

#include "modules/engine/staircase.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/merge.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/hash_table.hpp"
#include "modules/values/list_value.hpp"
#include "modules/values/compact_zset.hpp"
#include "modules/values/sorted_set.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::shard {

namespace {

// A digest: 160 bits, as Redis's (SHA-1 there; two seeded 128-bit XXH3 hashes
// here, cut to 20 bytes: a debugging aid, not a cryptographic one).
using digest_bytes = std::array<unsigned char, digest_size>;

// Feeds `parts` into two XXH3-128 states seeded differently and keeps the
// first 20 of their 32 bytes.
template <class Feed>
digest_bytes hash_of(Feed feed) {
  digest_bytes out{};
  unsigned char both[32];
  for (int half = 0; half < 2; ++half) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset_withSeed(state, static_cast<XXH64_hash_t>(half + 1));
    feed([state](const void* data, std::size_t size) {
      XXH3_128bits_update(state, data, size);
    });
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
    std::memcpy(both + half * 16, canonical.digest, 16);
    XXH3_freeState(state);
  }
  std::memcpy(out.data(), both, out.size());
  return out;
}

// A value's content in a form that depends on nothing but the content: a
// string's bytes; a hash's pairs sorted by field, a set's members sorted,
// packed (the same for every encoding and any order of writes).
std::string canonical_value(const record& r) {
  if (r.type() == value_type::list) {
    // In order: a list's order is its content.
    std::string out;
    r.container<values::list_value>()->for_each(
      [&](std::string_view e) { values::append_item(out, e); });
    return out;
  }
  if (r.type() == value_type::sorted_set) {
    // In order, each member with its score's exact bits (both encodings
    // keep the same order).
    std::string out;
    auto add = [&](std::string_view m, double s) {
      values::append_item(out, m);
      out.append(reinterpret_cast<const char*>(&s), sizeof s);
    };
    if (r.holds_container()) {
      r.container<values::sorted_set>()->for_each(add);
    } else {
      std::vector<values::compact_zset::element> row;
      values::compact_zset{r.value(), row}.for_each(add);
    }
    return out;
  }
  if (r.type() == value_type::set) {
    std::vector<std::string_view> members;
    if (r.holds_container())
      r.container<values::hash_table>()->for_each(
        [&](std::string_view m, std::string_view) { members.push_back(m); });
    else
      values::compact_set{r.value()}.for_each([&](std::string_view m) { members.push_back(m); });
    std::sort(members.begin(), members.end());
    std::string out;
    for (auto m : members)
      values::append_item(out, m);
    return out;
  }
  if (r.type() != value_type::hash)
    return std::string{r.value()};
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  auto add = [&](std::string_view f, std::string_view v) { pairs.emplace_back(f, v); };
  if (r.holds_container())
    r.container<values::hash_table>()->for_each(add);
  else
    values::compact_hash{r.value()}.for_each(add);
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [f, v] : pairs) {
    values::append_item(out, f);
    values::append_item(out, v);
  }
  return out;
}

// What a key contributes to DEBUG DIGEST: its name, type, value and deadline,
// each framed by its length so that no two keys feed the same bytes, and for
// a database past 0 the database first (the same key and value in two
// databases must not cancel out).
digest_bytes key_digest(const record& r, std::uint8_t db) {
  return hash_of([&](auto update) {
    if (db != 0)
      update(&db, sizeof db);
    auto key = r.key();
    auto content = canonical_value(r);
    std::string_view value = content;
    std::uint64_t key_size = key.size();
    std::uint64_t value_size = value.size();
    auto type = static_cast<std::uint8_t>(r.type());
    std::int64_t deadline = r.deadline;
    update(&key_size, sizeof key_size);
    update(key.data(), key.size());
    update(&type, sizeof type);
    update(&value_size, sizeof value_size);
    update(value.data(), value.size());
    update(&deadline, sizeof deadline);
  });
}

// DEBUG DIGEST-VALUE's digest: the value alone.
digest_bytes value_digest(const record& r) {
  return hash_of([&](auto update) {
    auto content = canonical_value(r);
    std::string_view value = content;
    auto type = static_cast<std::uint8_t>(r.type());
    update(&type, sizeof type);
    update(value.data(), value.size());
  });
}

// The encoding Redis would give a string value set as it is: "int" for a
// canonical 64-bit integer of at most 20 characters, "embstr" up to 44 bytes,
// "raw" beyond.
const char* string_encoding(std::string_view value) {
  std::int64_t n = 0;
  if (value.size() <= 20 && protocol::parse_int64(value, n)
      && std::to_string(n) == value)
    return "int";
  return value.size() <= 44 ? "embstr" : "raw";
}

// The encoding OBJECT ENCODING names, as Redis 7 names it.
const char* encoding_of(const record& r) {
  switch (r.type()) {
    case value_type::hash:
      return r.holds_container() ? "hashtable" : "listpack";
    case value_type::list:
      return "quicklist";
    case value_type::sorted_set:
      return r.holds_container() ? "skiplist" : "listpack";
    case value_type::set: {
      if (r.holds_container())
        return "hashtable";
      bool integers = true;
      values::compact_set{r.value()}.for_each(
        [&](std::string_view m) { integers = integers && values::is_integer_member(m); });
      return integers ? "intset" : "listpack";
    }
    default:
      return string_encoding(r.value());
  }
}

// The bytes a value takes in a snapshot record: its length as a varint, then
// the bytes.
std::size_t serialized_length(std::string_view value) {
  std::size_t prefix = 1;
  for (auto n = value.size(); n >= 128; n >>= 7)
    ++prefix;
  return prefix + value.size();
}

constexpr const char* lfu_selected
  = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take "
    "some time to adjust.";
constexpr const char* lfu_not_selected
  = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
    "Please note that when switching between policies at runtime LRU and LFU data "
    "will take some time to adjust.";

} // namespace

void table::op_object(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  const auto* r = db_->entries.find(work.key(op));
  auto view = op.arguments<object_args>().view;
  if (r == nullptr || is_expired(*r, now)) {
    if (view == object_view::debug)
      reply.error("ERR no such key");
    else
      reply.null();
    return;
  }
  bool lfu = ranking_ == memory::ranking::lfu;
  auto idle_ms = lfu ? 0 : memory::lru_idle(r->access, now);
  switch (view) {
    case object_view::encoding:
      reply.bulk(encoding_of(*r));
      return;
    case object_view::refcount:
      reply.integer(1);
      return;
    case object_view::idletime:
      if (lfu)
        reply.error(lfu_selected);
      else
        reply.integer(idle_ms / 1000);
      return;
    case object_view::freq:
      if (!lfu)
        reply.error(lfu_not_selected);
      else
        reply.integer(memory::lfu_count(r->access, now, bound_.lfu));
      return;
    case object_view::debug: {
      char line[256];
      std::snprintf(line, sizeof line,
                    "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u "
                    "lru_seconds_idle:%u",
                    static_cast<const void*>(r), encoding_of(*r),
                    serialized_length(canonical_value(*r)),
                    static_cast<unsigned>((r->access / 1000) & 0xffffff),
                    static_cast<unsigned>(idle_ms / 1000));
      reply.simple(line);
      return;
    }
  }
}

void table::op_digest(const batch&, const operation& op, batch_result& out,
                      deadline_ms now) {
  bool filter = op.code == op_code::digest_from;
  auto from = filter ? op.arguments<origin_args>() : origin_args{};
  digest_bytes total{};
  // Every database's keys, as Redis's digest covers them all.
  for (std::size_t db = 0; db < dbs_.size(); ++db) {
    if (!dbs_[db])
      continue;
    dbs_[db]->entries.for_each([&](const record& r) {
      if (filter && engine::shard_of(r.key(), from.stairs) != from.shard)
        return;
      if (is_expired(r, now))
        return;
      auto d = key_digest(r, static_cast<std::uint8_t>(db));
      for (std::size_t i = 0; i < total.size(); ++i)
        total[i] ^= d[i];
    });
  }
  out.add_share().elements = 1;
  out.replies.append(reinterpret_cast<const char*>(total.data()), total.size());
}

void table::op_digest_value(const batch& work, const operation& op, batch_result& out,
                            deadline_ms now) {
  const auto* r = db_->entries.find(work.key(op));
  digest_bytes d{};
  if (r != nullptr && !is_expired(*r, now))
    d = value_digest(*r);
  protocol::reply_writer{out.replies}.simple(hex_digits(d.data(), d.size())); // a status, as Redis
}

} // namespace stairkv::shard
