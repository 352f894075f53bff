// The shard's sorted-set operations: one function per operation, each with the
// reply Redis gives (batch.hpp lists what every operation answers). A sorted
// set is compact (its elements in the record's own bytes, in order:
// values/compact_zset.hpp, Redis's "listpack") while it holds at most
// zset-max-listpack-entries members of at most zset-max-listpack-value bytes,
// and a values::sorted_set (a skip list with a member index, "skiplist") past
// that, for good. Both answer the same questions the same way, so each
// operation is written once, over either (with_zset, change_zset). Every
// change reaches the append-only file as the members it set, with their
// scores, or the members it removed (records.proto zset_add, zset_del), never
// as the whole set.

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "modules/commands/glob.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"
#include "modules/values/compact_zset.hpp"
#include "modules/values/list_value.hpp" // normalize_range: ranks take a list's index rules
#include "modules/values/packed.hpp"
#include "modules/values/sorted_set.hpp"

namespace stairkv::shard {

namespace {

bool has(const zset_args& args, std::uint8_t flag) {
  return (args.flags & flag) != 0;
}

// A score as the journal's text: it reads back as the same double.
void append_score_text(std::string& out, double score) {
  char text[protocol::double_buffer_size];
  auto length = protocol::format_double(score, text);
  values::append_item(out, std::string_view{text, length});
}

// The two bounds packed in an operation's value (checked by the planner).
struct score_range {
  values::score_bound min{0}, max{0};
};
struct lex_range {
  values::lex_bound min, max;
};

bool read_score_range(std::string_view value, score_range& out) {
  values::packed_reader items{value};
  std::string_view a, b;
  return items.next(a) && items.next(b) && values::parse_score_bound(a, out.min)
         && values::parse_score_bound(b, out.max);
}

bool read_lex_range(std::string_view value, lex_range& out) {
  values::packed_reader items{value};
  std::string_view a, b;
  return items.next(a) && items.next(b) && values::parse_lex_bound(a, out.min)
         && values::parse_lex_bound(b, out.max);
}

// Members with their scores as ZRANGE WITHSCORES and its kind answer them: a
// flat array in RESP2, an array of [member, score] pairs in RESP3.
void write_scored(protocol::reply_writer& reply, int resp,
                  const std::vector<std::pair<std::string_view, double>>& elements,
                  bool with_scores) {
  bool nested = with_scores && resp > 2;
  reply.array(with_scores && !nested ? elements.size() * 2 : elements.size());
  for (const auto& [member, score] : elements) {
    if (nested)
      reply.array(2);
    reply.bulk(member);
    if (with_scores)
      reply.double_value(score);
  }
}

} // namespace

std::size_t table::zset_size(const record* r) {
  if (r->holds_container())
    return r->container<values::sorted_set>()->size();
  return static_cast<std::size_t>(values::packed_zset_reader{r->value()}.size());
}

record* table::store_zset(record* r, const values::compact_zset& edit) {
  if (!edit.changed())
    return r; // its bytes are as they were
  if (edit.size() == 0)
    return db_->entries.assign(r, values::empty_packed_zset(), value_type::sorted_set);
  if (edit.fits(zset_limits_)) {
    edit.write(scratch_);
    r = db_->entries.assign(r, scratch_, value_type::sorted_set);
    if (scratch_.capacity() > 64 * 1024)
      std::string{}.swap(scratch_);
    return r;
  }
  return db_->entries.assign_container(r, value_type::sorted_set, edit.to_large());
}

void table::end_zset_removal(record*& r, std::string_view key, std::size_t removed,
                             key_event event) {
  if (removed == 0)
    return;
  ++changes_;
  note(event, key);
  if (zset_size(r) == 0) {
    note(key_event::del, key);
    erase(r); // recorded as the key's deletion
    r = nullptr;
    return;
  }
  if (journal_ != nullptr)
    journal_->zset_del(key, packed_);
}

// ZADD and ZINCRBY (zset_args flags; value: member, score item pairs).
void table::op_zadd(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  bool incr = has(args, zset_flag::increment);
  bool nx = has(args, zset_flag::only_new), xx = has(args, zset_flag::only_existing);
  bool gt = has(args, zset_flag::only_greater), lt = has(args, zset_flag::only_less);
  if (r == nullptr && xx) {
    if (incr)
      reply.null();
    else
      reply.integer(0);
    return;
  }
  // INCR first: a NaN result refuses the command before anything changes.
  std::string_view member, score_item;
  double incremented = 0;
  if (incr) {
    double by = 0, current = 0;
    values::packed_reader first{work.value(op)};
    first.next(member);
    first.next(score_item);
    values::read_score(score_item, by);
    bool exists = false;
    if (r != nullptr)
      with_zset(r, [&](const auto& zset) { exists = zset.score(member, current); });
    incremented = exists ? current + by : by;
    if (std::isnan(incremented)) {
      reply.error("ERR resulting score is not a number (NaN)");
      return;
    }
  }
  bool created = r == nullptr;
  if (created) {
    note(key_event::new_key, key);
    r = insert(key, values::empty_packed_zset(), now, value_type::sorted_set);
  }
  std::int64_t added = 0, updated = 0;
  bool kept = false; // INCR's member left as it was
  packed_.clear();
  r = change_zset(r, [&](auto& zset) {
    values::packed_reader items{work.value(op)};
    while (items.next(member) && items.next(score_item)) {
      double score = 0;
      values::read_score(score_item, score);
      double current = 0;
      bool exists = zset.score(member, current);
      if (incr)
        score = incremented;
      if ((nx && exists) || (xx && !exists)) {
        kept = true;
        continue;
      }
      if (exists) {
        if ((gt && !(score > current)) || (lt && !(score < current))) {
          kept = true;
          continue;
        }
        if (score == current)
          continue;
        zset.set(member, score);
        ++updated;
      } else {
        zset.set(member, score);
        ++added;
      }
      values::append_item(packed_, member);
      append_score_text(packed_, score);
    }
  });
  if (added + updated > 0) {
    ++changes_;
    if (journal_ != nullptr)
      journal_->zset_add(key, packed_);
    note(incr ? key_event::zincr : key_event::zadd, key);
  }
  if (zset_size(r) == 0)
    erase(r); // nothing went into the set made for this command
  if (incr) {
    if (kept)
      reply.null();
    else
      reply.double_value(incremented);
    return;
  }
  reply.integer(has(args, zset_flag::count_changed) ? added + updated : added);
}

// ZREM (value: the packed members): how many were there.
void table::op_zrem(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  std::size_t removed = 0;
  packed_.clear();
  if (r != nullptr) {
    r = change_zset(r, [&](auto& zset) {
      values::packed_reader items{work.value(op)};
      std::string_view member;
      while (items.next(member))
        if (zset.erase(member)) {
          ++removed;
          values::append_item(packed_, member);
        }
    });
    end_zset_removal(r, key, removed, key_event::zrem);
  }
  protocol::reply_writer{out.replies}.integer(static_cast<std::int64_t>(removed));
}

void table::op_zcard(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer{out.replies}.integer(
    r == nullptr ? 0 : static_cast<std::int64_t>(zset_size(r)));
}

// ZSCORE (value: the member; zset_args for the protocol).
void table::op_zscore(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  auto key = work.key(op);
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, op.arguments<zset_args>().resp};
  double score = 0;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
  } else {
    ++hits_;
  }
  bool found = false;
  if (r != nullptr)
    with_zset(r, [&](const auto& zset) { found = zset.score(work.value(op), score); });
  if (found)
    reply.double_value(score);
  else
    reply.null();
}

