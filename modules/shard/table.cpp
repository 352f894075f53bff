#include "modules/shard/table.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "modules/commands/glob.hpp"
#include "modules/engine/staircase.hpp"
#include "modules/protocol/limits.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::shard {

namespace {

bool is_expired(const record& r, deadline_ms now) {
  return r.deadline != no_deadline && r.deadline <= now;
}

// The operations of the commands Redis marks denyoom: refused at the memory
// bound when no room can be made. (rename_to is not: its key was already taken
// from its old name, and refusing it would lose the value.)
bool may_grow(op_code code) {
  switch (code) {
    case op_code::set:
    case op_code::append:
    case op_code::incr_by:
    case op_code::incr_by_float:
    case op_code::set_range:
      return true;
    default:
      return false;
  }
}

} // namespace

record* table::find_live(std::string_view key, deadline_ms now) {
  auto* r = entries_.find(key);
  if (r == nullptr)
    return nullptr;
  if (is_expired(*r, now)) {
    ++expired_;
    note(key_event::expired, r->key());
    drop(r);
    return nullptr;
  }
  if (ranking_ == memory::ranking::lfu)
    r->access = memory::lfu_touch(r->access, now, next_random(), bound_.lfu);
  else
    r->access = memory::lru_stamp(now);
  return r;
}

record* table::insert(std::string_view key, std::string_view value, deadline_ms now) {
  auto* r = entries_.insert(key, value, no_deadline);
  r->access = ranking_ == memory::ranking::lfu ? memory::lfu_fresh(now)
                                               : memory::lru_stamp(now);
  return r;
}

std::uint64_t table::next_random() noexcept {
  // xorshift64*: plenty for drawing keys and LFU's coin.
  random_state_ ^= random_state_ >> 12;
  random_state_ ^= random_state_ << 25;
  random_state_ ^= random_state_ >> 27;
  return random_state_ * 0x2545f4914f6cdd1dull;
}

bool table::refuse_growth(deadline_ms now) {
  if (memory() <= bound_.allowed || make_room(now))
    return false;
  // Nothing more may go here. Under noeviction, or a volatile policy without a
  // key with a deadline left, the write is refused, as Redis does. Under an
  // allkeys policy this table is empty: the bytes are in other shards (an old
  // engine's during a resize), which evict as their own writes arrive.
  return bound_.policy == memory::policy::noeviction
         || memory::volatile_only(bound_.policy);
}

record* table::pick_victim(deadline_ms now) {
  if (ranking_ == memory::ranking::none)
    return nullptr;
  bool with_deadline_only = memory::volatile_only(bound_.policy);
  int wanted = ranking_ == memory::ranking::random ? 1 : std::max(1, bound_.samples);
  // Keys with a deadline are drawn from the deadline queue, whose entries may be
  // stale (two in three at worst, see compact_deadlines): allow misses.
  int attempts = with_deadline_only ? wanted * 8 + 64 : wanted;
  record* best = nullptr;
  std::uint64_t best_score = 0; // higher: a better victim
  for (int i = 0, taken = 0; i < attempts && taken < wanted; ++i) {
    record* r = nullptr;
    if (with_deadline_only) {
      if (deadlines_.empty())
        break;
      const auto& e = deadlines_.at(next_random() % deadlines_.size());
      r = entries_.find(e.key);
      if (r == nullptr || r->deadline != e.deadline)
        continue;
    } else {
      if (entries_.size() == 0)
        break;
      r = entries_.at(next_random() % entries_.size());
    }
    ++taken;
    if (is_expired(*r, now))
      return r; // gone anyway: reclaim it first
    std::uint64_t score = 0;
    switch (ranking_) {
      case memory::ranking::lru:
        score = memory::lru_idle(r->access, now);
        break;
      case memory::ranking::lfu:
        // Least frequent first; among equals, least recent.
        score = (static_cast<std::uint64_t>(255 - memory::lfu_count(r->access, now, bound_.lfu)) << 32)
                | ((r->access >> 8) ^ 0xffffffu);
        break;
      case memory::ranking::ttl:
        score = ~static_cast<std::uint64_t>(r->deadline);
        break;
      case memory::ranking::random:
      case memory::ranking::none:
        break;
    }
    if (best == nullptr || score > best_score) {
      best = r;
      best_score = score;
    }
  }
  return best;
}

