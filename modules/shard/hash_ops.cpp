// The shard's hash operations: one function per operation, each with the reply
// Redis gives (batch.hpp lists what every operation answers). A hash is kept
// compact (its fields in the record's own bytes, values/compact_hash.hpp)
// until it has more than hash-max-listpack-entries fields or a field or value
// longer than hash-max-listpack-value, then in a table of its own
// (values/hash_table.hpp) for good. Every change reaches the append-only file
// as the fields it set or removed, never as the whole hash.

#include <cmath>

#include <algorithm>

#include "modules/commands/glob.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/hash_table.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::shard {

namespace {

constexpr std::string_view not_an_integer_field = "ERR hash value is not an integer";
constexpr std::string_view not_a_float_field = "ERR hash value is not a float";

} // namespace

bool table::hash_field(const record* r, std::string_view field, std::string_view& value) {
  if (r->holds_container())
    return r->container<values::hash_table>()->find(field, value);
  return values::compact_hash{r->value()}.find(field, value);
}

std::size_t table::hash_size(const record* r) {
  if (r->holds_container())
    return r->container<values::hash_table>()->size();
  return values::compact_hash{r->value()}.size();
}

record* table::store_large(record* r, std::string_view key, value_type type,
                           values::hash_table* elements, deadline_ms now) {
  if (r == nullptr)
    r = insert(key, {}, now, type);
  return db_->entries.assign_container(r, type, elements);
}

void table::end_removal(record*& r, std::string_view key, std::int64_t removed,
                        std::size_t left,
                        void (persistence::journal::*recorded)(std::string_view,
                                                               std::string_view),
                        std::string_view items) {
  if (removed == 0)
    return;
  if (left == 0) {
    note(key_event::del, key);
    erase(r); // recorded as the key's deletion
    r = nullptr;
    return;
  }
  ++changes_;
  if (journal_ != nullptr)
    (journal_->*recorded)(key, items);
}

void table::answer_no_draw(batch_result& out, const random_args& args, bool as_set) {
  protocol::reply_writer reply{out.replies, args.resp};
  if (!args.counted)
    reply.null();
  else if (as_set)
    reply.set(0);
  else
    reply.array(0);
}

record* table::hash_set(record* r, std::string_view key, std::string_view pairs,
                        std::int64_t& added, deadline_ms now) {
  values::packed_reader items{pairs};
  std::string_view field, value;
  if (r != nullptr && r->holds_container()) {
    change_container(r, [&](values::hash_table& fields) {
      while (items.next(field) && items.next(value))
        added += fields.set(field, value) ? 1 : 0;
    });
    return r;
  }
  values::compact_hash_edit edit{r != nullptr ? r->value() : values::empty_compact_hash(),
                                 pairs_};
  bool large = false;
  while (items.next(field) && items.next(value)) {
    added += edit.set(field, value) ? 1 : 0;
    large = large || !hash_limits_.fit(field, value);
  }
  large = large || edit.size() > hash_limits_.max_compact_entries;
  if (r == nullptr)
    note(key_event::new_key, key);
  if (!large)
    return store_compact(r, key, edit, value_type::hash, now);
  // The table is built from the pairs first: they point into the record's
  // bytes, which the change of encoding frees.
  auto* fields = new values::hash_table();
  for (const auto& [f, v] : edit.pairs())
    fields->set(f, v);
  return store_large(r, key, value_type::hash, fields, now);
}

void table::set_field(record* r, std::string_view key, std::string_view field,
                      std::string_view value, key_event event, deadline_ms now) {
  packed_.clear();
  values::append_item(packed_, field);
  values::append_item(packed_, value);
  std::int64_t added = 0;
  hash_set(r, key, packed_, added, now);
  ++changes_;
  if (journal_ != nullptr)
    journal_->hash_set(key, packed_);
  note(event, key);
}

// HSET, HMSET, HSETNX (hash_args::mode; value: the packed pairs).
void table::op_hset(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto pairs = work.value(op);
  auto mode = op.arguments<hash_args>().mode;
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  if (mode == hash_mode::if_absent && r != nullptr) {
    values::packed_reader items{pairs};
    std::string_view field, value;
    if (items.next(field) && hash_field(r, field, value)) {
      reply.integer(0);
      return;
    }
  }
  std::int64_t added = 0;
  hash_set(r, key, pairs, added, now);
  ++changes_;
  if (journal_ != nullptr)
    journal_->hash_set(key, pairs);
  note(key_event::hset, key);
  if (mode == hash_mode::ok)
    reply.simple("OK");
  else if (mode == hash_mode::if_absent)
    reply.integer(1);
  else
    reply.integer(added);
}

