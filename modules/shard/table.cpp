#include "modules/shard/table.hpp"

#include <algorithm>
#include <chrono>

#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/values/hash_table.hpp"
#include "modules/values/list_value.hpp"
#include "modules/values/packed.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::shard {

namespace {

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
    case op_code::hset:
    case op_code::hincrby:
    case op_code::hincrbyfloat:
    case op_code::sadd:
    case op_code::lpush:
    case op_code::lset:
    case op_code::linsert:
    case op_code::zadd:
      return true;
    default:
      return false;
  }
}

} // namespace

table::table() {
  use(0);
}

void table::use(std::uint8_t db) {
  if (db_ != nullptr && db == db_index_)
    return;
  if (db >= dbs_.size())
    dbs_.resize(db + 1u);
  if (!dbs_[db])
    dbs_[db] = std::make_unique<database>();
  db_ = dbs_[db].get();
  db_index_ = db;
  if (journal_ != nullptr)
    journal_->select(db);
}

record* table::find_live(std::string_view key, deadline_ms now, access how) {
  auto* r = db_->entries.find(key);
  if (r == nullptr)
    return nullptr;
  if (is_expired(*r, now)) {
    ++expired_;
    note(key_event::expired, r->key());
    drop(r);
    return nullptr;
  }
  if (how == access::untouched || !touching_)
    return r;
  if (ranking_ == memory::ranking::lfu)
    r->access = memory::lfu_touch(r->access, now, next_random(), bound_.lfu);
  else
    r->access = memory::lru_stamp(now);
  return r;
}

record* table::find_typed(std::string_view key, deadline_ms now, value_type type,
                          batch_result& out, bool& refused) {
  auto* r = find_live(key, now);
  if (r == nullptr || r->type() == type)
    return r;
  protocol::reply_writer{out.replies}.error(protocol::errors::wrong_type);
  refused = true;
  return nullptr;
}

std::string_view table::serialized(const record* r) {
  if (!r->holds_container())
    return r->value();
  switch (r->type()) {
    case value_type::hash:
      r->container<values::hash_table>()->write_compact(serial_);
      return serial_;
    case value_type::set:
      r->container<values::hash_table>()->write_members(serial_);
      return serial_;
    case value_type::list: {
      // Its version first: the ListChange records after it build on it.
      const auto* list = r->container<values::list_value>();
      serial_.clear();
      values::append_varint(serial_, list->version);
      list->write_packed(serial_);
      return serial_;
    }
    case value_type::sorted_set:
      r->container<values::sorted_set>()->write_packed(serial_);
      return serial_;
    default:
      return {};
  }
}

record* table::store_serialized(record* r, std::string_view key, value_type type,
                                std::string_view bytes, deadline_ms now) {
  if (type == value_type::string)
    return store_value(r, key, bytes, now);
  if (type == value_type::list) {
    std::size_t pos = 0;
    std::uint64_t version = 0;
    if (!values::read_varint(bytes, pos, version))
      return nullptr;
    auto* list = values::list_value::from_packed(bytes.substr(pos), list_limits_);
    if (list == nullptr || list->size() == 0) {
      delete list;
      return nullptr;
    }
    list->version = version;
    reclaim_if_big(r);
    if (r == nullptr) {
      note(key_event::new_key, key);
      r = insert(key, {}, now, type);
    }
    return db_->entries.assign_container(r, type, list);
  }
  if (type == value_type::sorted_set) {
    // Compact while it fits, as the set it was would have been (its
    // elements put in order again: the bytes may come from outside), else a
    // skip list built from the bytes.
    if (!values::compact_zset::valid(bytes))
      return nullptr;
    values::compact_zset given{bytes, zrow_};
    if (given.size() == 0)
      return nullptr;
    std::vector<values::compact_zset::element> ordered;
    values::compact_zset edit{ordered};
    bool fits = given.fits(zset_limits_);
    if (fits)
      given.for_each([&](std::string_view m, double s) { edit.set(m, s); });
    reclaim_if_big(r); // what the key held before
    if (r == nullptr) {
      note(key_event::new_key, key);
      r = insert(key, values::empty_packed_zset(), now, type);
    }
    if (fits) {
      edit.write(scratch_);
      return db_->entries.assign(r, scratch_, type);
    }
    return db_->entries.assign_container(r, type, values::sorted_set::from_packed(bytes));
  }
  // A hash or a set: compact while it fits, as the value it was would have
  // been, else in a table built from the bytes.
  bool fits = false;
  if (type == value_type::hash) {
    if (!values::compact_hash::valid(bytes) || values::compact_hash{bytes}.size() == 0)
      return nullptr;
    values::compact_hash view{bytes};
    fits = view.size() <= hash_limits_.max_compact_entries;
    view.for_each([&](std::string_view f, std::string_view v) {
      fits = fits && hash_limits_.fit(f, v);
    });
  } else if (type == value_type::set) {
    if (!values::compact_set::valid(bytes) || values::compact_set{bytes}.size() == 0)
      return nullptr;
    fits = values::compact_set_edit{bytes, members_}.fits(set_limits_);
  } else {
    return nullptr;
  }
  reclaim_if_big(r); // what the key held before
  if (r == nullptr)
    note(key_event::new_key, key);
  if (fits)
    return r == nullptr ? insert(key, bytes, now, type) : db_->entries.assign(r, bytes, type);
  values::hash_table* elements = nullptr;
  if (type == value_type::hash) {
    elements = values::hash_table::from_compact(bytes);
  } else {
    elements = new values::hash_table();
    values::compact_set{bytes}.for_each([&](std::string_view m) { elements->set(m, {}); });
  }
  return store_large(r, key, type, elements, now);
}