bool table::make_room(deadline_ms now) {
  bool within = true;
  while (memory() > bound_.allowed) {
    auto* victim = pick_victim(now);
    if (victim == nullptr && keys_with_deadline_ > 0
        && memory::volatile_only(bound_.policy)) {
      // Every draw hit a stale entry: drop them all and draw again.
      compact_deadlines(true);
      victim = pick_victim(now);
    }
    if (victim == nullptr) {
      within = false;
      break;
    }
    if (is_expired(*victim, now)) {
      ++expired_;
      note(key_event::expired, victim->key());
      drop(victim);
    } else {
      ++evicted_;
      note(key_event::evicted, victim->key());
      erase(victim);
    }
  }
  compact_deadlines(false);
  return within;
}

void table::erase(record* r) {
  ++changes_;
  if (journal_ != nullptr)
    journal_->del(r->key());
  drop(r);
}

void table::drop(record* r) {
  if (handing_over_ && cursor_ != entries_.end() && *cursor_ == r)
    ++cursor_;
  track_deadline(r->deadline, -1);
  entries_.erase(r);
}

record* table::release_live(std::string_view key, deadline_ms now) {
  auto* r = find_live(key, now);
  if (r == nullptr)
    return nullptr;
  if (handing_over_ && cursor_ != entries_.end() && *cursor_ == r)
    ++cursor_;
  track_deadline(r->deadline, -1);
  entries_.release(r);
  return r;
}

void table::adopt(std::vector<record*>& records) {
  for (auto*& r : records) {
    auto deadline = r->deadline;
    if (entries_.adopt(r) && deadline != no_deadline) {
      track_deadline(deadline, +1);
      deadlines_.add(r->key(), deadline);
    }
    r = nullptr;
  }
}

void table::set_deadline(record* r, deadline_ms deadline) {
  track_deadline(r->deadline, -1);
  track_deadline(deadline, +1);
  r->deadline = deadline;
  if (deadline != no_deadline)
    deadlines_.add(r->key(), deadline);
}

std::size_t table::expire_due(deadline_ms now, std::size_t limit) {
  std::size_t removed = 0;
  deadlines_.pop_due(now, limit, [&](const expiry::deadline_queue::entry& e) {
    auto* r = entries_.find(e.key);
    // Entries of keys whose deadline changed, or that are gone, are stale.
    if (r == nullptr || r->deadline != e.deadline)
      return;
    ++expired_;
    note(key_event::expired, r->key());
    drop(r);
    ++removed;
  });
  compact_deadlines(false);
  return removed;
}

void table::compact_deadlines(bool always) {
  // Stale entries (deadlines reset again and again, keys deleted or evicted
  // before their time) must not outgrow the keys.
  if (!always
      && (deadlines_.size() <= 1024
          || deadlines_.size() <= 2 * static_cast<std::size_t>(keys_with_deadline_)))
    return;
  deadlines_.rebuild([this](auto add) {
    entries_.for_each([&](const record& r) {
      if (r.deadline != no_deadline)
        add(r.key(), r.deadline);
    });
  });
}

