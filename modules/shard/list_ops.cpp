// The shard's list operations: one function per operation, each with the reply
// Redis gives (batch.hpp lists what every operation answers), and the blocking
// pops' side here: the queue of waiters per key, served the moment a change
// leaves the key holding elements. A list is always a values::list_value (a
// quicklist: Redis 7.0 names every list's encoding "quicklist"). Every change
// reaches the append-only file as a ListChange carrying the list's version
// after it (records.proto), never as the whole list.

#include <algorithm>

#include "modules/persistence/journal.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/blocking.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/list_value.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::shard {

namespace {

values::list_value* list_of(const record* r) {
  return r->container<values::list_value>();
}

key_event push_event(list_end end) {
  return end == list_end::left ? key_event::lpush : key_event::rpush;
}

key_event pop_event(list_end end) {
  return end == list_end::left ? key_event::lpop : key_event::rpop;
}

// The type a blocking pop takes from.
value_type popped_type(const block_args& how) {
  return how.zset ? value_type::sorted_set : value_type::list;
}

} // namespace

record* table::new_list(std::string_view key, deadline_ms now) {
  note(key_event::new_key, key);
  auto* r = insert(key, {}, now, value_type::list);
  return db_->entries.assign_container(r, value_type::list, new values::list_value(list_limits_));
}

void table::log_list(const record* r, persistence::list_change kind, std::int64_t a,
                     std::int64_t b, std::string_view items) {
  ++list_of(r)->version;
  ++changes_;
  if (journal_ != nullptr)
    journal_->list_change(r->key(), list_of(r)->version, kind, a, b, items);
}

record* table::list_push(record* r, std::string_view key, list_end end,
                         std::string_view elements, deadline_ms now) {
  if (r == nullptr)
    r = new_list(key, now);
  change_list(r, [&](values::list_value& list) {
    values::packed_reader items{elements};
    std::string_view element;
    while (items.next(element)) {
      if (end == list_end::left)
        list.push_front(element);
      else
        list.push_back(element);
    }
  });
  log_list(r,
           end == list_end::left ? persistence::list_change::push_left
                                 : persistence::list_change::push_right,
           0, 0, elements);
  note(push_event(end), key);
  return r;
}

std::size_t table::list_pop(record*& r, std::string_view key, list_end end,
                            std::size_t count, std::vector<std::string>& popped) {
  popped.clear();
  change_list(r, [&](values::list_value& list) {
    std::string element;
    while (popped.size() < count
           && (end == list_end::left ? list.pop_front(element) : list.pop_back(element)))
      popped.push_back(std::move(element));
  });
  if (popped.empty())
    return 0;
  note(pop_event(end), key);
  if (list_of(r)->size() == 0) {
    note(key_event::del, key);
    erase(r); // recorded as the key's deletion
    r = nullptr;
  } else {
    log_list(r,
             end == list_end::left ? persistence::list_change::pop_left
                                   : persistence::list_change::pop_right,
             static_cast<std::int64_t>(popped.size()), 0, {});
  }
  return popped.size();
}

void table::end_list_change(record*& r, std::string_view key) {
  if (r != nullptr && list_of(r)->size() == 0) {
    note(key_event::del, key);
    erase(r);
    r = nullptr;
  }
}

// LPUSH, RPUSH, LPUSHX, RPUSHX (list_args; value: the packed elements): the
// new length.
void table::op_lpush(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<list_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r == nullptr && args.only_if_exists) {
    reply.integer(0);
    return;
  }
  r = list_push(r, key, args.end, work.value(op), now);
  reply.integer(static_cast<std::int64_t>(list_of(r)->size()));
}

