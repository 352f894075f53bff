#pragma once

// A shard's key space. Only its own shard actor ever touches a table, so nothing in
// here locks. Pure code: the actor is a thin wrapper, and the command semantics are
// tested on this class directly.

#include <chrono>
#include <deque>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>

#include "modules/expiry/deadline_queue.hpp"
#include "modules/memory/policy.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/shard/batch.hpp"
#include "modules/shard/key_events.hpp"
#include "modules/shard/record_set.hpp"
#include "modules/values/compact_hash.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/hash_table.hpp"
#include "modules/values/list_value.hpp"
#include "modules/values/compact_zset.hpp"
#include "modules/values/sorted_set.hpp"
#include "modules/shard/blocking.hpp"
#include "modules/tracking/key_table.hpp"

namespace stairkv::protocol {
class reply_writer;
} // namespace stairkv::protocol

namespace stairkv::shard {

// What a table may hold during one batch, and how it makes room (see
// memory/budget.hpp for where `allowed` comes from).
// Whether a key's deadline has come (`now` is the batch's clock reading).
inline bool is_expired(const record& r, deadline_ms now) noexcept {
  return r.deadline != no_deadline && r.deadline <= now;
}

// How a table's maps of keys hash and compare them (by their bytes, looked up
// by string_view).
struct key_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view k) const {
    return absl::Hash<std::string_view>{}(k);
  }
};
struct key_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a == b;
  }
};

// One database's keys in a shard: the numbers SELECT takes name them (through
// the node's map of numbers, which SWAPDB changes: engine/databases.hpp). A
// key's database never decides its shard, so every database shares the
// staircase, and a shard keeps one of these per database in use: database 0
// costs no byte per key more than a store with one database would.
struct database {
  record_set entries;
  expiry::deadline_queue deadlines;
  // Blocking pops: the waiters of each key, first blocked first; the keys
  // changed while some wait (served at the end of the batch).
  absl::flat_hash_map<std::string, std::deque<waiter_ptr>, key_hash, key_equal> waiters;
  std::vector<std::string> ready;
  // SCAN: the records sorted by scan position, valid while entries.changes()
  // still equals scan_changes (rebuilt by the first SCAN after a change).
  std::vector<std::pair<std::uint32_t, const record*>> scan_order;
  std::uint64_t scan_changes = ~std::uint64_t{0};
  std::int64_t keys_with_deadline = 0;
  // Sum of the deadlines of those keys (for the average TTL in INFO); 128 bits,
  // since a million Unix-millisecond deadlines overflow 64.
  __int128 deadline_sum = 0;

  std::int64_t memory() const noexcept {
    return entries.memory() + deadlines.memory()
           + static_cast<std::int64_t>(scan_order.capacity() * sizeof(scan_order[0]));
  }
};

struct memory_bound {
  std::int64_t allowed = std::numeric_limits<std::int64_t>::max(); // bytes
  memory::policy policy = memory::policy::noeviction;
  int samples = 5;
  memory::lfu_settings lfu;
};

class table {
public:
  table();

  // The database the operations that follow work on (execute() switches to
  // each operation's own; created on first use). Events and journal records
  // name it.
  void use(std::uint8_t db);

  // Runs every operation of `work` in order and appends their replies to `out`.
  // `now` is the clock reading for the whole batch: a key whose deadline is at or
  // before it is gone.
  void execute(const batch& work, batch_result& out, deadline_ms now);

  // `now` only matters for the average time left (avg_ttl_ms).
  table_stats stats(deadline_ms now = 0) const;

  // Drops every key of every database (FLUSHALL), and any hand-over in
  // progress with them; clear_database() only those of the database in use
  // (FLUSHDB).
  void clear();
  void clear_database();

  // The shard actor's mailbox length, reported with the statistics (the resize
  // rules read it as congestion).
  void note_backlog(std::int64_t messages) noexcept {
    backlog_ = messages;
  }