// ZMSCORE (value: the packed members): a score or a null for each.
void table::op_zmscore(const batch& work, const operation& op, batch_result& out,
                       deadline_ms now) {
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, op.arguments<zset_args>().resp};
  std::size_t count = 0;
  std::string_view member;
  for (values::packed_reader counting{work.value(op)}; counting.next(member);)
    ++count;
  reply.array(count);
  auto answer = [&](const auto* zset) {
    values::packed_reader items{work.value(op)};
    std::string_view member;
    while (items.next(member)) {
      double score = 0;
      if (zset != nullptr && zset->score(member, score))
        reply.double_value(score);
      else
        reply.null();
    }
  };
  if (r == nullptr)
    answer(static_cast<const values::sorted_set*>(nullptr));
  else
    with_zset(r, [&](const auto& zset) { answer(&zset); });
}

// ZRANK and ZREVRANK (zset_args: reverse, with_scores; value: the member).
void table::op_zrank(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  bool with_score = has(args, zset_flag::with_scores);
  std::int64_t rank = -1;
  double score = 0;
  if (r != nullptr)
    with_zset(r, [&](const auto& zset) {
      rank = zset.rank(work.value(op), has(args, zset_flag::reverse));
      zset.score(work.value(op), score);
    });
  if (rank < 0) {
    if (with_score)
      reply.null_array();
    else
      reply.null();
    return;
  }
  if (!with_score) {
    reply.integer(rank);
    return;
  }
  reply.array(2);
  reply.integer(rank);
  reply.double_value(score);
}