record* table::insert(std::string_view key, std::string_view value, deadline_ms now,
                      value_type type) {
  auto* r = db_->entries.insert(key, value, no_deadline, type);
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
  if (dbs_.size() > 1) {
    // Eviction spans the databases, as Redis's does: the draw comes from one
    // database picked with odds by its size, so every key has the same chance.
    std::uint64_t total = 0;
    auto weight = [&](const database& d) -> std::uint64_t {
      return with_deadline_only ? d.deadlines.size() : d.entries.size();
    };
    for (const auto& d : dbs_)
      if (d)
        total += weight(*d);
    if (total == 0)
      return nullptr;
    auto pick = next_random() % total;
    for (std::size_t db = 0; db < dbs_.size(); ++db) {
      if (!dbs_[db])
        continue;
      auto w = weight(*dbs_[db]);
      if (pick < w) {
        use(static_cast<std::uint8_t>(db));
        break;
      }
      pick -= w;
    }
  }
  record* best = nullptr;
  std::uint64_t best_score = 0; // higher: a better victim
  for (int i = 0, taken = 0; i < attempts && taken < wanted; ++i) {
    record* r = nullptr;
    if (with_deadline_only) {
      if (db_->deadlines.empty())
        break;
      const auto& e = db_->deadlines.at(next_random() % db_->deadlines.size());
      r = db_->entries.find(e.key);
      if (r == nullptr || r->deadline != e.deadline)
        continue;
    } else {
      if (db_->entries.size() == 0)
        break;
      r = db_->entries.at(next_random() % db_->entries.size());
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
  if (memory() <= bound_.allowed) {
    compact_deadlines(false);
    return true;
  }
  // Evicting: timed (two clock readings) for LATENCY's eviction-cycle.
  auto started = std::chrono::steady_clock::now();
  auto in_use = db_index_;
  while (memory() > bound_.allowed) {
    auto* victim = pick_victim(now);
    if (victim == nullptr && db_->keys_with_deadline > 0
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
      if (evicted_names_ != nullptr)
        evicted_names_->push_back(qualified_key(db_index_, victim->key()));
      erase(victim);
    }
  }
  use(in_use);
  compact_deadlines(false);
  eviction_time_ += std::chrono::steady_clock::now() - started;
  return within;
}

void table::erase(record* r) {
  ++changes_;
  if (journal_ != nullptr)
    journal_->del(r->key());
  drop(r);
}

void table::drop(record* r) {
  if (at_cursor(r))
    ++cursor_;
  track_deadline(r->deadline, -1);
  reclaim_if_big(r);
  db_->entries.erase(r);
}

record* table::release_live(std::uint8_t db, std::string_view key, deadline_ms now) {
  use(db);
  auto* r = find_live(key, now);
  if (r == nullptr)
    return nullptr;
  if (at_cursor(r))
    ++cursor_;
  track_deadline(r->deadline, -1);
  db_->entries.release(r);
  return r;
}

void table::adopt(std::vector<record*>& records, const std::vector<std::uint8_t>& dbs) {
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto*& r = records[i];
    use(i < dbs.size() ? dbs[i] : 0);
    auto deadline = r->deadline;
    if (!db_->waiters.empty() && db_->waiters.find(r->key()) != db_->waiters.end())
      db_->ready.emplace_back(r->key()); // served with the batch that comes with it
    if (db_->entries.adopt(r) && deadline != no_deadline) {
      track_deadline(deadline, +1);
      db_->deadlines.add(r->key(), deadline);
    }
    r = nullptr;
  }
}

void table::set_deadline(record* r, deadline_ms deadline) {
  track_deadline(r->deadline, -1);
  track_deadline(deadline, +1);
  r->deadline = deadline;
  if (deadline != no_deadline)
    db_->deadlines.add(r->key(), deadline);
}

void table::reclaim_if_big(record* r) {
  if (r != nullptr && record_set::container_elements(r) > lazyfree_elements)
    reclaimed_.push_back(db_->entries.detach_container(r));
}

record* table::store_value(record* r, std::string_view key, std::string_view value,
                           deadline_ms now) {
  reclaim_if_big(r); // a string over a big hash or set
  if (r != nullptr)
    return db_->entries.assign(r, value);
  note(key_event::new_key, key);
  return insert(key, value, now);
}

void table::change_deadline(record* r, std::string_view key, deadline_ms deadline,
                            deadline_ms now) {
  if (deadline <= now) {
    note(key_event::del, key);
    erase(r);
    return;
  }
  set_deadline(r, deadline);
  log_deadline(r);
  note(key_event::expire, key);
}

bool table::drop_deadline(record* r, std::string_view key) {
  if (r->deadline == no_deadline)
    return false;
  set_deadline(r, no_deadline);
  log_deadline(r);
  note(key_event::persist, key);
  return true;
}

std::size_t table::expire_due(deadline_ms now, std::size_t limit) {
  std::size_t removed = 0;
  for (std::size_t db = 0; db < dbs_.size() && removed < limit; ++db) {
    if (!dbs_[db] || dbs_[db]->deadlines.empty())
      continue;
    use(static_cast<std::uint8_t>(db));
    db_->deadlines.pop_due(now, limit - removed,
                           [&](const expiry::deadline_queue::entry& e) {
                             auto* r = db_->entries.find(e.key);
                             // Entries of keys whose deadline changed, or that
                             // are gone, are stale.
                             if (r == nullptr || r->deadline != e.deadline)
                               return;
                             ++expired_;
                             note(key_event::expired, r->key());
                             drop(r);
                             ++removed;
                           });
    compact_deadlines(false);
  }
  return removed;
}

void table::compact_deadlines(bool always) {
  // Stale entries (deadlines reset again and again, keys deleted or evicted
  // before their time) must not outgrow the keys.
  if (!always
      && (db_->deadlines.size() <= 1024
          || db_->deadlines.size() <= 2 * static_cast<std::size_t>(db_->keys_with_deadline)))
    return;
  db_->deadlines.rebuild([this](auto add) {
    db_->entries.for_each([&](const record& r) {
      if (r.deadline != no_deadline)
        add(r.key(), r.deadline);
    });
  });
}

// One function per operation, in the file of its family: string_ops.cpp,
// hash_ops.cpp, set_ops.cpp, key_ops.cpp, server_ops.cpp, inspect_ops.cpp.
void table::run(const batch& work, const operation& op, batch_result& out,
                deadline_ms now) {
  switch (op.code) {
    case op_code::get: return op_get(work, op, out, now);
    case op_code::mget_one: return op_mget_one(work, op, out, now);
    case op_code::hset: return op_hset(work, op, out, now);
    case op_code::hget: return op_hget(work, op, out, now);
    case op_code::hmget: return op_hmget(work, op, out, now);
    case op_code::hdel: return op_hdel(work, op, out, now);
    case op_code::hlen: return op_hlen(work, op, out, now);
    case op_code::hstrlen: return op_hstrlen(work, op, out, now);
    case op_code::hexists: return op_hexists(work, op, out, now);
    case op_code::hgetall: return op_hgetall(work, op, out, now);
    case op_code::hincrby: return op_hincrby(work, op, out, now);
    case op_code::hincrbyfloat: return op_hincrbyfloat(work, op, out, now);
    case op_code::hrandfield: return op_hrandfield(work, op, out, now);
    case op_code::hscan: return op_hscan(work, op, out, now);
    case op_code::sadd: return op_sadd(work, op, out, now);
    case op_code::srem: return op_srem(work, op, out, now);
    case op_code::smembers: return op_smembers(work, op, out, now);
    case op_code::sismember: return op_sismember(work, op, out, now);
    case op_code::smismember: return op_smismember(work, op, out, now);
    case op_code::scard: return op_scard(work, op, out, now);
    case op_code::spop: return op_spop(work, op, out, now);
    case op_code::srandmember: return op_srandmember(work, op, out, now);
    case op_code::sscan: return op_sscan(work, op, out, now);
    case op_code::set: return op_set(work, op, out, now);
    case op_code::del: return op_del(work, op, out, now);
    case op_code::exists: return op_exists(work, op, out, now);
    case op_code::touch: return op_exists(work, op, out, now);
    case op_code::incr_by: return op_incr_by(work, op, out, now);
    case op_code::append: return op_append(work, op, out, now);
    case op_code::strlen: return op_strlen(work, op, out, now);
    case op_code::count_keys: return op_count_keys(work, op, out, now);
    case op_code::flush: return op_flush(work, op, out, now);
    case op_code::flush_all: return op_flush(work, op, out, now);
    case op_code::move: return op_move(work, op, out, now);
    case op_code::stats: return op_stats(work, op, out, now);
    case op_code::count_keys_from: return op_count_keys_from(work, op, out, now);
    case op_code::flush_from: return op_flush_from(work, op, out, now);
    case op_code::expire: return op_expire(work, op, out, now);
    case op_code::persist: return op_persist(work, op, out, now);
    case op_code::ttl: return op_ttl(work, op, out, now);
    case op_code::get_delete: return op_get_delete(work, op, out, now);
    case op_code::get_expire: return op_get_expire(work, op, out, now);
    case op_code::get_range: return op_get_range(work, op, out, now);
    case op_code::set_range: return op_set_range(work, op, out, now);
    case op_code::incr_by_float: return op_incr_by_float(work, op, out, now);
    case op_code::type: return op_type(work, op, out, now);
    case op_code::random_key: return op_random_key(work, op, out, now);
    case op_code::keys: return op_keys(work, op, out, now);
    case op_code::keys_from: return op_keys(work, op, out, now);
    case op_code::reset_stats: return op_reset_stats(work, op, out, now);
    case op_code::peek: return op_peek(work, op, out, now);
    case op_code::rename_from: return op_del(work, op, out, now);
    case op_code::rename_to: return op_rename_to(work, op, out, now);
    case op_code::restore: return op_rename_to(work, op, out, now);
    case op_code::dump: return op_dump(work, op, out, now);
    case op_code::scan: return op_scan(work, op, out, now);
    case op_code::scan_from: return op_scan(work, op, out, now);
    case op_code::memory_usage: return op_memory_usage(work, op, out, now);
    case op_code::object: return op_object(work, op, out, now);
    case op_code::digest: return op_digest(work, op, out, now);
    case op_code::digest_from: return op_digest(work, op, out, now);
    case op_code::digest_value: return op_digest_value(work, op, out, now);
    case op_code::lpush: return op_lpush(work, op, out, now);
    case op_code::lpop: return op_lpop(work, op, out, now);
    case op_code::llen: return op_llen(work, op, out, now);
    case op_code::lrange: return op_lrange(work, op, out, now);
    case op_code::lindex: return op_lindex(work, op, out, now);
    case op_code::lset: return op_lset(work, op, out, now);
    case op_code::linsert: return op_linsert(work, op, out, now);
    case op_code::lrem: return op_lrem(work, op, out, now);
    case op_code::ltrim: return op_ltrim(work, op, out, now);
    case op_code::lpos: return op_lpos(work, op, out, now);
    case op_code::zadd: return op_zadd(work, op, out, now);
    case op_code::zrem: return op_zrem(work, op, out, now);
    case op_code::zcard: return op_zcard(work, op, out, now);
    case op_code::zscore: return op_zscore(work, op, out, now);
    case op_code::zmscore: return op_zmscore(work, op, out, now);
    case op_code::zrank: return op_zrank(work, op, out, now);
    case op_code::zcount: return op_zcount(work, op, out, now);
    case op_code::zrange: return op_zrange(work, op, out, now);
    case op_code::zremrange: return op_zremrange(work, op, out, now);
    case op_code::zpop: return op_zpop(work, op, out, now);
    case op_code::zrandmember: return op_zrandmember(work, op, out, now);
    case op_code::zscan: return op_zscan(work, op, out, now);
    case op_code::block_pop: return op_block_pop(work, op, out, now);
    case op_code::unblock: return op_unblock(work, op, out, now);
    case op_code::list_replay: return op_list_replay(work, op, out, now);
  }
}

namespace {

// Nanoseconds from `since` to now (saturating), and now.
std::uint32_t nanos_since(std::chrono::steady_clock::time_point& since) {
  auto now = std::chrono::steady_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - since).count();
  since = now;
  return ns > 0xffffffffll ? 0xffffffffu : static_cast<std::uint32_t>(ns);
}

} // namespace