void table::execute(const batch& work, batch_result& out, deadline_ms now) {
  out.ends.reserve(out.ends.size() + work.ops.size());
  protocol::reply_writer reply{out.replies};
  // A batch knows its keys in advance: asking the CPU for the table slots of a
  // few operations ahead overlaps their cache misses with the work on this one.
  constexpr std::size_t prefetch_distance = 8;
  const auto& ops = work.ops;
  for (std::size_t i = 0; i < std::min(prefetch_distance, ops.size()); ++i)
    entries_.prefetch(work.key(ops[i]));
  for (std::size_t index = 0; index < ops.size(); ++index) {
    if (index + prefetch_distance < ops.size())
      entries_.prefetch(work.key(ops[index + prefetch_distance]));
    const auto& op = ops[index];
    auto key = work.key(op);
    if (may_grow(op.code) && refuse_growth(now)) {
      reply.error(memory::oom_error);
      out.ends.push_back(out.replies.size());
      continue;
    }
    switch (op.code) {
      case op_code::get: {
        if (auto* r = find_live(key, now)) {
          ++hits_;
          reply.bulk(r->value());
        } else {
          ++misses_;
          note(key_event::keymiss, key);
          reply.null();
        }
        break;
      }
      case op_code::set:
        run_set(work, op, out.replies, now);
        break;
      case op_code::del:
      case op_code::rename_from: {
        auto* r = find_live(key, now);
        if (r != nullptr) {
          note(op.code == op_code::del ? key_event::del : key_event::rename_from, key);
          erase(r);
        }
        reply.integer(r != nullptr ? 1 : 0);
        break;
      }
      case op_code::exists:
        reply.integer(find_live(key, now) != nullptr ? 1 : 0);
        break;
      case op_code::incr_by:
        run_incr_by(key, op.number, out.replies, now);
        break;
      case op_code::append: {
        auto more = work.value(op);
        auto* r = find_live(key, now);
        auto current = r ? r->value().size() : 0;
        if (current + more.size() > protocol::max_bulk_length) {
          reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
          break;
        }
        if (r == nullptr)
          note(key_event::new_key, key);
        r = r ? entries_.append(r, more) : insert(key, more, now);
        log_put(r);
        note(key_event::append, key);
        reply.integer(static_cast<std::int64_t>(r->value().size()));
        break;
      }
      case op_code::strlen: {
        auto* r = find_live(key, now);
        if (r == nullptr)
          note(key_event::keymiss, key);
        reply.integer(r ? static_cast<std::int64_t>(r->value().size()) : 0);
        break;
      }
      case op_code::count_keys:
        reply.integer(static_cast<std::int64_t>(entries_.size()));
        break;
      case op_code::flush:
        clear();
        reply.simple("OK");
        break;
      case op_code::stats: {
        auto s = stats(now);
        reply.array(8);
        reply.integer(s.keys);
        reply.integer(s.keys_with_deadline);
        reply.integer(s.hits);
        reply.integer(s.misses);
        reply.integer(s.expired);
        reply.integer(s.backlog);
        reply.integer(s.avg_ttl_ms);
        reply.integer(s.stale);
        break;
      }
      case op_code::expire: {
        auto* r = find_live(key, now);
        if (r == nullptr) {
          reply.integer(0);
          break;
        }
        auto current = r->deadline;
        auto wanted = op.number;
        bool has = current != no_deadline;
        bool allowed = true;
        if ((op.flags & expire_flag::only_if_none) && has)
          allowed = false;
        if ((op.flags & expire_flag::only_if_some) && !has)
          allowed = false;
        // A key without a deadline counts as one that never comes, as in Redis.
        if ((op.flags & expire_flag::only_if_later) && (!has || wanted <= current))
          allowed = false;
        if ((op.flags & expire_flag::only_if_sooner) && has && wanted >= current)
          allowed = false;
        if (!allowed) {
          reply.integer(0);
          break;
        }
        // A deadline already past deletes the key, as DEL would (Redis counts it
        // as a deletion, not as an expiry).
        if (wanted <= now) {
          note(key_event::del, key);
          erase(r);
        } else {
          set_deadline(r, wanted);
          log_deadline(r);
          note(key_event::expire, key);
        }
        reply.integer(1);
        break;
      }
      case op_code::persist: {
        auto* r = find_live(key, now);
        bool had = r != nullptr && r->deadline != no_deadline;
        if (had) {
          set_deadline(r, no_deadline);
          log_deadline(r);
          note(key_event::persist, key);
        }
        reply.integer(had ? 1 : 0);
        break;
      }
      case op_code::ttl: {
        auto* r = find_live(key, now);
        if (r == nullptr) {
          note(key_event::keymiss, key);
          reply.integer(-2);
        } else if (r->deadline == no_deadline) {
          reply.integer(-1);
        } else {
          auto left = r->deadline - now;
          switch (static_cast<ttl_unit>(op.flags)) {
            case ttl_unit::seconds_left:
              reply.integer((left + 500) / 1000);
              break;
            case ttl_unit::millis_left:
              reply.integer(left);
              break;
            case ttl_unit::unix_seconds:
              reply.integer(r->deadline / 1000);
              break;
            case ttl_unit::unix_millis:
              reply.integer(r->deadline);
              break;
          }
        }
        break;
      }
      case op_code::get_delete: {
        auto* r = find_live(key, now);
        if (r == nullptr) {
          ++misses_;
          reply.null();
        } else {
          ++hits_;
          reply.bulk(r->value());
          note(key_event::del, key);
          erase(r);
        }
        break;
      }
      case op_code::get_expire: {
        auto* r = find_live(key, now);
        if (r == nullptr) {
          ++misses_;
          note(key_event::keymiss, key);
          reply.null();
          break;
        }
        ++hits_;
        reply.bulk(r->value());
        auto mode = static_cast<getex_mode>(op.flags);
        if (mode == getex_mode::persist) {
          if (r->deadline != no_deadline) {
            set_deadline(r, no_deadline);
            log_deadline(r);
            note(key_event::persist, key);
          }
        } else if (mode == getex_mode::set) {
          if (op.number <= now) {
            note(key_event::del, key);
            erase(r);
          } else {
            set_deadline(r, op.number);
            log_deadline(r);
            note(key_event::expire, key);
          }
        }
        break;
      }
      case op_code::get_range:
        run_get_range(key, op.number, op.extra, out.replies, now);
        break;
      case op_code::set_range:
        run_set_range(key, op.number, work.value(op), out.replies, now);
        break;
      case op_code::incr_by_float:
        run_incr_by_float(key, work.value(op), out.replies, now);
        break;
      case op_code::type:
        reply.simple(find_live(key, now) != nullptr ? "string" : "none");
        break;
      case op_code::random_key:
        run_random_key(out.replies);
        break;
      case op_code::peek: {
        auto* r = find_live(key, now);
        if (r == nullptr) {
          reply.null();
        } else {
          reply.array(2);
          reply.bulk(r->value());
          reply.integer(r->deadline);
        }
        break;
      }
      case op_code::rename_to: {
        auto* r = find_live(key, now);
        auto value = work.value(op);
        if (r == nullptr) {
          note(key_event::new_key, key);
          r = insert(key, value, now);
        } else {
          r = entries_.assign(r, value);
        }
        set_deadline(r, op.number);
        log_put(r);
        note(key_event::rename_to, key);
        reply.simple("OK");
        break;
      }
      case op_code::memory_usage: {
        // As Redis does, without counting it as an access.
        auto* r = entries_.find(key);
        if (r == nullptr || is_expired(*r, now)) {
          reply.null();
          break;
        }
        auto bytes = record_set::footprint(r);
        if (r->deadline != no_deadline)
          bytes += static_cast<std::int64_t>(sizeof(expiry::deadline_queue::entry));
        reply.integer(bytes);
        break;
      }
      case op_code::scan:
      case op_code::scan_from:
        run_scan(work, op, out.replies, now);
        break;
      case op_code::reset_stats:
        hits_ = misses_ = expired_ = 0;
        reply.simple("OK");
        break;
      case op_code::keys:
        run_keys(work.value(op), 0, 0, false, out.replies, now);
        break;
      case op_code::keys_from:
        run_keys(work.value(op), static_cast<std::size_t>(op.number), op.flags, true,
                 out.replies, now);
        break;
      case op_code::count_keys_from: {
        std::int64_t n = 0;
        entries_.for_each([&](const record& r) {
          if (engine::shard_of(r.key(), op.flags) == static_cast<std::size_t>(op.number))
            ++n;
        });
        reply.integer(n);
        break;
      }
      case op_code::flush_from: {
        std::vector<record*> doomed;
        entries_.for_each([&](const record& r) {
          if (engine::shard_of(r.key(), op.flags) == static_cast<std::size_t>(op.number))
            doomed.push_back(const_cast<record*>(&r));
        });
        for (auto* r : doomed)
          drop(r);
        ++changes_;
        if (journal_ != nullptr)
          journal_->flush(static_cast<std::uint32_t>(op.number), op.flags);
        reply.simple("OK");
        break;
      }
    }
    out.ends.push_back(out.replies.size());
  }
  // Down to the bound again, and the deadline queue kept compact.
  make_room(now);
}