// ZCOUNT and ZLEXCOUNT (zset_args: by; value: min, max).
void table::op_zcount(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies};
  std::size_t count = 0;
  if (r != nullptr)
    with_zset(r, [&](const auto& zset) {
      if (args.by == zrange_by::lex) {
        lex_range range;
        if (read_lex_range(work.value(op), range))
          count = zset.count_by_lex(range.min, range.max);
      } else {
        score_range range;
        if (read_score_range(work.value(op), range))
          count = zset.count_by_score(range.min, range.max);
      }
    });
  reply.integer(static_cast<std::int64_t>(count));
}

// ZRANGE and its older forms (zset_args; by score or lex, the bounds in the
// value, min first also for REV).
void table::op_zrange(const batch& work, const operation& op, batch_result& out,
                      deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  bool reverse = has(args, zset_flag::reverse);
  bool with_scores = has(args, zset_flag::with_scores);
  std::vector<std::pair<std::string_view, double>> elements;
  if (r == nullptr) {
    ++misses_;
    note(key_event::keymiss, key);
  } else {
    ++hits_;
    auto keep = [&](std::string_view m, double s) { elements.emplace_back(m, s); };
    with_zset(r, [&](const auto& zset) {
      if (args.by == zrange_by::rank) {
        std::size_t from = 0, to = 0;
        if (values::list_value::normalize_range(args.start, args.stop, zset.size(), from, to)) {
          elements.reserve(to - from + 1);
          zset.range_by_rank(from, to, reverse, keep);
        }
      } else if (args.by == zrange_by::score) {
        score_range range;
        if (read_score_range(work.value(op), range))
          zset.range_by_score(range.min, range.max, reverse, args.start, args.stop, keep);
      } else {
        lex_range range;
        if (read_lex_range(work.value(op), range))
          zset.range_by_lex(range.min, range.max, reverse, args.start, args.stop, keep);
      }
    });
  }
  if (args.serialised) {
    out.add_share().found = true;
    values::append_varint(out.replies, elements.size());
    for (const auto& [member, score] : elements)
      values::append_packed_element(out.replies, member, score);
    return;
  }
  write_scored(reply, args.resp, elements, with_scores);
}

// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX (zset_args: by).
void table::op_zremrange(const batch& work, const operation& op, batch_result& out,
                         deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  std::size_t removed = 0;
  packed_.clear();
  if (r != nullptr) {
    auto record_member = [&](std::string_view m) { values::append_item(packed_, m); };
    auto event = key_event::zremrangebyrank;
    r = change_zset(r, [&](auto& zset) {
      if (args.by == zrange_by::rank) {
        std::size_t from = 0, to = 0;
        if (values::list_value::normalize_range(args.start, args.stop, zset.size(), from, to))
          removed = zset.erase_by_rank(from, to, record_member);
      } else if (args.by == zrange_by::score) {
        event = key_event::zremrangebyscore;
        score_range range;
        if (read_score_range(work.value(op), range))
          removed = zset.erase_by_score(range.min, range.max, record_member);
      } else {
        event = key_event::zremrangebylex;
        lex_range range;
        if (read_lex_range(work.value(op), range))
          removed = zset.erase_by_lex(range.min, range.max, record_member);
      }
    });
    end_zset_removal(r, key, removed, event);
  }
  protocol::reply_writer{out.replies}.integer(static_cast<std::int64_t>(removed));
}

std::size_t table::zset_pop(record*& r, std::string_view key, bool highest,
                            std::size_t count) {
  zpopped_.clear();
  packed_.clear();
  r = change_zset(r, [&](auto& zset) {
    zset.pop(count, highest, [&](std::string_view m, double s) {
      zpopped_.emplace_back(std::string{m}, s);
      values::append_item(packed_, m);
    });
  });
  end_zset_removal(r, key, zpopped_.size(),
                   highest ? key_event::zpopmax : key_event::zpopmin);
  return zpopped_.size();
}