void table::answer_count(const operation& op, batch_result& out, std::int64_t n) {
  if (op.counted)
    out.add_share().count = n;
  protocol::reply_writer{out.replies}.integer(n);
}

void table::execute(const batch& work, batch_result& out, deadline_ms now) {
  out.ends.reserve(out.ends.size() + work.ops.size());
  out.nanos.resize(out.ends.size()); // replies before this batch's (none measured)
  out.nanos.reserve(out.ends.size() + work.ops.size());
  protocol::reply_writer reply{out.replies};
  auto clock = std::chrono::steady_clock::now();
  // A batch knows its keys in advance: asking the CPU for the table slots of a
  // few operations ahead overlaps their cache misses with the work on this one.
  constexpr std::size_t prefetch_distance = 8;
  const auto& ops = work.ops;
  std::size_t tracking_at = 0; // the next of work.tracking
  for (std::size_t i = 0; i < std::min(prefetch_distance, ops.size()); ++i)
    db_->entries.prefetch(work.key(ops[i]));
  for (std::size_t index = 0; index < ops.size(); ++index) {
    if (index + prefetch_distance < ops.size())
      db_->entries.prefetch(work.key(ops[index + prefetch_distance]));
    const auto& op = ops[index];
    use(op.db);
    if (index < work.positions.size())
      position_ = work.positions[index];
    touching_ = !op.no_touch || op.code == op_code::touch;
    if (tracking_at < work.tracking.size() && work.tracking[tracking_at].op == index) {
      // A tracking client's operation: its NOLOOP writes go unannounced to
      // it, and its reads are remembered once they have run.
      const auto& first = work.tracking[tracking_at];
      writer_ = (first.what & tracking_note::noloop) ? first.client : 0;
    }
    if (may_grow(op.code) && !work.allow_growth && refuse_growth(now))
      reply.error(memory::oom_error);
    else
      run(work, op, out, now);
    if (tracking_at < work.tracking.size() && work.tracking[tracking_at].op == index) {
      remember_read(work, op, index, tracking_at);
      writer_ = 0;
    }
    out.ends.push_back(out.replies.size());
    out.nanos.push_back(nanos_since(clock));
    // A change to a key some client waits on: served once the batch is
    // done (a transaction's pushes, then its waiters, as in Redis).
    if (!db_->waiters.empty() && op.code != op_code::block_pop) {
      auto key = work.key(op);
      if (db_->waiters.find(key) != db_->waiters.end())
        db_->ready.emplace_back(key);
    }
  }
  for (std::size_t db = 0; db < dbs_.size(); ++db)
    if (dbs_[db] && !dbs_[db]->ready.empty()) {
      use(static_cast<std::uint8_t>(db));
      serve_ready(now);
    }
  // Down to the bound again, and the deadline queue kept compact.
  make_room(now);
  // And the remembered keys within theirs (tracking-table-max-keys).
  if (!tracked_.empty())
    tracked_.trim(invalidations_);
}

