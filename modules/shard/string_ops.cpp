// The shard's string operations: one function per operation, each with the
// reply Redis gives (batch.hpp lists what every operation answers).

#include <cmath>

#include "modules/protocol/errors.hpp"
#include "modules/protocol/limits.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"

namespace stairkv::shard {

// GET: the value, or null (a miss).
void table::op_get(const batch& work, const operation& op, batch_result& out,
                   deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  if (auto* r = find_string(key, now, out, refused)) {
    ++hits_;
    reply.bulk(r->value());
  } else if (refused) {
    return;
  } else {
    ++misses_;
    note(key_event::keymiss, key);
    reply.null();
  }
}

// MGET's read of one key: a string's value, null for anything else.
void table::op_mget_one(const batch& work, const operation& op, batch_result& out,
                        deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto* r = find_live(key, now);
  if (r != nullptr && r->type() == value_type::string) {
    ++hits_;
    reply.bulk(r->value());
  } else {
    ++misses_;
    note(key_event::keymiss, key);
    reply.null();
  }
}

// SET key value [NX|XX] [GET] [EX|PX|KEEPTTL]: options were validated by the planner;
// here only the conditions that depend on the stored value are decided.
void table::op_set(const batch& work, const operation& op, batch_result& out,
                   deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  const auto& args = op.arguments<set_args>();
  auto flags = args.flags;
  auto deadline = args.deadline;
  auto* current = find_live(key, now);
  if ((flags & set_flag::return_old) && current != nullptr
      && current->type() != value_type::string) {
    reply.error(protocol::errors::wrong_type);
    return;
  }
  if (flags & set_flag::return_old) {
    if (current)
      reply.bulk(current->value());
    else
      reply.null();
  }
  bool blocked = ((flags & set_flag::only_if_absent) && current)
                 || ((flags & set_flag::only_if_present) && !current);
  bool counted = flags & set_flag::reply_count;
  if (blocked) {
    if (counted)
      reply.integer(0);
    else if (!(flags & set_flag::return_old))
      reply.null();
    return;
  }
  if (counted)
    reply.integer(1);
  else if (!(flags & set_flag::return_old))
    reply.simple("OK");
  current = store_value(current, key, work.value(op), now);
  if (!(flags & set_flag::keep_ttl))
    set_deadline(current, deadline);
  log_put(current);
  note(key_event::set, key);
  if (deadline != no_deadline)
    note(key_event::expire, key);
}

// APPEND: the new length; a missing key starts empty.
void table::op_append(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto more = work.value(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  auto current = r ? r->value().size() : 0;
  if (current + more.size() > protocol::max_bulk_length) {
    reply.error(protocol::errors::string_too_long);
    return;
  }
  if (r == nullptr)
    note(key_event::new_key, key);
  r = r ? db_->entries.append(r, more) : insert(key, more, now);
  log_put(r);
  note(key_event::append, key);
  reply.integer(static_cast<std::int64_t>(r->value().size()));
}

// STRLEN: the value's length, 0 for a missing key.
void table::op_strlen(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  if (r == nullptr)
    note(key_event::keymiss, key);
  reply.integer(r ? static_cast<std::int64_t>(r->value().size()) : 0);
}

// INCRBY and friends (incr_args): the stored string must be a Redis-strict
// 64-bit integer; a missing key counts as 0. The key keeps its deadline, as in
// Redis.
void table::op_incr_by(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto delta = op.arguments<incr_args>().delta;
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  std::int64_t current = 0;
  if (r && !protocol::parse_int64(r->value(), current)) {
    reply.error(protocol::errors::not_an_integer);
    return;
  }
  if (protocol::sum_overflows(current, delta)) {
    reply.error(protocol::errors::overflow);
    return;
  }
  current += delta;
  char digits[protocol::int64_buffer_size];
  auto n = protocol::format_int64(current, digits);
  r = store_value(r, key, std::string_view{digits, n}, now);
  log_put(r);
  note(key_event::incrby, key);
  reply.integer(current);
}

// INCRBYFLOAT (value: the increment): Redis's long double arithmetic and its
// human-friendly formatting (17 digits, trailing zeros cut); the key keeps its
// deadline.
void table::op_incr_by_float(const batch& work, const operation& op, batch_result& out,
                             deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  long double current = 0;
  long double delta = 0;
  if ((r && !protocol::parse_long_double(r->value(), current))
      || !protocol::parse_long_double(work.value(op), delta)) {
    reply.error(protocol::errors::not_a_float);
    return;
  }
  auto result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    reply.error(protocol::errors::nan_or_infinity);
    return;
  }
  auto text = protocol::format_long_double(result);
  r = store_value(r, key, text, now);
  log_put(r);
  note(key_event::incrbyfloat, key);
  reply.bulk(text);
}

// GETRANGE (range_args): inclusive bounds, negative ones counted from the end,
// clamped as Redis clamps them; a missing key is an empty string.
void table::op_get_range(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto [start, end] = op.arguments<range_args>();
  bool refused = false;
  auto* r = find_string(work.key(op), now, out, refused);
  if (refused)
    return;
  std::string_view value = r ? r->value() : std::string_view{};
  auto size = static_cast<std::int64_t>(value.size());
  if (start < 0 && end < 0 && start > end) {
    reply.bulk({});
    return;
  }
  if (start < 0)
    start += size;
  if (end < 0)
    end += size;
  if (start < 0)
    start = 0;
  if (end < 0)
    end = 0;
  if (end >= size)
    end = size - 1;
  if (size == 0 || start > end) {
    reply.bulk({});
    return;
  }
  reply.bulk(value.substr(static_cast<std::size_t>(start),
                          static_cast<std::size_t>(end - start + 1)));
}

// SETRANGE (offset_args): overwrites from the offset, padding with zero bytes;
// an empty value changes nothing (and creates no key).
void table::op_set_range(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto offset = op.arguments<offset_args>().offset;
  auto value = work.value(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  auto current = r ? r->value() : std::string_view{};
  if (value.empty()) {
    reply.integer(static_cast<std::int64_t>(current.size()));
    return;
  }
  auto needed = static_cast<std::uint64_t>(offset) + value.size();
  if (needed > protocol::max_bulk_length) {
    reply.error(protocol::errors::string_too_long);
    return;
  }
  scratch_.assign(current.data(), current.size());
  if (scratch_.size() < needed)
    scratch_.resize(needed, '\0');
  scratch_.replace(static_cast<std::size_t>(offset), value.size(), value.data(),
                   value.size());
  r = store_value(r, key, scratch_, now);
  log_put(r);
  note(key_event::setrange, key);
  reply.integer(static_cast<std::int64_t>(r->value().size()));
  if (scratch_.capacity() > 64 * 1024)
    std::string{}.swap(scratch_);
}

// GETDEL: the value (or null), and the key is gone.
void table::op_get_delete(const batch& work, const operation& op, batch_result& out,
                          deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    ++misses_;
    reply.null();
    return;
  }
  ++hits_;
  reply.bulk(r->value());
  note(key_event::del, key);
  erase(r);
}

// GETEX (getex_args): the value, and the deadline kept, set or removed. A
// deadline already past deletes the key.
void table::op_get_expire(const batch& work, const operation& op, batch_result& out,
                          deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_string(key, now, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    reply.null();
    return;
  }
  ++hits_;
  reply.bulk(r->value());
  const auto& args = op.arguments<getex_args>();
  if (args.mode == getex_mode::persist)
    drop_deadline(r, key);
  else if (args.mode == getex_mode::set)
    change_deadline(r, key, args.deadline, now);
}

} // namespace stairkv::shard