// ZPOPMIN and ZPOPMAX (zset_args: reverse for the highest, start: the count
// when counted). Without a count, or in RESP2, a flat array of member, score;
// with one in RESP3, an array of pairs.
void table::op_zpop(const batch& work, const operation& op, batch_result& out,
                    deadline_ms now) {
  auto key = work.key(op);
  const auto& args = op.arguments<zset_args>();
  bool refused = false;
  auto* r = find_typed(key, now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  protocol::reply_writer reply{out.replies, args.resp};
  auto count = args.counted ? static_cast<std::size_t>(args.start) : 1;
  if (r == nullptr || count == 0) {
    reply.array(0);
    return;
  }
  std::string name{key};
  zset_pop(r, name, has(args, zset_flag::reverse), count);
  bool nested = args.counted && args.resp > 2;
  reply.array(nested ? zpopped_.size() : zpopped_.size() * 2);
  for (const auto& [member, score] : zpopped_) {
    if (nested)
      reply.array(2);
    reply.bulk(member);
    reply.double_value(score);
  }
}

// ZRANDMEMBER (random_args; with_values: WITHSCORES). Distinct members for a
// count >= 0, drawn again and again for a negative one.
void table::op_zrandmember(const batch& work, const operation& op, batch_result& out,
                           deadline_ms now) {
  const auto& args = op.arguments<random_args>();
  protocol::reply_writer reply{out.replies, args.resp};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  if (r == nullptr) {
    answer_no_draw(out, args, false);
    return;
  }
  with_zset(r, [&](const auto& zset) { draw_from(zset, args, reply); });
}

template <class Zset>
void table::draw_from(const Zset& zset, const random_args& args, protocol::reply_writer& reply) {
  auto size = zset.size();
  std::string_view member;
  double score = 0;
  if (!args.counted) {
    zset.at_rank(next_random() % size, member, score);
    reply.bulk(member);
    return;
  }
  bool unique = args.count >= 0;
  auto count = static_cast<std::size_t>(unique ? args.count : -args.count);
  std::vector<std::size_t> ranks;
  if (!unique) {
    ranks.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      ranks.push_back(next_random() % size);
  } else if (count >= size) {
    ranks.reserve(size);
    for (std::size_t i = 0; i < size; ++i)
      ranks.push_back(i);
  } else if (count * 3 > size) {
    // Most of the set: a partial shuffle of every rank.
    ranks.reserve(size);
    for (std::size_t i = 0; i < size; ++i)
      ranks.push_back(i);
    draw_distinct(ranks, count);
    ranks.resize(count);
  } else {
    std::unordered_set<std::size_t> chosen;
    while (ranks.size() < count) {
      auto at = next_random() % size;
      if (chosen.insert(at).second)
        ranks.push_back(at);
    }
  }
  std::vector<std::pair<std::string_view, double>> elements;
  elements.reserve(ranks.size());
  for (auto at : ranks) {
    zset.at_rank(at, member, score);
    elements.emplace_back(member, score);
  }
  write_scored(reply, args.resp, elements, args.with_values);
}

// ZSCAN (field_scan_args; value: the MATCH glob): as HSCAN, each member with
// its score (a bulk in both protocols, as Redis answers it).
void table::op_zscan(const batch& work, const operation& op, batch_result& out,
                     deadline_ms now) {
  const auto& args = op.arguments<field_scan_args>();
  auto pattern = work.value(op);
  protocol::reply_writer reply{out.replies};
  bool refused = false;
  auto* r = find_typed(work.key(op), now, value_type::sorted_set, out, refused);
  if (refused)
    return;
  std::vector<std::pair<std::string_view, double>> found;
  std::uint64_t next = 0;
  if (r != nullptr && !r->holds_container()) {
    // Compact: whole, cursor 0, as Redis answers a listpack.
    values::compact_zset{r->value(), zrow_}.for_each([&](std::string_view m, double s) {
      if (pattern.empty() || commands::glob_match(pattern, m))
        found.emplace_back(m, s);
    });
  } else if (r != nullptr) {
    const auto* zset = r->container<values::sorted_set>();
    auto [begin, end] = scan_window(args, zset->size());
    zset->for_each_in(begin, end, [&](std::string_view m, double s) {
      if (pattern.empty() || commands::glob_match(pattern, m))
        found.emplace_back(m, s);
    });
    next = end >= (std::uint64_t{1} << 32) ? 0 : end;
  }
  reply.array(2);
  reply.bulk(std::to_string(next));
  reply.array(found.size() * 2);
  char text[protocol::double_buffer_size];
  for (const auto& [member, score] : found) {
    reply.bulk(member);
    reply.bulk(std::string_view{text, protocol::format_double(score, text)});
  }
}

// -- blocking pops of sorted sets ----------------------------------------------

void table::write_zpop(std::string_view key, const block_args& how, std::string& reply_bytes) {
  protocol::reply_writer reply{reply_bytes, how.resp};
  if (how.form == block_form::multi) {
    reply.array(2);
    reply.bulk(key);
    reply.array(zpopped_.size());
    for (const auto& [member, score] : zpopped_) {
      reply.array(2);
      reply.bulk(member);
      reply.double_value(score);
    }
    return;
  }
  reply.array(3);
  reply.bulk(key);
  reply.bulk(zpopped_.front().first);
  reply.double_value(zpopped_.front().second);
}

} // namespace stairkv::shard