// LPOP, RPOP (list_args; counted: a count was given): one element, or an
// array of up to count.
void table::op_lpop(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<list_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    if (args.counted)
      reply.null_array();
    else
      reply.null();
    return;
  }
  ++hits_;
  if (args.counted && args.count == 0) {
    reply.array(0);
    return;
  }
  auto wanted = args.counted ? static_cast<std::size_t>(args.count) : 1;
  list_pop(r, key, args.end, wanted, popped_);
  if (!args.counted) {
    reply.bulk(popped_.front());
    return;
  }
  reply.array(popped_.size());
  for (const auto& e : popped_)
    reply.bulk(e);
}

void table::op_llen(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer{out.replies}.integer(
    r == nullptr ? 0 : static_cast<std::int64_t>(list_of(r)->size()));
}

// LRANGE (range_args, Redis's index rules): the elements of the range.
void table::op_lrange(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    reply.array(0);
    return;
  }
  ++hits_;
  const auto& range = op.arguments<range_args>();
  // The header first, with the count the range will have; the elements after.
  const auto* list = list_of(r);
  auto size = static_cast<std::int64_t>(list->size());
  auto start = range.start < 0 ? range.start + size : range.start;
  auto stop = range.end < 0 ? range.end + size : range.end;
  start = std::max<std::int64_t>(start, 0);
  stop = std::min<std::int64_t>(stop, size - 1);
  reply.array(start > stop || start >= size ? 0 : static_cast<std::size_t>(stop - start + 1));
  list->range(range.start, range.end, [&](std::string_view e) { reply.bulk(e); });
}

// LINDEX (offset_args: the index, negative from the tail).
void table::op_lindex(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  std::string element;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    reply.null();
    return;
  }
  ++hits_;
  if (list_of(r)->at(op.arguments<offset_args>().offset, element))
    reply.bulk(element);
  else
    reply.null();
}

// LSET (offset_args: the index; value: the element).
void table::op_lset(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r == nullptr) {
    reply.error(protocol::errors::no_such_key);
    return;
  }
  auto index = op.arguments<offset_args>().offset;
  bool done = false;
  change_list(r, [&](values::list_value& list) { done = list.set(index, work.value(op)); });
  if (!done) {
    reply.error("ERR index out of range");
    return;
  }
  packed_.clear();
  values::append_item(packed_, work.value(op));
  log_list(r, persistence::list_change::set, index, 0, packed_);
  note(key_event::lset, key);
  reply.ok();
}

// LINSERT (list_args: left for BEFORE; value: pivot, element).
void table::op_linsert(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r == nullptr) {
    reply.integer(0);
    return;
  }
  values::packed_reader items{work.value(op)};
  std::string_view pivot, element;
  items.next(pivot);
  items.next(element);
  bool before = op.arguments<list_args>().end == list_end::left;
  bool done = false;
  change_list(r, [&](values::list_value& list) { done = list.insert(pivot, element, before); });
  if (!done) {
    reply.integer(-1);
    return;
  }
  log_list(r, persistence::list_change::insert, before ? 1 : 0, 0, work.value(op));
  note(key_event::linsert, key);
  reply.integer(static_cast<std::int64_t>(list_of(r)->size()));
}

// LREM (list_args: the count; value: the element): how many went.
void table::op_lrem(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r == nullptr) {
    reply.integer(0);
    return;
  }
  auto count = op.arguments<list_args>().count;
  std::size_t removed = 0;
  change_list(r, [&](values::list_value& list) { removed = list.remove(work.value(op), count); });
  if (removed > 0) {
    packed_.clear();
    values::append_item(packed_, work.value(op));
    note(key_event::lrem, key);
    if (list_of(r)->size() > 0)
      log_list(r, persistence::list_change::remove, count, 0, packed_);
    end_list_change(r, key);
  }
  reply.integer(static_cast<std::int64_t>(removed));
}

// LTRIM (range_args): +OK, the key gone when nothing is left.
void table::op_ltrim(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  if (r != nullptr) {
    const auto& range = op.arguments<range_args>();
    auto before = list_of(r)->size();
    change_list(r, [&](values::list_value& list) { list.trim(range.start, range.end); });
    note(key_event::ltrim, key);
    if (list_of(r)->size() > 0 && list_of(r)->size() != before)
      log_list(r, persistence::list_change::trim, range.start, range.end, {});
    end_list_change(r, key);
  }
  reply.ok();
}

