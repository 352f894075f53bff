// The shard's keyless operations for server commands: DBSIZE, FLUSHALL, INFO's
// statistics and CONFIG RESETSTAT, and their resize-time shares (the keys that
// came from one old shard).

#include <vector>

#include "modules/engine/staircase.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/shard/table.hpp"

namespace stairkv::shard {

// DBSIZE's share: the keys held (some may be past their deadline, not yet
// retired, as in Redis).
void table::op_count_keys(const batch&, const operation& op, batch_result& out,
                          deadline_ms) {
  answer_count(op, out, static_cast<std::int64_t>(db_->entries.size()));
}

// During a resize (origin_args): how many keys came from one old shard.
void table::op_count_keys_from(const batch&, const operation& op, batch_result& out,
                               deadline_ms) {
  const auto& origin = op.arguments<origin_args>();
  std::int64_t n = 0;
  db_->entries.for_each([&](const record& r) {
    if (engine::shard_of(r.key(), origin.stairs) == origin.shard)
      ++n;
  });
  answer_count(op, out, n);
}

// FLUSHDB's share: every key of the database goes; FLUSHALL's (flush_all):
// every key of every database.
void table::op_flush(const batch&, const operation& op, batch_result& out, deadline_ms) {
  if (op.code == op_code::flush_all)
    clear();
  else
    clear_database();
  protocol::reply_writer{out.replies}.simple("OK");
}

// During a resize (origin_args): the keys that came from one old shard go (and
// the journal records that scope).
void table::op_flush_from(const batch&, const operation& op, batch_result& out,
                          deadline_ms) {
  const auto& origin = op.arguments<origin_args>();
  tracked_.clear(); // as any flush
  auto in_use = db_index_;
  std::vector<record*> doomed;
  for (std::size_t db = 0; db < dbs_.size(); ++db) {
    if (!dbs_[db] || (!origin.every_db && db != in_use))
      continue;
    use(static_cast<std::uint8_t>(db));
    doomed.clear();
    db_->entries.for_each([&](const record& r) {
      if (engine::shard_of(r.key(), origin.stairs) == origin.shard)
        doomed.push_back(const_cast<record*>(&r));
    });
    for (auto* r : doomed)
      drop(r);
  }
  use(in_use);
  ++changes_;
  if (journal_ != nullptr)
    journal_->flush(origin.shard, origin.stairs,
                    origin.every_db ? persistence::journal::every_database : in_use);
  protocol::reply_writer{out.replies}.simple("OK");
}

// INFO's share: no bytes, the figures in the share.
void table::op_stats(const batch&, const operation&, batch_result& out,
                     deadline_ms now) {
  out.add_share().stats = stats(now);
}

// CONFIG RESETSTAT's share: hits, misses and expired start again from zero.
void table::op_reset_stats(const batch&, const operation&, batch_result& out,
                           deadline_ms) {
  hits_ = misses_ = expired_ = 0;
  protocol::reply_writer{out.replies}.simple("OK");
}

} // namespace stairkv::shard