  // -- retiring keys on time --------------------------------------------------

  // Removes up to `limit` keys whose deadline is at or before `now`; returns how
  // many were removed.
  std::size_t expire_due(deadline_ms now, std::size_t limit);

  // The earliest deadline still queued (possibly of a key that changed since),
  // or no_deadline when none is.
  deadline_ms next_deadline() const noexcept {
    deadline_ms next = no_deadline;
    for (const auto& d : dbs_)
      if (d && !d->deadlines.empty()
          && (next == no_deadline || d->deadlines.earliest() < next))
        next = d->deadlines.earliest();
    return next;
  }

  // -- the memory bound -------------------------------------------------------

  // The bound for the operations that follow. A write that may grow memory first
  // makes room under it (evicting as the policy says) and is refused with
  // oom_error when it cannot; execute() makes room again at the end of a batch.
  void bound_memory(const memory_bound& bound) noexcept {
    bound_ = bound;
    ranking_ = memory::ranking_of(bound.policy);
  }

  // Bytes this table holds: its records, its arrays, its deadline queues.
  std::int64_t memory() const noexcept {
    auto bytes = static_cast<std::int64_t>(scratch_.capacity());
    for (const auto& d : dbs_)
      if (d)
        bytes += d->memory();
    return bytes;
  }

  // Evicts until the table is within its bound or nothing more may go; returns
  // whether it is within.
  bool make_room(deadline_ms now);

  // Where the names of keys evicted from now on go (nullptr: nowhere).
  void report_evictions_to(std::vector<std::string>* out) noexcept {
    evicted_names_ = out;
  }
  // Keys evicted since the last call.
  std::int64_t take_evicted() noexcept {
    return std::exchange(evicted_, 0);
  }
  // Time spent evicting since the last call.
  std::chrono::nanoseconds take_eviction_time() noexcept {
    return std::exchange(eviction_time_, std::chrono::nanoseconds{0});
  }

  // -- the append-only file ----------------------------------------------------

  // Where every change is recorded from now on (nullptr: nowhere). Keys that
  // expire are not recorded: their put carries the deadline.
  void journal_to(persistence::journal* j) noexcept {
    journal_ = j;
    if (j != nullptr)
      j->select(db_index_);
  }

  // Which keys this table holds, as a FLUSHALL records it: those of shard `index`
  // of a staircase of `stairs` stairs.
  void set_scope(std::uint32_t index, std::uint32_t stairs) noexcept {
    scope_index_ = index;
    scope_stairs_ = stairs;
  }

  // Changes made since the last call (what `save` rules count).
  std::int64_t take_changes() noexcept {
    return std::exchange(changes_, 0);
  }

  // -- snapshots ---------------------------------------------------------------

  // Appends up to `max` live keys to `out` as put records; true once every key
  // has been written (the next call starts a new snapshot). The walk goes down
  // the dense array, so keys added meanwhile (at its end) are left out, and a key
  // moved by a removal (from the end into the hole) is never skipped: every key
  // present from the first call to the last is written, with its value at the
  // moment of writing. Between calls the table serves batches as usual.
  bool snapshot_chunk(std::size_t max, persistence::journal& out, deadline_ms now);

  // -- keyspace events --------------------------------------------------------

  // -- encodings -----------------------------------------------------------------

  // When hashes leave their compact encoding (hash-max-listpack-entries and
  // -value); a hash already large stays large.
  void encode_hashes(const values::hash_limits& limits) noexcept {
    hash_limits_ = limits;
  }
  // When sets leave it (set-max-intset-entries, set-max-listpack-entries
  // and -value).
  void encode_sets(const values::set_limits& limits) noexcept {
    set_limits_ = limits;
  }

  // Which event classes (notify_flag bits, see recorded_classes()) to record from
  // now on; none by default.
  void record_events(std::uint32_t classes) noexcept {
    recorded_ = classes;
  }