// LPOS (lpos_args; value: the element).
void table::op_lpos(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<lpos_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::list, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  std::vector<std::int64_t> found;
  if (r != nullptr)
    list_of(r)->positions(work.value(op), args.rank, args.counted ? args.count : 1,
                          args.maxlen, found);
  if (!args.counted) {
    if (found.empty())
      reply.null();
    else
      reply.integer(found.front());
    return;
  }
  reply.array(found.size());
  for (auto p : found)
    reply.integer(p);
}

// -- blocking pops -------------------------------------------------------------

void table::write_pop(std::string_view key, const block_args& how, std::string& reply_bytes) {
  protocol::reply_writer reply{reply_bytes, how.resp};
  switch (how.form) {
    case block_form::pair:
      reply.array(2);
      reply.bulk(key);
      reply.bulk(popped_.front());
      break;
    case block_form::multi:
      reply.array(2);
      reply.bulk(key);
      reply.array(popped_.size());
      for (const auto& e : popped_)
        reply.bulk(e);
      break;
    case block_form::element:
      reply.bulk(popped_.front());
      break;
  }
}

bool table::pop_for(record*& r, std::string_view key, const block_args& how,
                    std::string& reply_bytes) {
  auto count = static_cast<std::size_t>(std::max<std::int64_t>(how.count, 1));
  std::string name{key}; // the record may go with its last element
  if (how.zset) {
    if (zset_pop(r, name, how.end == list_end::right, count) == 0)
      return false;
    write_zpop(name, how, reply_bytes);
    return true;
  }
  if (list_pop(r, name, how.end, count, popped_) == 0)
    return false;
  write_pop(name, how, reply_bytes);
  return true;
}

// A blocking pop's attempt (block_args): pops for the waiter if the list has
// elements and nobody served it yet, else queues it on the key (unless
// no_wait). A waiter handed over during a resize (resumed) is answered with a
// wakeup, as a push would serve it.
void table::op_block_pop(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<block_args>();
  const auto& waiter = work.waiter_of(op);
  protocol::reply_writer reply{out.replies};
  auto* r = find_live(key, now);
  if (r != nullptr && r->type() != popped_type(args)) {
    if (waiter->claim()) {
      if (args.resumed) {
        wakeups_.push_back({waiter, std::string{key},
                            protocol::errors::as_reply(protocol::errors::wrong_type)});
        reply.ok();
      } else {
        reply.error(protocol::errors::wrong_type);
      }
    } else {
      out.replies.append(block_marker::taken);
    }
    return;
  }
  if (r != nullptr) {
    if (!waiter->claim()) {
      out.replies.append(block_marker::taken);
      return;
    }
    if (args.resumed) {
      std::string bytes;
      pop_for(r, key, waiter->request, bytes);
      wakeups_.push_back({waiter, std::string{key}, std::move(bytes)});
      reply.ok();
      return;
    }
    pop_for(r, key, args, out.replies);
    return;
  }
  if (args.no_wait) {
    out.replies.append(block_marker::empty);
    return;
  }
  if (waiter->served()) {
    out.replies.append(block_marker::taken);
    return;
  }
  db_->waiters[std::string{key}].push_back(waiter);
  out.replies.append(block_marker::waiting);
}

void table::op_unblock(const batch& work, const operation& op, batch_result& out,
                       deadline_ms) {
  auto it = db_->waiters.find(work.key(op));
  if (it != db_->waiters.end()) {
    const auto& waiter = work.waiter_of(op);
    auto& queue = it->second;
    queue.erase(std::remove_if(queue.begin(), queue.end(),
                               [&](const waiter_ptr& w) { return w == waiter || w->served(); }),
                queue.end());
    if (queue.empty())
      db_->waiters.erase(it);
  }
  protocol::reply_writer{out.replies}.ok();
}