// SET key value [NX|XX] [GET] [EX|PX|KEEPTTL]: options were validated by the planner;
// here only the conditions that depend on the stored value are decided.
void table::run_set(const batch& work, const operation& op, std::string& out,
                    deadline_ms now) {
  protocol::reply_writer reply{out};
  auto key = work.key(op);
  auto* current = find_live(key, now);
  if (op.flags & set_flag::return_old) {
    if (current)
      reply.bulk(current->value());
    else
      reply.null();
  }
  bool blocked = ((op.flags & set_flag::only_if_absent) && current)
                 || ((op.flags & set_flag::only_if_present) && !current);
  bool counted = op.flags & set_flag::reply_count;
  if (blocked) {
    if (counted)
      reply.integer(0);
    else if (!(op.flags & set_flag::return_old))
      reply.null();
    return;
  }
  if (counted)
    reply.integer(1);
  else if (!(op.flags & set_flag::return_old))
    reply.simple("OK");
  auto value = work.value(op);
  if (current == nullptr) {
    note(key_event::new_key, key);
    current = insert(key, value, now);
  } else {
    current = entries_.assign(current, value);
  }
  if (!(op.flags & set_flag::keep_ttl))
    set_deadline(current, op.number);
  log_put(current);
  note(key_event::set, key);
  if (op.number != no_deadline)
    note(key_event::expire, key);
}