  // The events recorded since the last call, in the order they happened. A key
  // whose deadline passed (on access, on time, or on the way to another shard)
  // has exactly one `expired` event.
  key_event_log take_events() {
    return std::exchange(events_, {});
  }

  // -- client-side caching (CLIENT TRACKING) ----------------------------------

  // Where the totals and the bound of remembered keys live (the store's
  // shared tracking settings); without them, keys are remembered unbounded.
  void track_in(tracking::settings_ptr shared) {
    tracked_.count_in(std::move(shared));
  }
  // Whether some client tracks in broadcasting mode: every change is then
  // reported for the broker's prefixes (read once per batch).
  void broadcast_changes(bool on) noexcept {
    broadcasting_ = on;
  }
  // The invalidations since the last call: remembered keys that changed (each
  // forgotten by its clients), and every change while broadcasting.
  tracking::invalidations take_invalidations() {
    return std::exchange(invalidations_, {});
  }
  bool owes_invalidations() const noexcept {
    return !invalidations_.empty();
  }
  const tracking::key_table& tracked() const noexcept {
    return tracked_;
  }
  // Keys an old shard remembered, handed over at the start of a resize.
  void adopt_tracked(const std::vector<tracking::tracked_key>& keys) {
    for (const auto& k : keys)
      for (auto client : k.clients)
        tracked_.remember(k.name, client);
  }

  // -- handing keys over during a resize -------------------------------------

  // Takes a live key of database `db` out of the table (nullptr if missing or
  // past its deadline); the caller owns the record.
  record* release_live(std::uint8_t db, std::string_view key, deadline_ms now);

  // Takes up to `max` records out for handing over, passing each to
  // `take(record, database)`, database after database; records past their
  // deadline are reclaimed on the way instead. Returns false once the table
  // is empty. Nothing may be inserted while handing over.
  template <class F>
  bool hand_over(std::size_t max, deadline_ms now, F&& take) {
    if (!handing_over_) {
      handover_db_ = 0;
      use(0);
      cursor_ = db_->entries.begin();
      handing_over_ = true;
    }
    for (std::size_t n = 0; n < max;) {
      use(handover_db_);
      if (cursor_ == db_->entries.end()) {
        // On to the next database in use, if any.
        auto next = handover_db_ + 1u;
        while (next < dbs_.size() && !dbs_[next])
          ++next;
        if (next >= dbs_.size())
          break;
        handover_db_ = static_cast<std::uint8_t>(next);
        use(handover_db_);
        cursor_ = db_->entries.begin();
        continue;
      }
      auto* r = *cursor_;
      ++cursor_;
      track_deadline(r->deadline, -1);
      db_->entries.release(r);
      if (r->deadline != no_deadline && r->deadline <= now) {
        ++expired_;
        note(key_event::expired, r->key());
        record_set::destroy(r);
        continue;
      }
      take(r, handover_db_);
      ++n;
    }
    use(handover_db_);
    if (cursor_ != db_->entries.end())
      return true;
    for (auto next = handover_db_ + 1u; next < dbs_.size(); ++next)
      if (dbs_[next] && dbs_[next]->entries.size() > 0)
        return true;
    return false;
  }

  // Adds records handed over by another shard, each into its database
  // (`dbs`, one per record); a key already present keeps its own record.
  // Takes ownership of every pointer and nulls it in `records`.
  void adopt(std::vector<record*>& records, const std::vector<std::uint8_t>& dbs);

  // Keys in the database in use.
  std::size_t database_size() const noexcept {
    return db_->entries.size();
  }

