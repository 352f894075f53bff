// The shard's set operations: one function per operation, each with the reply
// Redis gives (batch.hpp lists what every operation answers). A set is kept
// compact (its members in the record's own bytes, values/compact_set.hpp)
// while it holds integers only and at most set-max-intset-entries of them, or
// at most set-max-listpack-entries members of at most set-max-listpack-value
// bytes; past that, in a table of its own (values/hash_table.hpp, members as
// fields without values) for good. Every change reaches the append-only file
// as the members it added or removed.

#include <algorithm>

#include "modules/commands/glob.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/hash_table.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::shard {

bool table::set_contains(const record* r, std::string_view member) {
  std::string_view unused;
  if (r->holds_container())
    return r->container<values::hash_table>()->find(member, unused);
  return values::compact_set{r->value()}.contains(member);
}

std::size_t table::set_size(const record* r) {
  if (r->holds_container())
    return r->container<values::hash_table>()->size();
  return values::compact_set{r->value()}.size();
}

void table::collect_members(const record* r) {
  members_.clear();
  if (r->holds_container())
    r->container<values::hash_table>()->for_each(
      [&](std::string_view m, std::string_view) { members_.push_back(m); });
  else
    values::compact_set{r->value()}.for_each([&](std::string_view m) { members_.push_back(m); });
}

record* table::set_add(record* r, std::string_view key, std::string_view members,
                       std::int64_t& added, deadline_ms now) {
  values::packed_reader items{members};
  std::string_view member;
  if (r != nullptr && r->holds_container()) {
    change_container(r, [&](values::hash_table& table) {
      while (items.next(member))
        added += table.set(member, {}) ? 1 : 0;
    });
    return r;
  }
  values::compact_set_edit edit{r != nullptr ? r->value() : values::empty_compact_set(),
                                members_};
  while (items.next(member))
    added += edit.add(member) ? 1 : 0;
  if (r == nullptr)
    note(key_event::new_key, key);
  if (edit.fits(set_limits_))
    return store_compact(r, key, edit, value_type::set, now);
  auto* table = new values::hash_table();
  for (auto m : edit.members())
    table->set(m, {});
  return store_large(r, key, value_type::set, table, now);
}

// SADD (value: the packed members): how many were new.
void table::op_sadd(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::set, out, refused);
  if (refused)
    return;
  std::int64_t added = 0;
  set_add(r, key, work.value(op), added, now);
  if (added > 0) {
    ++changes_;
    if (journal_ != nullptr)
      journal_->set_add(key, work.value(op));
    note(key_event::sadd, key);
  }
  protocol::reply_writer{out.replies}.integer(added);
}

// SREM (value: the packed members): how many were there.
void table::op_srem(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::set, out, refused);
  if (refused)
    return;
  std::int64_t removed = 0;
  if (r != nullptr)
    removed = remove_elements<values::compact_set_edit>(r, key, work.value(op), members_,
                                                        key_event::srem,
                                                        &persistence::journal::set_del, now);
  protocol::reply_writer{out.replies}.integer(removed);
}

// SMEMBERS: every member (a set in RESP3, an array in RESP2).
void table::op_smembers(const batch& work, const operation& op, batch_result& out,
                        deadline_ms now) {
  protocol::reply_writer reply{out.replies, op.arguments<hash_args>().resp};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::set, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
    reply.set(0);
    return;
  }
  ++hits_;
  reply.set(set_size(r));
  if (r->holds_container())
    r->container<values::hash_table>()->for_each(
      [&](std::string_view m, std::string_view) { reply.bulk(m); });
  else
    values::compact_set{r->value()}.for_each([&](std::string_view m) { reply.bulk(m); });
}

// SISMEMBER (value: the member).
void table::op_sismember(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::set, out, refused);
  if (refused)
    return;
  protocol::reply_writer{out.replies}.integer(
    r != nullptr && set_contains(r, work.value(op)) ? 1 : 0);
}

