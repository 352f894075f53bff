// The shard's operations on keys whatever their value: existence, deletion,
// deadlines, TYPE, the two halves of RENAME, MEMORY USAGE, and the keyless
// shares of RANDOMKEY, KEYS and SCAN.

#include <algorithm>

#include "modules/cluster/slots.hpp"
#include "modules/commands/glob.hpp"
#include "modules/engine/staircase.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/dump.hpp"

namespace stairkv::shard {

// DEL, and RENAME's first half (rename_from): :1 when the key was there.
void table::op_del(const batch& work, const operation& op, batch_result& out,
                   deadline_ms now) {
  auto key = work.key(op);
  auto* r = find_live(key, now);
  if (r != nullptr) {
    note(op.code == op_code::del ? key_event::del : key_event::rename_from, key);
    erase(r);
  }
  answer_count(op, out, r != nullptr ? 1 : 0);
}

void table::op_exists(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  auto how = op.code == op_code::touch ? access::touched : access::untouched;
  answer_count(op, out, find_live(work.key(op), now, how) != nullptr ? 1 : 0);
}

// EXPIRE and friends (expire_args: the new absolute deadline and the
// expire_flag conditions): :1 when the deadline was set, or the key deleted
// because the deadline has passed; :0 when the key is missing or a condition
// is not met.
void table::op_expire(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto key = work.key(op);
  auto* r = find_live(key, now);
  if (r == nullptr) {
    reply.integer(0);
    return;
  }
  auto current = r->deadline;
  const auto& args = op.arguments<expire_args>();
  auto wanted = args.deadline;
  auto conditions = args.conditions;
  bool has = current != no_deadline;
  bool allowed = true;
  if ((conditions & expire_flag::only_if_none) && has)
    allowed = false;
  if ((conditions & expire_flag::only_if_some) && !has)
    allowed = false;
  // A key without a deadline counts as one that never comes, as in Redis.
  if ((conditions & expire_flag::only_if_later) && (!has || wanted <= current))
    allowed = false;
  if ((conditions & expire_flag::only_if_sooner) && has && wanted >= current)
    allowed = false;
  if (!allowed) {
    reply.integer(0);
    return;
  }
  change_deadline(r, key, wanted, now);
  reply.integer(1);
}

// PERSIST: :1 when a deadline was removed.
void table::op_persist(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  auto key = work.key(op);
  auto* r = find_live(key, now);
  bool had = r != nullptr && drop_deadline(r, key);
  protocol::reply_writer{out.replies}.integer(had ? 1 : 0);
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME (flags: ttl_unit): -2 for a missing key,
// -1 for one without a deadline.
void table::op_ttl(const batch& work, const operation& op, batch_result& out,
                   deadline_ms now) {
  auto key = work.key(op);
  auto* r = find_live(key, now, access::untouched);
  if (r == nullptr) {
    note(key_event::keymiss, key);
    answer_count(op, out, -2);
    return;
  }
  if (r->deadline == no_deadline) {
    answer_count(op, out, -1);
    return;
  }
  auto left = r->deadline - now;
  switch (op.arguments<ttl_args>().unit) {
    case ttl_unit::seconds_left:
      answer_count(op, out, (left + 500) / 1000);
      break;
    case ttl_unit::millis_left:
      answer_count(op, out, left);
      break;
    case ttl_unit::unix_seconds:
      answer_count(op, out, r->deadline / 1000);
      break;
    case ttl_unit::unix_millis:
      answer_count(op, out, r->deadline);
      break;
  }
}

// TYPE: the type's name, or none.
void table::op_type(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto* r = find_live(work.key(op), now, access::untouched);
  protocol::reply_writer{out.replies}.simple(r != nullptr ? type_name(r->type()) : "none");
}

// RENAME's read: the raw value, with whether the key exists and its deadline
// in the share.
void table::op_peek(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto& share = out.add_share();
  auto* r = find_live(work.key(op), now);
  if (r == nullptr)
    return;
  share.found = true;
  share.deadline = r->deadline;
  share.type = static_cast<std::uint8_t>(r->type());
  out.replies.append(serialized(r));
}

// MOVE: the key goes to database db_args::target of this same shard (a key's
// shard does not depend on its database), record and all: :1, or :0 when it
// is missing here or the target holds the name already.
void table::op_move(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  auto source = db_index_;
  auto target = op.arguments<db_args>().target;
  protocol::reply_writer reply{out.replies};
  if (target == source || find_live(key, now) == nullptr) {
    reply.integer(0);
    return;
  }
  use(target);
  bool taken = find_live(key, now, access::untouched) != nullptr;
  use(source);
  if (taken) {
    reply.integer(0);
    return;
  }
  auto* r = release_live(source, key, now);
  ++changes_;
  if (journal_ != nullptr)
    journal_->del(key);
  note(key_event::move_from, key);
  std::vector<record*> moved{r};
  adopt(moved, {target}); // leaves `target` in use
  log_put(r);
  note(key_event::move_to, key);
  use(source);
  reply.integer(1);
}

// RENAME's second half (restore_args): stores the value with the source key's
// deadline and type under the new name (+OK); restore, a loaded value, too.
void table::op_rename_to(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<restore_args>();
  auto* current = find_live(key, now);
  if (current != nullptr && !args.replace) {
    protocol::reply_writer{out.replies}.error("BUSYKEY Target key name already exists.");
    return;
  }
  if (args.deadline != no_deadline && args.deadline <= now) {
    // RESTORE with a deadline already past: the key is not there after it.
    if (current != nullptr) {
      note(key_event::del, key);
      erase(current);
    }
    protocol::reply_writer{out.replies}.simple("OK");
    return;
  }
  auto* r = store_serialized(current, key, static_cast<value_type>(args.type),
                             work.value(op), now);
  if (r == nullptr) {
    protocol::reply_writer{out.replies}.error("ERR Bad data format");
    return;
  }
  set_deadline(r, args.deadline);
  log_put(r);
  if (op.code == op_code::rename_to)
    note(key_event::rename_to, key);
  else if (args.event != 0)
    note(static_cast<key_event>(args.event - 1), key);
  else if (tracking_changes())
    invalidate(key, false); // RESTORE, a loaded value: a change without an event
  protocol::reply_writer{out.replies}.simple("OK");
}

// DUMP: the key's value as a payload RESTORE takes back, or null.
void table::op_dump(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto* r = find_live(work.key(op), now);
  if (r == nullptr) {
    reply.null();
    return;
  }
  reply.bulk(values::dump_payload(static_cast<std::uint8_t>(r->type()), serialized(r)));
}

// MEMORY USAGE: the bytes the key takes (its block, its share of the shard's
// arrays, its deadline entry), or null; not counted as an access, as in Redis.
void table::op_memory_usage(const batch& work, const operation& op, batch_result& out,
                            deadline_ms now) {
  protocol::reply_writer reply{out.replies};
  auto* r = db_->entries.find(work.key(op));
  if (r == nullptr || is_expired(*r, now)) {
    reply.null();
    return;
  }
  auto bytes = record_set::footprint(r);
  if (r->deadline != no_deadline)
    bytes += static_cast<std::int64_t>(sizeof(expiry::deadline_queue::entry));
  reply.integer(bytes);
}

// RANDOMKEY's share: a key drawn uniformly from the dense array, or null.
void table::op_random_key(const batch&, const operation&, batch_result& out,
                          deadline_ms) {
  protocol::reply_writer reply{out.replies};
  if (db_->entries.size() == 0) {
    reply.null();
    return;
  }
  reply.bulk(db_->entries.at(next_random() % db_->entries.size())->key());
}

// KEYS' share (value: the glob pattern): every live key matching it, as bulks
// counted by the share; keys_from (origin_args) only those that came from one
// old shard.
void table::op_keys(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto pattern = work.value(op);
  bool filter = op.code == op_code::keys_from;
  const auto& from = op.arguments<origin_args>();
  std::vector<std::string_view> found;
  bool all = pattern == "*";
  db_->entries.for_each([&](const record& r) {
    if (from.limit != 0 && found.size() >= from.limit)
      return;
    if (filter && engine::shard_of(r.key(), from.stairs) != from.shard)
      return;
    if (from.slot >= 0 && cluster::key_slot(r.key()) != from.slot)
      return;
    if (is_expired(r, now))
      return; // retired by its next turn; never listed
    if (all || commands::glob_match(pattern, r.key()))
      found.push_back(r.key());
  });
  out.add_share().elements = static_cast<std::int64_t>(found.size());
  protocol::reply_writer reply{out.replies};
  for (auto k : found)
    reply.bulk(k);
}

// SCAN's share (scan_args). Positions come from the routing hash, which every
// engine uses, so a cursor means the same keys before, during and after a
// resize: a key present from a SCAN's first call to its last has a position,
// and every position is visited once. The
// sorted view is rebuilt only when keys were added, removed or moved since the
// last SCAN call.
void table::op_scan(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  if (db_->scan_changes != db_->entries.changes()) {
    db_->scan_order.clear();
    db_->scan_order.reserve(db_->entries.size());
    db_->entries.for_each([&](const record& r) {
      db_->scan_order.emplace_back(static_cast<std::uint32_t>(engine::hash_key(r.key())), &r);
    });
    std::sort(db_->scan_order.begin(), db_->scan_order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    db_->scan_changes = db_->entries.changes();
  }
  const auto& args = op.arguments<scan_args>();
  auto begin = static_cast<std::uint64_t>(args.cursor);
  auto end = begin + (std::uint64_t{1} << std::min<unsigned>(args.width_log2, 32));
  auto pattern = work.value(op);
  bool from = op.code == op_code::scan_from;
  std::int64_t looked = 0;
  std::vector<std::string_view> found;
  auto it = std::lower_bound(db_->scan_order.begin(), db_->scan_order.end(), begin,
                             [](const auto& e, std::uint64_t v) { return e.first < v; });
  for (; it != db_->scan_order.end() && it->first < end; ++it) {
    const auto& r = *it->second;
    if (is_expired(r, now))
      continue;
    if (from && engine::shard_of(r.key(), args.origin.stairs) != args.origin.shard)
      continue;
    ++looked;
    if ((args.type_filter != 0
         && args.type_filter != static_cast<std::uint8_t>(r.type()) + 1)
        || (!pattern.empty() && !commands::glob_match(pattern, r.key())))
      continue;
    found.push_back(r.key());
  }
  auto& share = out.add_share();
  share.looked = looked;
  share.elements = static_cast<std::int64_t>(found.size());
  protocol::reply_writer reply{out.replies};
  for (auto k : found)
    reply.bulk(k);
}

} // namespace stairkv::shard
