#include "modules/shard/table.hpp"

#include <algorithm>
#include <limits>

#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::shard {

namespace {

// Debian's Abseil is built with its own string_view type; keys are looked up
// through it so that a lookup never builds a std::string.
absl::string_view as_lookup(std::string_view key) {
  return absl::string_view{key.data(), key.size()};
}

bool is_expired(const entry& e, deadline_ms now) {
  return e.deadline != no_deadline && e.deadline <= now;
}

} // namespace

entry* table::find_live(std::string_view key, deadline_ms now) {
  auto it = entries_.find(as_lookup(key));
  if (it == entries_.end())
    return nullptr;
  if (is_expired(it->second, now)) {
    ++expired_;
    erase(it);
    return nullptr;
  }
  return &it->second;
}

void table::erase(map_type::iterator it) {
  if (it->second.deadline != no_deadline)
    --keys_with_deadline_;
  entries_.erase(it);
}

void table::execute(const batch& work, batch_result& out, deadline_ms now) {
  out.ends.reserve(out.ends.size() + work.ops.size());
  protocol::reply_writer reply{out.replies};
  // A batch knows its keys in advance: asking the CPU for the table slots of a
  // few operations ahead overlaps their cache misses with the work on this one.
  constexpr std::size_t prefetch_distance = 8;
  const auto& ops = work.ops;
  for (std::size_t i = 0; i < std::min(prefetch_distance, ops.size()); ++i)
    entries_.prefetch(as_lookup(work.key(ops[i])));
  for (std::size_t index = 0; index < ops.size(); ++index) {
    if (index + prefetch_distance < ops.size())
      entries_.prefetch(as_lookup(work.key(ops[index + prefetch_distance])));
    const auto& op = ops[index];
    auto key = work.key(op);
    switch (op.code) {
      case op_code::get: {
        if (auto* e = find_live(key, now)) {
          ++hits_;
          reply.bulk(e->value);
        } else {
          ++misses_;
          reply.null();
        }
        break;
      }
      case op_code::set:
        run_set(work, op, out.replies, now);
        break;
      case op_code::del: {
        auto found = find_live(key, now) != nullptr;
        if (found)
          erase(entries_.find(as_lookup(key)));
        reply.integer(found ? 1 : 0);
        break;
      }
      case op_code::exists:
        reply.integer(find_live(key, now) != nullptr ? 1 : 0);
        break;
      case op_code::incr_by:
        run_incr_by(key, op.number, out.replies, now);
        break;
      case op_code::append: {
        auto* e = find_live(key, now);
        if (e == nullptr)
          e = &entries_.try_emplace(std::string{key}).first->second;
        e->value.append(work.value(op));
        reply.integer(static_cast<std::int64_t>(e->value.size()));
        break;
      }
      case op_code::strlen: {
        auto* e = find_live(key, now);
        reply.integer(e ? static_cast<std::int64_t>(e->value.size()) : 0);
        break;
      }
      case op_code::count_keys:
        reply.integer(static_cast<std::int64_t>(entries_.size()));
        break;
      case op_code::flush:
        entries_.clear();
        keys_with_deadline_ = 0;
        reply.simple("OK");
        break;
      case op_code::stats: {
        auto s = stats();
        reply.array(5);
        reply.integer(s.keys);
        reply.integer(s.keys_with_deadline);
        reply.integer(s.hits);
        reply.integer(s.misses);
        reply.integer(s.expired);
        break;
      }
    }
    out.ends.push_back(out.replies.size());
  }
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
      reply.bulk(current->value);
    else
      reply.null();
  }
  bool blocked = ((op.flags & set_flag::only_if_absent) && current)
                 || ((op.flags & set_flag::only_if_present) && !current);
  if (blocked) {
    if (!(op.flags & set_flag::return_old))
      reply.null();
    return;
  }
  if (!(op.flags & set_flag::return_old))
    reply.simple("OK");
  auto value = work.value(op);
  if (current == nullptr) {
    current = &entries_.try_emplace(std::string{key}).first->second;
  }
  current->value.assign(value.data(), value.size());
  if (!(op.flags & set_flag::keep_ttl)) {
    if (current->deadline != no_deadline)
      --keys_with_deadline_;
    current->deadline = op.number;
    if (current->deadline != no_deadline)
      ++keys_with_deadline_;
  }
}

// INCRBY and friends: the stored string must be a Redis-strict 64-bit integer; a
// missing key counts as 0. The key keeps its deadline, as in Redis.
void table::run_incr_by(std::string_view key, std::int64_t delta,
                        std::string& out, deadline_ms now) {
  protocol::reply_writer reply{out};
  auto* e = find_live(key, now);
  std::int64_t current = 0;
  if (e && !protocol::parse_int64(e->value, current)) {
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
  if (e == nullptr)
    e = &entries_.try_emplace(std::string{key}).first->second;
  char digits[24];
  auto n = protocol::format_int64(current, digits);
  e->value.assign(digits, n);
  reply.integer(current);
}

table_stats table::stats() const {
  table_stats s;
  s.keys = static_cast<std::int64_t>(entries_.size());
  s.keys_with_deadline = keys_with_deadline_;
  s.hits = hits_;
  s.misses = misses_;
  s.expired = expired_;
  return s;
}

} // namespace stairkv::shard