  // Keys in every database.
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const auto& d : dbs_)
      if (d)
        n += d->entries.size();
    return n;
  }

  // -- freeing big values off the request path --------------------------------

  // The containers of the big values deleted or replaced since the last call
  // (DEL, expiry, eviction, SET or RESTORE over a hash or set of more than
  // lazyfree_elements), left
  // for the caller to free on another thread (Redis's lazyfree); their bytes
  // are no longer counted here.
  // -- blocking pops ---------------------------------------------------------

  // The waiters served since the last call, each with its reply, for the
  // shard to send to their gateways.
  std::vector<wakeup> take_wakeups() {
    return std::exchange(wakeups_, {});
  }
  // Every waiter still queued, taken out with its database and key (a resize
  // hands them to the new shards, in queue order).
  struct queued_waiter {
    std::uint8_t db;
    std::string key;
    waiter_ptr waiter;
  };
  std::vector<queued_waiter> take_waiters();

  // The size of new lists' chunks (list-max-listpack-size).
  void encode_lists(const values::list_limits& limits) noexcept {
    list_limits_ = limits;
  }

  // When a sorted set leaves its compact encoding (zset-max-listpack-*).
  void encode_zsets(const values::zset_limits& limits) noexcept {
    zset_limits_ = limits;
  }

  std::vector<detached_container> take_reclaimed() {
    return std::exchange(reclaimed_, {});
  }
  static constexpr std::size_t lazyfree_elements = 64;