void table::remember_read(const batch& work, const operation& op, std::size_t index,
                          std::size_t& at) {
  auto key = work.key(op);
  for (; at < work.tracking.size() && work.tracking[at].op == index; ++at) {
    const auto& note = work.tracking[at];
    if (!(note.what & tracking_note::remember) || key.empty())
      continue;
    if (db_index_ == 0)
      tracked_.remember(key, note.client);
    else
      tracked_.remember(qualified_key(db_index_, key), note.client);
  }
}

void table::invalidate(std::string_view key, bool by_nobody) {
  std::string named; // the key's name where databases meet (past database 0)
  std::string_view name = key;
  if (db_index_ != 0) {
    named = qualified_key(db_index_, key);
    name = named;
  }
  auto writer = by_nobody ? 0 : writer_;
  tracked_.changed(name, writer, invalidations_);
  if (broadcasting_)
    invalidations_.add(tracking::everyone, writer, name);
}

void table::clear() {
  // The clients that cached keys hear one null invalidation instead (from
  // the gateway that ran the flush).
  tracked_.clear();
  auto in_use = db_index_;
  for (std::size_t db = 0; db < dbs_.size(); ++db)
    if (dbs_[db]) {
      use(static_cast<std::uint8_t>(db));
      drop_all();
    }
  use(in_use);
  ++changes_;
  if (journal_ != nullptr)
    journal_->flush(scope_index_, scope_stairs_, persistence::journal::every_database);
  handing_over_ = false;
}