// SMISMEMBER (value: the packed members): :1 / :0 for each.
void table::op_smismember(const batch& work, const operation& op, batch_result& out,
                          deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  std::size_t count = 0;
  values::packed_reader counting{work.value(op)};
  std::string_view member;
  while (counting.next(member))
    ++count;
  reply.array(count);
  values::packed_reader items{work.value(op)};
  while (items.next(member))
    reply.integer(r != nullptr && set_contains(r, member) ? 1 : 0);
}

// SCARD: the member count, 0 for a missing key.
void table::op_scard(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::set, out, refused);
  if (refused)
    return;
  protocol::reply_writer{out.replies}.integer(
    r != nullptr ? static_cast<std::int64_t>(set_size(r)) : 0);
}

// SPOP (random_args): one member removed at random (a bulk, or null), or up
// to `count` distinct ones (a set, empty for a missing key).
void table::op_spop(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  const auto& args = op.arguments<random_args>();
  protocol::reply_writer reply{out.replies, args.resp};
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::set, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    answer_no_draw(out, args, true);
    return;
  }
  collect_members(r);
  auto size = members_.size();
  auto count = args.counted ? std::min<std::size_t>(static_cast<std::size_t>(args.count), size)
                            : 1;
  if (args.counted && count == 0) {
    reply.set(0);
    return;
  }
  draw_distinct(members_, count);
  // The chosen members, packed (their views die with the set's changes).
  packed_.clear();
  for (std::size_t i = 0; i < count; ++i)
    values::append_item(packed_, members_[i]);
  if (args.counted)
    reply.set(count);
  values::packed_reader chosen{packed_};
  std::string_view member;
  while (chosen.next(member))
    reply.bulk(member);
  remove_elements<values::compact_set_edit>(r, key, packed_, members_, key_event::spop,
                                            &persistence::journal::set_del, now);
}

// SRANDMEMBER (random_args): as HRANDFIELD without values.
void table::op_srandmember(const batch& work, const operation& op, batch_result& out,
                           deadline_ms now) {
  const auto& args = op.arguments<random_args>();
  protocol::reply_writer reply{out.replies, args.resp};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::set, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    answer_no_draw(out, args, false);
    return;
  }
  collect_members(r);
  auto size = members_.size();
  if (!args.counted) {
    reply.bulk(members_[next_random() % size]);
    return;
  }
  bool unique = args.count >= 0;
  auto count = static_cast<std::size_t>(unique ? args.count : -args.count);
  if (unique && count > size)
    count = size;
  if (unique)
    draw_distinct(members_, count);
  reply.array(count);
  for (std::size_t i = 0; i < count; ++i)
    reply.bulk(unique ? members_[i] : members_[next_random() % size]);
}

// SSCAN (field_scan_args; value: the MATCH glob): as HSCAN, members only.
void table::op_sscan(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  const auto& args = op.arguments<field_scan_args>();
  auto pattern = work.value(op);
  protocol::reply_writer reply{out.replies};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::set, out, refused);
  if (refused)
    return;
  std::vector<std::string_view> found;
  std::uint64_t next = 0;
  auto matches = [&](std::string_view m) {
    return pattern.empty() || commands::glob_match(pattern, m);
  };
  if (r != nullptr && !r->holds_container()) {
    // Compact: whole, cursor 0, as Redis answers an intset or a listpack.
    values::compact_set{r->value()}.for_each([&](std::string_view m) {
      if (matches(m))
        found.push_back(m);
    });
  } else if (r != nullptr) {
    const auto* members = r->container<values::hash_table>();
    auto [begin, end] = scan_window(args, members->size());
    members->for_each_in(begin, end, [&](std::string_view m, std::string_view) {
      if (matches(m))
        found.push_back(m);
    });
    next = end >= (std::uint64_t{1} << 32) ? 0 : end;
  }
  reply.array(2);
  reply.bulk(std::to_string(next));
  reply.array(found.size());
  for (auto m : found)
    reply.bulk(m);
}

} // namespace stairkv::shard