void table::serve_ready(deadline_ms now) {
  if (db_->ready.empty())
    return;
  auto keys = std::exchange(db_->ready, {});
  for (const auto& key : keys) {
    auto it = db_->waiters.find(key);
    if (it == db_->waiters.end())
      continue;
    // First come, first served; a waiter for another type than the key
    // holds now (BLPOP on a key that became a sorted set) keeps its place.
    auto& queue = it->second;
    for (auto w = queue.begin(); w != queue.end();) {
      auto* r = find_live(key, now);
      if (r == nullptr)
        break;
      if ((*w)->served()) {
        w = queue.erase(w);
        continue;
      }
      if (r->type() != popped_type((*w)->request)) {
        ++w;
        continue;
      }
      auto waiter = std::move(*w);
      w = queue.erase(w);
      if (!waiter->claim())
        continue; // timed out, gone, or served on another key
      std::string bytes;
      pop_for(r, key, waiter->request, bytes);
      wakeups_.push_back({std::move(waiter), key, std::move(bytes)});
    }
    if (queue.empty())
      db_->waiters.erase(key);
  }
}

std::vector<table::queued_waiter> table::take_waiters() {
  std::vector<queued_waiter> out;
  for (std::size_t db = 0; db < dbs_.size(); ++db) {
    if (!dbs_[db])
      continue;
    for (auto& [key, queue] : dbs_[db]->waiters)
      for (auto& w : queue)
        if (!w->served())
          out.push_back({static_cast<std::uint8_t>(db), key, std::move(w)});
    dbs_[db]->waiters.clear();
  }
  return out;
}

// -- the append-only file's list changes -----------------------------------------

void table::op_list_replay(const batch& work, const operation& op, batch_result& out,
                           deadline_ms now) {
  auto key = work.key(op);
  const auto& change = op.arguments<list_change_args>();
  protocol::reply_writer reply{out.replies};
  auto* r = find_live(key, now);
  if (r != nullptr && r->type() != value_type::list) {
    reply.ok(); // the key was replaced later in the file
    return;
  }
  std::uint64_t current = r == nullptr ? 0 : list_of(r)->version;
  if (change.version != current + 1) {
    reply.ok(); // already applied, or of a list this one replaced
    return;
  }
  auto items = work.value(op);
  values::packed_reader reader{items};
  std::string_view first, second;
  using kind = persistence::list_change;
  switch (static_cast<kind>(change.kind)) {
    case kind::push_left:
    case kind::push_right:
      list_push(r, key,
                static_cast<kind>(change.kind) == kind::push_left ? list_end::left
                                                                  : list_end::right,
                items, now);
      break;
    case kind::pop_left:
    case kind::pop_right:
      if (r != nullptr)
        list_pop(r, key,
                 static_cast<kind>(change.kind) == kind::pop_left ? list_end::left
                                                                  : list_end::right,
                 static_cast<std::size_t>(change.a), popped_);
      break;
    case kind::set:
      if (r != nullptr && reader.next(first))
        change_list(r, [&](values::list_value& list) { list.set(change.a, first); });
      break;
    case kind::insert:
      if (r != nullptr && reader.next(first) && reader.next(second))
        change_list(r, [&](values::list_value& list) {
          list.insert(first, second, change.a != 0);
        });
      break;
    case kind::remove:
      if (r != nullptr && reader.next(first))
        change_list(r, [&](values::list_value& list) { list.remove(first, change.a); });
      break;
    case kind::trim:
      if (r != nullptr)
        change_list(r, [&](values::list_value& list) { list.trim(change.a, change.b); });
      break;
  }
  if (r != nullptr)
    list_of(r)->version = change.version;
  end_list_change(r, key);
  reply.ok();
}

} // namespace stairkv::shard