void table::clear_database() {
  tracked_.clear(); // as Redis: a FLUSHDB ends the caching of every key
  drop_all();
  ++changes_;
  if (journal_ != nullptr)
    journal_->flush(scope_index_, scope_stairs_, db_index_);
  if (handing_over_ && handover_db_ == db_index_)
    cursor_ = db_->entries.end();
}

void table::drop_all() {
  // The big values are freed on the lazy-free thread, as a DEL frees them:
  // what a FLUSHALL costs the shard is its records, not their elements.
  db_->entries.for_each([&](const record& r) { reclaim_if_big(const_cast<record*>(&r)); });
  db_->entries.clear();
  db_->deadlines.clear();
  db_->keys_with_deadline = 0;
  db_->deadline_sum = 0;
  decltype(db_->scan_order){}.swap(db_->scan_order);
  db_->scan_changes = ~std::uint64_t{0};
}

bool table::snapshot_chunk(std::size_t max, persistence::journal& out, deadline_ms now) {
  auto in_use = db_index_;
  if (snapshot_cursor_ == no_snapshot)
    snapshot_db_ = 0;
  std::size_t n = 0;
  for (; snapshot_db_ < dbs_.size(); ++snapshot_db_) {
    if (!dbs_[snapshot_db_])
      continue;
    use(snapshot_db_);
    out.select(snapshot_db_);
    if (snapshot_cursor_ == no_snapshot || snapshot_cursor_ > db_->entries.size())
      snapshot_cursor_ = std::min(snapshot_cursor_, db_->entries.size());
    for (; n < max && snapshot_cursor_ > 0; ++n) {
      const auto* r = db_->entries.at(--snapshot_cursor_);
      if (!is_expired(*r, now))
        out.put(r->key(), serialized(r), r->deadline, static_cast<std::uint8_t>(r->type()));
    }
    if (snapshot_cursor_ > 0) {
      use(in_use);
      return false;
    }
    snapshot_cursor_ = no_snapshot; // the next database from its end
  }
  use(in_use);
  snapshot_cursor_ = no_snapshot;
  return true;
}