private:
  std::vector<detached_container> reclaimed_;
  // A big container `r` holds goes to reclaimed_ (before `r` is erased or
  // given a new value).
  void reclaim_if_big(record* r);
  // Finds a live record, reclaiming it first if its deadline has passed, and
  // counts the access unless told not to (EXISTS, TTL and TYPE do not count:
  // they leave a key's idle time alone, as in Redis).
  enum class access : bool { untouched, touched };
  record* find_live(std::string_view key, deadline_ms now,
                    access how = access::touched);
  // A live record holding a `type` value (touched as find_live does), or
  // nullptr: the key is missing, or holds another type, in which case
  // -WRONGTYPE has been written to `out` and `refused` is set.
  record* find_typed(std::string_view key, deadline_ms now, value_type type,
                     batch_result& out, bool& refused);
  record* find_string(std::string_view key, deadline_ms now, batch_result& out,
                      bool& refused) {
    return find_typed(key, now, value_type::string, out, refused);
  }
  // Adds a key with fresh access information.
  record* insert(std::string_view key, std::string_view value, deadline_ms now,
                 value_type type = value_type::string);
  // Whether a write that may grow memory must be refused (after making room).
  bool refuse_growth(deadline_ms now);
  // The key the policy would evict next (one past its deadline first), or nullptr.
  record* pick_victim(deadline_ms now);
  std::uint64_t next_random() noexcept;
  // Rebuilds the deadline queue from the live deadlines when stale entries
  // outnumber live ones two to one (or `always`).
  void compact_deadlines(bool always);
  // Removes a record and records its deletion; drop() only removes it (an
  // expiry, or a change recorded otherwise).
  void erase(record* r);
  void drop(record* r);
  // Drops every key of the database in use (no record of it).
  void drop_all();
  void log_put(const record* r) {
    ++changes_;
    if (journal_ != nullptr)
      journal_->put(r->key(), serialized(r), r->deadline, static_cast<std::uint8_t>(r->type()));
  }
  // A record's value as records, RENAME and DUMP carry it: a string's bytes,
  // a hash's compact form (written into serial_ for a large one).
  std::string_view serialized(const record* r);
  // Stores a serialised value of `type` under `key` (RENAME's second half,
  // RESTORE), replacing what the key held; false when the bytes are not a
  // well-formed value of that type.
  record* store_serialized(record* r, std::string_view key, value_type type,
                           std::string_view bytes, deadline_ms now);
  void log_deadline(const record* r) {
    ++changes_;
    if (journal_ != nullptr)
      journal_->deadline(r->key(), r->deadline);
  }
  void set_deadline(record* r, deadline_ms deadline);
  // The writes several operations share, each recorded in the journal and as
  // its keyspace event:
  // - `value` becomes the value of `key` (`r`: its live record, or nullptr for
  //   a new key, noted as `new`); returns the record, which may have moved.
  //   The caller logs the change and notes its own event.
  record* store_value(record* r, std::string_view key, std::string_view value,
                      deadline_ms now);
  // - a new deadline for a live key; one already past deletes the key, as DEL
  //   would (Redis counts it as a deletion, not as an expiry).
  void change_deadline(record* r, std::string_view key, deadline_ms deadline,
                       deadline_ms now);
  // - the key's deadline goes; false when it had none.
  bool drop_deadline(record* r, std::string_view key);

  // -- operations: one per op_code (batch.hpp says what each answers) --------
  // Each appends its reply to `out`; `now` is the batch's clock reading.
  void run(const batch& work, const operation& op, batch_result& out, deadline_ms now);
  // strings (string_ops.cpp)
  void op_get(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_mget_one(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_set(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_append(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_strlen(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_incr_by(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_incr_by_float(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_get_range(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_set_range(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_get_delete(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_get_expire(const batch&, const operation&, batch_result& out, deadline_ms now);
  // keys of any type (key_ops.cpp)
  void op_del(const batch&, const operation&, batch_result& out, deadline_ms now); // also rename_from
  void op_exists(const batch&, const operation&, batch_result& out, deadline_ms now); // also touch
  void op_expire(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_persist(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_ttl(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_type(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_peek(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_rename_to(const batch&, const operation&, batch_result& out, deadline_ms now); // also restore
  void op_dump(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_memory_usage(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_move(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_random_key(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_keys(const batch&, const operation&, batch_result& out, deadline_ms now); // also keys_from
  void op_scan(const batch&, const operation&, batch_result& out, deadline_ms now); // also scan_from
  // server commands (server_ops.cpp)
  void op_count_keys(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_count_keys_from(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_flush(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_flush_from(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_stats(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_reset_stats(const batch&, const operation&, batch_result& out, deadline_ms now);
  // hashes (hash_ops.cpp)
  void op_hset(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hget(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hmget(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hdel(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hlen(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hstrlen(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hexists(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hgetall(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hincrby(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hincrbyfloat(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hrandfield(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_hscan(const batch&, const operation&, batch_result& out, deadline_ms now);
  // The value of a field, if the hash has it.
  static bool hash_field(const record* r, std::string_view field, std::string_view& value);
  // Sets fields of the hash `r` (nullptr: a new key) from packed pairs, each
  // pair's field first; `added` counts the new fields. Takes the large
  // encoding when the hash outgrows the compact one. Returns the record.
  record* hash_set(record* r, std::string_view key, std::string_view pairs,
                   std::int64_t& added, deadline_ms now);
  // The hash's field count.
  static std::size_t hash_size(const record* r);
  // Sets one field (HINCRBY, HINCRBYFLOAT), records it and notes `event`.
  void set_field(record* r, std::string_view key, std::string_view field,
                 std::string_view value, key_event event, deadline_ms now);
  // What hashes and sets share:
  // - a large value changed in place by `change(table)`, its bytes counted;
  template <class Change>
  void change_container(record* r, Change&& change) {
    auto* elements = r->container<values::hash_table>();
    auto before = elements->bytes();
    change(*elements);
    db_->entries.container_resized(elements->bytes() - before);
  }
  // - a compact edit's result stored as the value of `key` (`r`: its record,
  //   or nullptr for a new key); returns the record;
  template <class Edit>
  record* store_compact(record* r, std::string_view key, const Edit& edit, value_type type,
                        deadline_ms now) {
    edit.write(scratch_);
    r = r == nullptr ? insert(key, scratch_, now, type) : db_->entries.assign(r, scratch_, type);
    if (scratch_.capacity() > 64 * 1024)
      std::string{}.swap(scratch_);
    return r;
  }
  // - `elements` (owned from now on) made the large encoding of `key`;
  record* store_large(record* r, std::string_view key, value_type type,
                      values::hash_table* elements, deadline_ms now);
  // - the end of a removal that took `removed` elements and left `left`: a
  //   value left empty is deleted (its deletion recorded, `r` nulled), any
  //   other removal recorded by `recorded` with the removed `items`.
  void end_removal(record*& r, std::string_view key, std::int64_t removed, std::size_t left,
                   void (persistence::journal::*recorded)(std::string_view, std::string_view),
                   std::string_view items);
  // - packed `items` taken out of the hash or set `r` (with `Edit`, its
  //   compact edit, reusing `scratch`), `event` noted when any went (before
  //   the deletion's, as in Redis), the rest as end_removal says; returns how
  //   many went.
  template <class Edit, class Scratch>
  std::int64_t remove_elements(record*& r, std::string_view key, std::string_view items,
                               Scratch& scratch, key_event event,
                               void (persistence::journal::*recorded)(std::string_view,
                                                                      std::string_view),
                               deadline_ms now) {
    values::packed_reader reader{items};
    std::string_view item;
    std::int64_t removed = 0;
    std::size_t left = 0;
    if (r->holds_container()) {
      change_container(r, [&](values::hash_table& table) {
        while (reader.next(item))
          removed += table.erase(item) ? 1 : 0;
        left = table.size();
      });
    } else {
      Edit edit{r->value(), scratch};
      while (reader.next(item))
        removed += edit.erase(item) ? 1 : 0;
      left = edit.size();
      if (removed > 0 && left > 0)
        r = store_compact(r, key, edit, r->type(), now);
    }
    if (removed > 0)
      note(event, key);
    end_removal(r, key, removed, left, recorded, items);
    return removed;
  }
  // - the first `count` places of `items` made a uniform draw without
  //   repeats (a partial Fisher-Yates shuffle);
  template <class T>
  void draw_distinct(std::vector<T>& items, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
      std::swap(items[i], items[i + next_random() % (items.size() - i)]);
  }
  // - a missing key's answer to a draw: an empty array (a set for SPOP)
  //   when a count was given, else null.
  static void answer_no_draw(batch_result& out, const random_args& args, bool as_set);
  // sets (set_ops.cpp)
  void op_sadd(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_srem(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_smembers(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_sismember(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_smismember(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_scard(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_spop(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_srandmember(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_sscan(const batch&, const operation&, batch_result& out, deadline_ms now);
  // Adds packed members to the set `r` (nullptr: a new key); returns the
  // record, `added` counting the new members. Takes the large encoding when
  // the set outgrows the compact one.
  record* set_add(record* r, std::string_view key, std::string_view members,
                  std::int64_t& added, deadline_ms now);
  static bool set_contains(const record* r, std::string_view member);
  static std::size_t set_size(const record* r);
  // Every member into members_ (views into the set), for draws and scans.
  void collect_members(const record* r);
  // HSCAN's and SSCAN's stretch of scan positions [begin, end) for a large
  // value of `size` elements (see op_hscan).
  static std::pair<std::uint64_t, std::uint64_t> scan_window(const field_scan_args& args,
                                                             std::size_t size);
  // lists (list_ops.cpp)
  void op_lpush(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lpop(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_llen(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lrange(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lindex(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lset(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_linsert(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lrem(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_ltrim(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_lpos(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_block_pop(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_unblock(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_list_replay(const batch&, const operation&, batch_result& out, deadline_ms now);
  // A new, empty list under `key` (noted as new).
  record* new_list(std::string_view key, deadline_ms now);
  // The list `r` changed in place by `change(list)`, its bytes counted.
  template <class Change>
  void change_list(record* r, Change&& change) {
    auto* list = r->container<values::list_value>();
    auto before = list->bytes();
    change(*list);
    db_->entries.container_resized(list->bytes() - before);
  }
  // A change made: the list's next version, recorded as a ListChange.
  void log_list(const record* r, persistence::list_change kind, std::int64_t a,
                std::int64_t b, std::string_view items);
  // Pushes packed elements at one end of the list `r` (nullptr: a new key),
  // recorded and noted; returns the record.
  record* list_push(record* r, std::string_view key, list_end end,
                    std::string_view elements, deadline_ms now);
  // Pops up to `count` elements from one end into `popped`, recorded and
  // noted; the key goes with its last element (`r` nulled). Returns how many.
  std::size_t list_pop(record*& r, std::string_view key, list_end end, std::size_t count,
                       std::vector<std::string>& popped);
  // A list left empty by a change goes (its deletion recorded, `r` nulled).
  void end_list_change(record*& r, std::string_view key);
  // A blocking pop's pop from `r` and its reply in the form `how` asks.
  bool pop_for(record*& r, std::string_view key, const block_args& how,
               std::string& reply_bytes);
  void write_pop(std::string_view key, const block_args& how, std::string& reply_bytes);
  // Serves the waiters of the keys changed since the last call, first
  // queued first, while their keys hold elements.
  void serve_ready(deadline_ms now);
  // inspection without an access (inspect_ops.cpp)
  // Sorted sets (zset_ops.cpp).
  void op_zadd(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zrem(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zcard(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zscore(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zmscore(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zrank(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zcount(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zrange(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zremrange(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zpop(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zrandmember(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_zscan(const batch&, const operation&, batch_result& out, deadline_ms now);

  // Runs `change` on the sorted set r holds, in either encoding: a large one
  // in place (its byte count follows), a compact one read from the record and
  // stored back (store_zset). The record may move: use the one returned.
  template <class Change>
  record* change_zset(record* r, Change&& change) {
    if (r->holds_container()) {
      auto* zset = r->container<values::sorted_set>();
      auto before = zset->bytes();
      change(*zset);
      db_->entries.container_resized(zset->bytes() - before);
      return r;
    }
    values::compact_zset edit{r->value(), zrow_};
    change(edit);
    return store_zset(r, edit);
  }
  // Runs `read` on the sorted set r holds, in either encoding.
  template <class Read>
  void with_zset(const record* r, Read&& read) {
    if (r->holds_container()) {
      read(static_cast<const values::sorted_set&>(*r->container<values::sorted_set>()));
      return;
    }
    const values::compact_zset view{r->value(), zrow_};
    read(view);
  }
  // A compact set's new content into its record (nothing when it did not
  // change): compact while it fits the limits, else a skip list from now on
  // (an empty one: no element, for the caller to take the key).
  record* store_zset(record* r, const values::compact_zset& edit);
  static std::size_t zset_size(const record* r);
  template <class Zset>
  void draw_from(const Zset& zset, const random_args& args, protocol::reply_writer& reply);
  std::vector<values::compact_zset::element> zrow_; // a compact sorted set's elements
  values::zset_limits zset_limits_;
  // Removes the members packed in members_ (already gone from the set) from
  // the journal's view, notes `event`, and takes the key when the set is empty.
  void end_zset_removal(record*& r, std::string_view key, std::size_t removed,
                        key_event event);
  // Pops up to count of the lowest (highest) elements into zpopped_.
  std::size_t zset_pop(record*& r, std::string_view key, bool highest, std::size_t count);
  // The popped elements as a blocking pop answers them.
  void write_zpop(std::string_view key, const block_args& how, std::string& reply_bytes);
  std::vector<std::pair<std::string, double>> zpopped_;

  void op_object(const batch&, const operation&, batch_result& out, deadline_ms now);
  void op_digest(const batch&, const operation&, batch_result& out, deadline_ms now); // also digest_from
  void op_digest_value(const batch&, const operation&, batch_result& out, deadline_ms now);

  // The databases in use, by number (null: never used), and the one the
  // running operation works on.
  std::vector<std::unique_ptr<database>> dbs_;
  database* db_ = nullptr;
  std::uint8_t db_index_ = 0;
  std::uint8_t handover_db_ = 0;
  std::uint8_t snapshot_db_ = 0;
  // Whether the record about to go is the hand-over's next one (which then
  // moves on).
  bool at_cursor(const record* r) const noexcept {
    return handing_over_ && db_index_ == handover_db_ && cursor_ != db_->entries.end()
           && *cursor_ == r;
  }
  key_event_log events_;
  std::uint32_t recorded_ = 0;
  std::string scratch_; // SETRANGE builds the new value here, hashes their bytes
  std::string serial_;  // a large value's serialised form (serialized())
  std::vector<values::field_value> pairs_; // a compact hash being changed
  std::string packed_;  // one field's pair for the journal
  values::hash_limits hash_limits_;
  values::set_limits set_limits_;
  std::vector<std::string_view> members_; // a compact set being changed
  values::list_limits list_limits_;
  std::vector<std::string> popped_; // a pop's elements
  // The blocked pops served (database::waiters holds those still waiting).
  std::vector<wakeup> wakeups_;
  std::uint64_t random_state_ = 0x9e3779b97f4a7c15ull; // RANDOMKEY, eviction, LFU
  memory_bound bound_;
  memory::ranking ranking_ = memory::ranking::none;
  std::int64_t evicted_ = 0;
  std::vector<std::string>* evicted_names_ = nullptr;
  std::chrono::nanoseconds eviction_time_{0};
  // Whether the operation running counts its accesses (CLIENT NO-TOUCH).
  bool touching_ = true;
  persistence::journal* journal_ = nullptr;
  std::int64_t changes_ = 0;
  static constexpr std::size_t no_snapshot = ~std::size_t{0};
  std::size_t snapshot_cursor_ = no_snapshot;
  std::uint32_t scope_index_ = 0;
  std::uint32_t scope_stairs_ = 1;

  void note(key_event what, std::string_view key) {
    if (recorded_ & class_of(what))
      events_.add(what, key, position_, db_index_);
    // Every change ends the caching of its key (a read's miss and a new key's
    // own event, which comes with the write's, are no change of their own).
    if (tracking_changes() && what != key_event::keymiss && what != key_event::new_key)
      invalidate(key, what == key_event::expired || what == key_event::evicted);
  }

  // Client-side caching: the keys remembered for tracking clients, the
  // invalidations owed, the NOLOOP client whose operation runs (0: none).
  tracking::key_table tracked_;
  tracking::invalidations invalidations_;
  bool broadcasting_ = false;
  std::uint64_t writer_ = 0;
  bool tracking_changes() const noexcept {
    return broadcasting_ || !tracked_.empty();
  }
  // `key` of the database in use changed; `by_nobody` for expiries and
  // evictions (which even a NOLOOP client hears of).
  void invalidate(std::string_view key, bool by_nobody);
  // The notes of the operation `index` of `work` (from note `at` on): before
  // it runs, whose NOLOOP change it is; after it, which client remembers its
  // key.
  void remember_read(const batch& work, const operation& op, std::size_t index,
                     std::size_t& at);
  std::uint32_t position_ = 0; // the running operation's place in its plan

  // The integer reply of a counted operation, and its typed share when the
  // merge that combines it asked for one.
  static void answer_count(const operation& op, batch_result& out, std::int64_t n);

  bool handing_over_ = false;
  record_set::const_iterator cursor_;

  void track_deadline(deadline_ms deadline, int delta) noexcept {
    if (deadline == no_deadline)
      return;
    db_->keys_with_deadline += delta;
    db_->deadline_sum += static_cast<__int128>(deadline) * delta;
  }
  std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
  std::int64_t expired_ = 0;
  std::int64_t backlog_ = 0;
};

} // namespace stairkv::shard