// INCRBY and friends: the stored string must be a Redis-strict 64-bit integer; a
// missing key counts as 0. The key keeps its deadline, as in Redis.
void table::run_incr_by(std::string_view key, std::int64_t delta,
                        std::string& out, deadline_ms now) {
  protocol::reply_writer reply{out};
  auto* r = find_live(key, now);
  std::int64_t current = 0;
  if (r && !protocol::parse_int64(r->value(), current)) {
    reply.error("ERR value is not an integer or out of range");
    return;
  }
  if ((delta > 0 && current > std::numeric_limits<std::int64_t>::max() - delta)
      || (delta < 0
          && current < std::numeric_limits<std::int64_t>::min() - delta)) {
    reply.error("ERR increment or decrement would overflow");
    return;
  }
  current += delta;
  char digits[protocol::int64_buffer_size];
  auto n = protocol::format_int64(current, digits);
  std::string_view text{digits, n};
  if (r == nullptr) {
    note(key_event::new_key, key);
    r = insert(key, text, now);
  } else {
    r = entries_.assign(r, text);
  }
  log_put(r);
  note(key_event::incrby, key);
  reply.integer(current);
}

// INCRBYFLOAT: Redis's long double arithmetic and its human-friendly formatting
// (17 digits, trailing zeros cut); the key keeps its deadline.
void table::run_incr_by_float(std::string_view key, std::string_view delta_text,
                              std::string& out, deadline_ms now) {
  protocol::reply_writer reply{out};
  auto* r = find_live(key, now);
  long double current = 0;
  long double delta = 0;
  if ((r && !protocol::parse_long_double(r->value(), current))
      || !protocol::parse_long_double(delta_text, delta)) {
    reply.error("ERR value is not a valid float");
    return;
  }
  auto result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    reply.error("ERR increment would produce NaN or Infinity");
    return;
  }
  auto text = protocol::format_long_double(result);
  if (r == nullptr) {
    note(key_event::new_key, key);
    r = insert(key, text, now);
  } else {
    r = entries_.assign(r, text);
  }
  log_put(r);
  note(key_event::incrbyfloat, key);
  reply.bulk(text);
}