// HGET (value: the field): its value, or null.
void table::op_hget(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  std::string_view value;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    reply.null();
    return;
  }
  ++hits_;
  if (hash_field(r, work.value(op), value))
    reply.bulk(value);
  else
    reply.null();
}

// HMGET (value: the packed fields): one bulk or null per field.
void table::op_hmget(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  protocol::reply_writer reply{out.replies, op.arguments<hash_args>().resp};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
  } else {
    ++hits_;
  }
  std::size_t count = 0;
  values::packed_reader counting{work.value(op)};
  std::string_view field, value;
  while (counting.next(field))
    ++count;
  reply.array(count);
  values::packed_reader fields{work.value(op)};
  while (fields.next(field)) {
    if (r != nullptr && hash_field(r, field, value))
      reply.bulk(value);
    else
      reply.null();
  }
}

// HDEL (value: the packed fields): how many it removed; a hash left without a
// field is deleted.
void table::op_hdel(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto fields = work.value(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    reply.integer(0);
    return;
  }
  reply.integer(remove_elements<values::compact_hash_edit>(
    r, key, fields, pairs_, key_event::hdel, &persistence::journal::hash_del, now));
}

// HLEN: the field count, 0 for a missing key.
void table::op_hlen(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::hash, out, refused);
  if (refused)
    return;
  protocol::reply_writer{out.replies}.integer(
    r != nullptr ? static_cast<std::int64_t>(hash_size(r)) : 0);
}

// HSTRLEN (value: the field): its value's length, 0 when missing.
void table::op_hstrlen(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::hash, out, refused);
  if (refused)
    return;
  std::string_view value;
  bool found = r != nullptr && hash_field(r, work.value(op), value);
  protocol::reply_writer{out.replies}.integer(
    found ? static_cast<std::int64_t>(value.size()) : 0);
}

// HEXISTS (value: the field): :1 / :0.
void table::op_hexists(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::hash, out, refused);
  if (refused)
    return;
  std::string_view value;
  protocol::reply_writer{out.replies}.integer(
    r != nullptr && hash_field(r, work.value(op), value) ? 1 : 0);
}

// HGETALL (a map of fields to values; RESP2: a flat array), HKEYS, HVALS.
void table::op_hgetall(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  const auto& args = op.arguments<hash_args>();
  protocol::reply_writer reply{out.replies, args.resp};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    if (args.mode == hash_mode::all)
      reply.map(0);
    else
      reply.array(0);
    return;
  }
  ++hits_;
  auto count = hash_size(r);
  if (args.mode == hash_mode::all)
    reply.map(count);
  else
    reply.array(count);
  auto each = [&](std::string_view field, std::string_view value) {
    if (args.mode != hash_mode::values)
      reply.bulk(field);
    if (args.mode != hash_mode::fields)
      reply.bulk(value);
  };
  if (r->holds_container())
    r->container<values::hash_table>()->for_each(each);
  else
    values::compact_hash{r->value()}.for_each(each);
}

// HINCRBY (incr_args; value: the field): the field's value must be a 64-bit
// integer (a missing one counts as 0).
void table::op_hincrby(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto field = work.value(op);
  auto delta = op.arguments<incr_args>().delta;
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  std::int64_t current = 0;
  std::string_view value;
  if (r != nullptr && hash_field(r, field, value) && !protocol::parse_int64(value, current)) {
    reply.error(not_an_integer_field);
    return;
  }
  if (protocol::sum_overflows(current, delta)) {
    reply.error(protocol::errors::overflow);
    return;
  }
  current += delta;
  char digits[protocol::int64_buffer_size];
  auto n = protocol::format_int64(current, digits);
  set_field(r, key, field, {digits, n}, key_event::hincrby, now);
  reply.integer(current);
}

// HINCRBYFLOAT (value: the field, then the increment, packed): Redis's long
// double arithmetic and formatting, as INCRBYFLOAT.
void table::op_hincrbyfloat(const batch& work, const operation& op, batch_result& out,
                            deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  values::packed_reader items{work.value(op)};
  std::string_view field, increment;
  items.next(field);
  items.next(increment);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::hash, out, refused);
  if (refused)
    return;
  long double current = 0;
  long double delta = 0;
  if (!protocol::parse_long_double(increment, delta)) {
    reply.error(protocol::errors::not_a_float);
    return;
  }
  if (std::isnan(delta) || std::isinf(delta)) {
    reply.error("ERR value is NaN or Infinity");
    return;
  }
  std::string_view value;
  if (r != nullptr && hash_field(r, field, value)
      && !protocol::parse_long_double(value, current)) {
    reply.error(not_a_float_field);
    return;
  }
  auto result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    reply.error(protocol::errors::nan_or_infinity);
    return;
  }
  auto text = protocol::format_long_double(result);
  set_field(r, key, field, text, key_event::hincrbyfloat, now);
  reply.bulk(text);
}