table_stats table::stats(deadline_ms now) const {
  table_stats s;
  database_keys all; // every database's, for the mean time left
  for (std::size_t db = 0; db < dbs_.size(); ++db) {
    const auto* d = dbs_[db].get();
    if (d == nullptr || d->entries.size() == 0)
      continue;
    database_keys figures;
    figures.db = static_cast<std::uint8_t>(db);
    figures.keys = static_cast<std::int64_t>(d->entries.size());
    figures.keys_with_deadline = d->keys_with_deadline;
    figures.deadline_sum = d->deadline_sum;
    s.databases.push_back(figures);
    s.keys += figures.keys;
    s.keys_with_deadline += d->keys_with_deadline;
    all.keys_with_deadline += d->keys_with_deadline;
    all.deadline_sum += d->deadline_sum;
    // Counted exactly up to a bound that keeps INFO cheap; past it, a lower
    // bound.
    constexpr std::size_t stale_count_limit = 100000;
    d->deadlines.for_each_due(now, stale_count_limit,
                              [&](const expiry::deadline_queue::entry& e) {
                                auto* r = d->entries.find(e.key);
                                if (r != nullptr && r->deadline == e.deadline)
                                  ++s.stale;
                              });
  }
  s.avg_ttl_ms = all.avg_ttl_ms(now);
  s.hits = hits_;
  s.misses = misses_;
  s.expired = expired_;
  s.backlog = backlog_;
  return s;
}

} // namespace stairkv::shard