// GETRANGE: inclusive bounds, negative ones counted from the end, clamped as
// Redis clamps them; a missing key is an empty string.
void table::run_get_range(std::string_view key, std::int64_t start, std::int64_t end,
                          std::string& out, deadline_ms now) {
  protocol::reply_writer reply{out};
  auto* r = find_live(key, now);
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

// SETRANGE: overwrites from `offset`, padding with zero bytes; an empty value
// changes nothing (and creates no key).
void table::run_set_range(std::string_view key, std::int64_t offset,
                          std::string_view value, std::string& out, deadline_ms now) {
  protocol::reply_writer reply{out};
  auto* r = find_live(key, now);
  auto current = r ? r->value() : std::string_view{};
  if (value.empty()) {
    reply.integer(static_cast<std::int64_t>(current.size()));
    return;
  }
  auto needed = static_cast<std::uint64_t>(offset) + value.size();
  if (needed > protocol::max_bulk_length) {
    reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return;
  }
  scratch_.assign(current.data(), current.size());
  if (scratch_.size() < needed)
    scratch_.resize(needed, '\0');
  scratch_.replace(static_cast<std::size_t>(offset), value.size(), value.data(),
                   value.size());
  if (r == nullptr) {
    note(key_event::new_key, key);
    r = insert(key, scratch_, now);
  } else {
    r = entries_.assign(r, scratch_);
  }
  log_put(r);
  note(key_event::setrange, key);
  reply.integer(static_cast<std::int64_t>(r->value().size()));
  if (scratch_.capacity() > 64 * 1024)
    std::string{}.swap(scratch_);
}

// RANDOMKEY's share: a key drawn uniformly from the dense array.
void table::run_random_key(std::string& out) {
  protocol::reply_writer reply{out};
  if (entries_.size() == 0) {
    reply.null();
    return;
  }
  reply.bulk(entries_.at(next_random() % entries_.size())->key());
}

// KEYS' share: every key matching `pattern` (of those that came from old shard
// `from_shard` of a `stairs`-stair staircase, when `filter`).
void table::run_keys(std::string_view pattern, std::size_t from_shard, unsigned stairs,
                     bool filter, std::string& out, deadline_ms now) {
  std::vector<std::string_view> found;
  bool all = pattern == "*";
  entries_.for_each([&](const record& r) {
    if (filter && engine::shard_of(r.key(), stairs) != from_shard)
      return;
    if (is_expired(r, now))
      return; // retired by its next turn; never listed
    if (all || commands::glob_match(pattern, r.key()))
      found.push_back(r.key());
  });
  protocol::reply_writer reply{out};
  reply.array(found.size());
  for (auto k : found)
    reply.bulk(k);
}

// SCAN's share. Positions come from the routing hash, which every engine uses, so
// a cursor means the same keys before, during and after a resize: a key present
// from a SCAN's first call to its last has a position, and every position is
// visited once. The sorted view is rebuilt only when keys were added, removed or
// moved since the last SCAN call.
void table::run_scan(const batch& work, const operation& op, std::string& out,
                     deadline_ms now) {
  if (scan_changes_ != entries_.changes()) {
    scan_order_.clear();
    scan_order_.reserve(entries_.size());
    entries_.for_each([&](const record& r) {
      scan_order_.emplace_back(static_cast<std::uint32_t>(engine::hash_key(r.key())), &r);
    });
    std::sort(scan_order_.begin(), scan_order_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    scan_changes_ = entries_.changes();
  }
  auto begin = static_cast<std::uint64_t>(op.number);
  auto end = begin + (std::uint64_t{1} << std::min<unsigned>(op.flags, 32));
  auto pattern = work.value(op);
  bool from = op.code == op_code::scan_from;
  bool no_type = from ? op.extra < 0 : op.extra == 1; // scan_from: the sign bit
  auto origin = from ? static_cast<std::size_t>(
                         (op.extra & std::numeric_limits<std::int64_t>::max()) >> 8)
                     : 0;
  auto stairs = from ? static_cast<unsigned>(op.extra & 0xff) : 0;
  std::int64_t looked = 0;
  std::vector<std::string_view> found;
  auto it = std::lower_bound(scan_order_.begin(), scan_order_.end(), begin,
                             [](const auto& e, std::uint64_t v) { return e.first < v; });
  for (; it != scan_order_.end() && it->first < end; ++it) {
    const auto& r = *it->second;
    if (is_expired(r, now))
      continue;
    if (from && engine::shard_of(r.key(), stairs) != origin)
      continue;
    ++looked;
    if (no_type || (!pattern.empty() && !commands::glob_match(pattern, r.key())))
      continue;
    found.push_back(r.key());
  }
  protocol::reply_writer reply{out};
  reply.array(2);
  reply.integer(looked);
  reply.array(found.size());
  for (auto k : found)
    reply.bulk(k);
}

void table::clear() {
  ++changes_;
  if (journal_ != nullptr)
    journal_->flush(scope_index_, scope_stairs_);
  entries_.clear();
  deadlines_.clear();
  keys_with_deadline_ = 0;
  deadline_sum_ = 0;
  handing_over_ = false;
  decltype(scan_order_){}.swap(scan_order_);
  scan_changes_ = ~std::uint64_t{0};
}

bool table::snapshot_chunk(std::size_t max, persistence::journal& out, deadline_ms now) {
  if (snapshot_cursor_ == no_snapshot || snapshot_cursor_ > entries_.size())
    snapshot_cursor_ = std::min(snapshot_cursor_, entries_.size());
  for (std::size_t n = 0; n < max && snapshot_cursor_ > 0; ++n) {
    const auto* r = entries_.at(--snapshot_cursor_);
    if (!is_expired(*r, now))
      out.put(r->key(), r->value(), r->deadline);
  }
  if (snapshot_cursor_ > 0)
    return false;
  snapshot_cursor_ = no_snapshot;
  return true;
}

table_stats table::stats(deadline_ms now) const {
  table_stats s;
  s.keys = static_cast<std::int64_t>(entries_.size());
  s.keys_with_deadline = keys_with_deadline_;
  if (keys_with_deadline_ > 0) {
    auto mean = static_cast<deadline_ms>(deadline_sum_ / keys_with_deadline_);
    s.avg_ttl_ms = mean > now ? mean - now : 0;
  }
  // Counted exactly up to a bound that keeps INFO cheap; past it, a lower bound.
  constexpr std::size_t stale_count_limit = 100000;
  deadlines_.for_each_due(now, stale_count_limit,
                          [&](const expiry::deadline_queue::entry& e) {
                            auto* r = entries_.find(e.key);
                            if (r != nullptr && r->deadline == e.deadline)
                              ++s.stale;
                          });
  s.hits = hits_;
  s.misses = misses_;
  s.expired = expired_;
  s.backlog = backlog_;
  return s;
}

} // namespace stairkv::shard