// HRANDFIELD (random_args): fields drawn uniformly. A count >= 0 gives that
// many distinct fields (all of them when it is at least the hash's size), a
// negative one that many draws, repeats allowed; WITHVALUES adds each value
// (RESP3: each pair an array of two).
void table::op_hrandfield(const batch& work, const operation& op, batch_result& out,
                          deadline_ms now) {
  const auto& args = op.arguments<random_args>();
  protocol::reply_writer reply{out.replies, args.resp};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::hash, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    answer_no_draw(out, args, false);
    return;
  }
  // The pairs, in a vector reused from call to call: a draw is an index.
  pairs_.clear();
  auto collect = [&](std::string_view f, std::string_view v) { pairs_.emplace_back(f, v); };
  if (r->holds_container())
    r->container<values::hash_table>()->for_each(collect);
  else
    values::compact_hash{r->value()}.for_each(collect);
  auto size = pairs_.size();
  if (!args.counted) {
    reply.bulk(pairs_[next_random() % size].first);
    return;
  }
  bool unique = args.count >= 0;
  auto count = static_cast<std::size_t>(unique ? args.count : -args.count);
  if (unique && count > size)
    count = size;
  if (unique)
    draw_distinct(pairs_, count);
  bool nested = args.with_values && args.resp >= 3;
  reply.array(args.with_values && !nested ? count * 2 : count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [field, value] = unique ? pairs_[i] : pairs_[next_random() % size];
    if (nested)
      reply.array(2);
    reply.bulk(field);
    if (args.with_values)
      reply.bulk(value);
  }
}

std::pair<std::uint64_t, std::uint64_t> table::scan_window(const field_scan_args& args,
                                                          std::size_t size) {
  constexpr std::uint64_t positions = std::uint64_t{1} << 32;
  auto n = std::max<std::uint64_t>(1, size);
  auto wanted = std::max<std::uint64_t>(
    static_cast<std::uint64_t>(std::max<std::int64_t>(1, args.count)), n / 64);
  unsigned span = 0; // the stretch's width, as a power of two
  while (span < 32 && (n << span) < wanted * positions)
    ++span;
  auto begin = std::min(args.cursor, positions);
  return {begin, std::min(begin + (std::uint64_t{1} << span), positions)};
}

// HSCAN (field_scan_args; value: the MATCH glob). A compact hash answers
// whole, cursor 0, as Redis's listpack does. A large one is walked by scan
// position: each field's position is the top 32 bits of its XXH3 hash, and
// the cursor is the first position of the next stretch. A stretch is sized to
// hold about COUNT fields, and at least a 64th of the hash, so that a walk
// takes at most about 64 calls of one pass each (a pass reads the table's
// slots, which carry the positions, and only the fields it returns); fields
// present from the first call to the last are returned at least once,
// whatever the table does meanwhile, as positions do not move.
void table::op_hscan(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  const auto& args = op.arguments<field_scan_args>();
  auto pattern = work.value(op);
  protocol::reply_writer reply{out.replies};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::hash, out, refused);
  if (refused)
    return;
  auto matches = [&](std::string_view field) {
    return pattern.empty() || commands::glob_match(pattern, field);
  };
  pairs_.clear();
  std::uint64_t next = 0;
  if (r != nullptr && !r->holds_container()) {
    values::compact_hash{r->value()}.for_each([&](std::string_view f, std::string_view v) {
      if (matches(f))
        pairs_.emplace_back(f, v);
    });
  } else if (r != nullptr) {
    const auto* fields = r->container<values::hash_table>();
    auto [begin, end] = scan_window(args, fields->size());
    fields->for_each_in(begin, end, [&](std::string_view f, std::string_view v) {
      if (matches(f))
        pairs_.emplace_back(f, v);
    });
    next = end >= (std::uint64_t{1} << 32) ? 0 : end;
  }
  reply.array(2);
  reply.bulk(std::to_string(next));
  reply.array(pairs_.size() * 2);
  for (const auto& [field, value] : pairs_) {
    reply.bulk(field);
    reply.bulk(value);
  }
}

} // namespace stairkv::shard
