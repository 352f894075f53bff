#pragma once

// The unit of work a shard actor receives: every operation that one routing cycle
// sends to this shard, in order, with their keys and values packed into one buffer.
// One batch per shard per cycle (not one message per command) is what keeps the
// actor hop affordable when a read carries many commands.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stairkv::shard {

enum class op_code : std::uint8_t {
  get,        // bulk or null
  set,        // set_args: +OK, null (NX/XX not met), or the old value (GET flag)
  del,        // :1 / :0 (counted)
  exists,     // :1 / :0 (counted); the key's access is not counted
  touch,      // TOUCH: as exists, and it counts as an access
  incr_by,    // incr_args: :new value, or an error
  append,     // :new length
  strlen,     // :length
  count_keys, // :number of live keys of the database in the shard (counted)
  flush,      // +OK, drops every key of the database (FLUSHDB)
  stats,      // no bytes; the share's table_stats
  // During a resize, sent by an old shard to the new ones it feeds (origin_args):
  count_keys_from, // :how many of the origin's keys this shard holds (counted)
  flush_from,      // +OK, after dropping them (of every database with
                   // origin_args::every_db, else of the operation's)
  // EXPIRE and friends (expire_args): :1 when the deadline was set (or the key
  // deleted because the deadline has passed), :0 otherwise.
  expire,
  persist,    // :1 when a deadline was removed
  ttl,        // ttl_args: :-2 missing, :-1 no deadline, else the value (counted
              // when asked: WATCH reads deadlines typed)
  get_delete, // GETDEL: the value (or null), and the key is gone
  get_expire, // GETEX (getex_args): the value
  get_range,  // GETRANGE (range_args): the bulk of that substring
  set_range,  // SETRANGE (offset_args): :new length
  incr_by_float, // INCRBYFLOAT: value = the increment (validated): the new value
  type,       // TYPE: +string or +none
  random_key, // keyless: a bulk key of this shard, or null when it is empty
  keys,       // keyless: value = glob pattern: the matching keys as bulks, back
              // to back (no array header); the share counts them (origin_args:
              // a cluster slot's keys alone)
  keys_from,  // during a resize (origin_args): the same for the origin's keys
  reset_stats, // keyless: +OK after zeroing hits, misses and expired (RESETSTAT)
  // RENAME in two steps (see gateway/multi_step_commands.cpp): `peek` answers
  // the raw value (not RESP) with found and deadline in its share; `rename_from`
  // deletes the key (:1 / :0); `rename_to` (restore_args) stores value with
  // that deadline (+OK).
  peek,
  rename_from,
  rename_to,
  // Loading a snapshot or an append-only file, and RESTORE (restore_args,
  // value: the serialised value): as rename_to, without its event (+OK);
  // without restore_args::replace, a key that exists is -BUSYKEY.
  restore,
  // DUMP: the key's payload (values/dump.hpp) as a bulk, or null.
  dump,
  // SCAN's share (keyless, scan_args; value: the MATCH glob, empty for all):
  // the keys as bulks, back to back; the share counts them and the keys looked
  // at (before MATCH).
  scan,
  scan_from, // during a resize: the same for the keys of scan_args::origin
  // MEMORY USAGE: :bytes the key takes (its block, its share of the shard's
  // arrays, its deadline entry), or null when it is missing.
  memory_usage,
  // OBJECT and DEBUG OBJECT (object_args): what the key's record says, in the
  // form the subcommand answers; null when the key is missing. The look does
  // not count as an access (Redis's OBJECT touches nothing either).
  object,
  // DEBUG DIGEST's share (keyless): 20 raw bytes, the XOR of the digests of
  // this shard's live keys, with a share of one element; XOR does not care
  // about order, so the shares of any number of shards combine into the
  // node's digest. digest_from: the same for the keys that came from
  // origin_args' old shard, during a resize.
  digest,
  digest_from,
  // DEBUG DIGEST-VALUE: the 40 hex digits of the digest of the key's value
  // alone (zeros when missing).
  digest_value,
  // MGET's read of one key: as get, but a key of another type reads as null,
  // as Redis's MGET answers.
  mget_one,
  // Hashes (hash_ops.cpp). A key holding another type answers -WRONGTYPE.
  // Several fields travel in the value as a packed list (values/packed.hpp).
  hset,         // hash_args; value: field, value, ...: :fields added (HSET),
                // +OK (HMSET), :1 / :0 (HSETNX, one pair)
  hget,         // value: the field: bulk or null
  hmget,        // hash_args (resp); value: fields: an array of bulks or nulls
  hdel,         // value: fields: :fields removed; the last one takes the key
  hlen,         // :fields
  hstrlen,      // value: the field: :its value's length, 0 when missing
  hexists,      // value: the field: :1 / :0
  hgetall,      // hash_args (view, resp): HGETALL's map, HKEYS', HVALS' array
  hincrby,      // incr_args; value: the field: :new value, or an error
  hincrbyfloat, // value: field, increment: the new value as a bulk
  hrandfield,   // random_args: a random field (bulk or null), or an array of
                // them (distinct for a count >= 0, drawn again and again for a
                // negative one), with their values when asked
  hscan,        // field_scan_args; value: the MATCH glob (empty: all): HSCAN's
                // reply, the next cursor and the fields with their values
  // Sets (set_ops.cpp). A key holding another type answers -WRONGTYPE;
  // several members travel packed in the value.
  sadd,         // value: members: :members added
  srem,         // value: members: :members removed; the last one takes the key
  smembers,     // hash_args (resp): every member (a RESP3 set)
  sismember,    // value: the member: :1 / :0
  smismember,   // value: members: an array of :1 / :0
  scard,        // :members
  spop,         // random_args: a member removed at random (bulk or null), or
                // that many distinct ones (a set)
  srandmember,  // random_args: as hrandfield, members only
  sscan,        // field_scan_args; value: the MATCH glob: the next cursor and
                // the members
  // Lists (list_ops.cpp). A key holding another type answers -WRONGTYPE;
  // several elements travel packed in the value.
  lpush,        // list_args (end, only_if_exists); value: the elements: :new
                // length (:0 for LPUSHX and RPUSHX on a missing key)
  lpop,         // list_args (end, count): a bulk or null; with a count, an
                // array or a null array
  llen,         // :elements
  lrange,       // range_args: an array
  lindex,       // offset_args (the index): a bulk or null
  lset,         // offset_args; value: the element: +OK, or an error
  linsert,      // list_args (end: left for BEFORE); value: pivot, element:
                // :new length, :-1 (no pivot), :0 (no key)
  lrem,         // list_args (count); value: the element: :removed
  ltrim,        // range_args: +OK
  lpos,         // lpos_args; value: the element: :position or null, or an
                // array of them with COUNT
  // The blocking pops (gateway/blocking_commands.cpp; block_args, the waiter
  // in batch::waiters): pops as the waiter asks when the list has elements
  // and the waiter is still unserved, else registers it on the key (unless
  // block_args::no_wait) to be served by the first push that reaches it.
  // Answers the reply of the pop, or one of the block_marker replies.
  block_pop,
  // Takes the waiter off the key's queue (it timed out, was served by
  // another key, or its client left): +OK.
  unblock,
  // A list change read back from the append-only file (list_change_args;
  // value: its packed elements): applied only when it is the change after
  // the list's current version, so a change replayed twice, or over a
  // snapshot that already holds it, changes nothing. +OK.
  list_replay,
  // Sorted sets (zset_ops.cpp). A key holding another type answers
  // -WRONGTYPE. Members travel packed in the value; ZADD's pairs as the
  // member, then its score's 8 bytes (values::append_score). Score and lex
  // bounds travel as text, packed min then max (already checked), and the
  // shard parses them again (values/sorted_set.hpp).
  zadd,         // zset_args (flags); value: member, score, ...: :added (CH:
                // added or changed), or with INCR the new score (null when
                // NX/XX/GT/LT kept it)
  zrem,         // value: members: :removed; the last one takes the key
  zcard,        // :members
  zscore,       // value: the member: its score, or null
  zmscore,      // value: members: an array of scores or nulls
  zrank,        // zset_args (reverse, with_scores); value: the member: :rank
                // or null, [rank, score] with WITHSCORE
  zcount,       // zset_args (by score or lex); value: min, max: :elements
  zrange,       // zset_args: an array of members (with their scores)
  zremrange,    // zset_args (by rank, score or lex): :removed
  zpop,         // zset_args (highest, count): ZPOPMIN/ZPOPMAX's reply
  zrandmember,  // random_args: as hrandfield, with scores
  zscan,        // field_scan_args; value: the MATCH glob: the next cursor and
                // each member with its score
  // Databases. Every operation names its database (operation::db); these
  // are the ones that see more than one.
  flush_all,    // +OK, drops every key of every database (FLUSHALL)
  move,         // db_args: MOVE's :1 when the key went to database
                // db_args::target, :0 when it is missing or already there
};

// What an `hset` writes back, and which fields an `hgetall` lists.
enum class hash_mode : std::uint8_t {
  count_added, // HSET: how many fields are new
  ok,          // HMSET: +OK
  if_absent,   // HSETNX: only a missing field is set; :1 / :0
  all,         // HGETALL: fields and values
  fields,      // HKEYS
  values,      // HVALS
};

// What an `object` operation answers.
enum class object_view : std::uint8_t {
  encoding, // OBJECT ENCODING: the bulk "int", "embstr" or "raw"
  refcount, // OBJECT REFCOUNT: :1 (nothing is shared)
  idletime, // OBJECT IDLETIME: :seconds since the last access (LRU clocks)
  freq,     // OBJECT FREQ: :the LFU counter (LFU policies)
  debug,    // DEBUG OBJECT: Redis's status line (address, encoding, lru...)
};

// Conditions of an `expire` operation (Redis's NX XX GT LT).
namespace expire_flag {
inline constexpr std::uint8_t only_if_none = 1;   // NX
inline constexpr std::uint8_t only_if_some = 2;   // XX
inline constexpr std::uint8_t only_if_later = 4;  // GT
inline constexpr std::uint8_t only_if_sooner = 8; // LT
} // namespace expire_flag

// What a `ttl` operation reports.
enum class ttl_unit : std::uint8_t {
  seconds_left,      // TTL
  millis_left,       // PTTL
  unix_seconds,      // EXPIRETIME
  unix_millis,       // PEXPIRETIME
};

// What a `get_expire` operation does to the deadline.
enum class getex_mode : std::uint8_t { keep, set, persist };

// Flags of a `set` operation.
namespace set_flag {
inline constexpr std::uint8_t only_if_absent = 1;  // NX
inline constexpr std::uint8_t only_if_present = 2; // XX
inline constexpr std::uint8_t return_old = 4;      // GET
inline constexpr std::uint8_t keep_ttl = 8;        // KEEPTTL
inline constexpr std::uint8_t reply_count = 16;    // SETNX: :1 when set, else :0
} // namespace set_flag

// A key of the shards' database `db` as one name, where names of several
// databases meet (the evicted keys a batch reports, the keys WATCH follows):
// the key itself in database 0, else behind a two-byte prefix of its
// database. A real key that happens to start with such a prefix could only
// be taken for another database's key by those two (an EXEC failing when it
// need not), never the other way round.
inline std::string qualified_key(std::uint8_t db, std::string_view key) {
  if (db == 0)
    return std::string{key};
  std::string name;
  name.reserve(key.size() + 2);
  name.push_back('\0');
  name.push_back(static_cast<char>(db));
  name.append(key.data(), key.size());
  return name;
}
// The database such a name is in, and the key it names.
inline std::uint8_t database_of_name(std::string_view name) {
  return name.size() >= 2 && name[0] == '\0' ? static_cast<std::uint8_t>(name[1]) : 0;
}
inline std::string_view key_of_name(std::string_view name) {
  return database_of_name(name) == 0 ? name : name.substr(2);
}

// Deadlines are absolute Unix times in milliseconds; 0 means "no deadline".
using deadline_ms = std::int64_t;
inline constexpr deadline_ms no_deadline = 0;

// The arguments of an operation beyond its key and value, one type per kind;
// op_code says which one an operation carries. All are plain values, so an
// operation stays a fixed-size, copyable record in its batch.
struct no_args {};

struct set_args {
  deadline_ms deadline = no_deadline; // ignored with set_flag::keep_ttl
  std::uint8_t flags = 0;             // set_flag
};

struct expire_args {
  deadline_ms deadline = no_deadline; // the new absolute deadline
  std::uint8_t conditions = 0;        // expire_flag
};

struct ttl_args {
  ttl_unit unit = ttl_unit::seconds_left;
};

struct getex_args {
  getex_mode mode = getex_mode::keep;
  deadline_ms deadline = no_deadline; // with getex_mode::set
};

struct incr_args {
  std::int64_t delta = 0;
};

// GETRANGE's bounds, as Redis takes them: inclusive, negative from the end.
struct range_args {
  std::int64_t start = 0;
  std::int64_t end = 0;
};

struct offset_args {
  std::int64_t offset = 0; // SETRANGE: where the value goes
};

struct restore_args {
  deadline_ms deadline = no_deadline; // rename_to: the source key's deadline
  std::uint8_t type = 0;              // and its type (shard::value_type)
  bool replace = true;                // restore: over a key that exists
  // restore: the keyspace event it reports (shard::key_event plus one; 0:
  // none), as SINTERSTORE and its kind report theirs.
  std::uint8_t event = 0;
};

struct hash_args {
  hash_mode mode = hash_mode::count_added;
  std::uint8_t resp = 2; // the client's protocol: HGETALL's map, nulls in HMGET
};

struct object_args {
  object_view view = object_view::encoding;
};

// The keys that came from old shard `shard` of a staircase of `stairs` stairs
// (the *_from operations a resizing shard sends to the new ones), in the
// operation's database, or in all of them (flush_from of a FLUSHALL).
struct origin_args {
  std::uint32_t shard = 0;
  std::uint32_t stairs = 0;
  bool every_db = false;
  // keys and keys_from (GETKEYSINSLOT, COUNTKEYSINSLOT): only the keys of this
  // cluster hash slot (-1: any), at most `limit` of them per shard (0: all).
  std::int32_t slot = -1;
  std::uint32_t limit = 0;
};

// MOVE's destination database.
struct db_args {
  std::uint8_t target = 0;
};

// SCAN's window: the keys whose scan position (the low 32 bits of their routing
// hash) lies in [cursor, cursor + 2^width_log2).
struct scan_args {
  std::uint32_t cursor = 0;
  std::uint8_t width_log2 = 0;
  // TYPE: only keys of this type are listed (all are counted as looked at):
  // 0 for any, else the value_type plus one; any_type_excluded for a name
  // that is no type.
  std::uint8_t type_filter = 0;
  static constexpr std::uint8_t any_type_excluded = 0xff;
  origin_args origin; // scan_from
};

// HRANDFIELD's count (none: one field, as a bulk) and WITHVALUES.
struct random_args {
  std::int64_t count = 0;
  bool counted = false;
  bool with_values = false;
  std::uint8_t resp = 2;
};

// HSCAN's cursor and COUNT (see table::op_hscan for what the cursor means).
struct field_scan_args {
  std::uint64_t cursor = 0;
  std::int64_t count = 10;
};

// Which end of a list.
enum class list_end : std::uint8_t { left, right };

// LPUSH and RPUSH (PUSHX: only_if_exists), LPOP and RPOP (a count when
// counted), LINSERT (BEFORE: left), LREM (count).
struct list_args {
  list_end end = list_end::left;
  bool only_if_exists = false;
  bool counted = false;
  std::int64_t count = 0;
  std::uint8_t resp = 2;
};

// LPOS's RANK, COUNT (counted: given) and MAXLEN.
struct lpos_args {
  std::int64_t rank = 1;
  std::int64_t count = 0;
  std::int64_t maxlen = 0;
  bool counted = false;
  std::uint8_t resp = 2;
};

// How a blocking pop answers when it pops.
enum class block_form : std::uint8_t {
  pair,    // BLPOP, BRPOP: [key, element]
  multi,   // LMPOP, BLMPOP: [key, [elements...]]
  element, // BLMOVE, BRPOPLPUSH: the element alone
};

// What a block_pop answers when it did not pop: the gateway reads these (the
// bytes are no RESP reply; the client never sees them).
namespace block_marker {
inline constexpr std::string_view empty = std::string_view{"\0E", 2};   // nothing there, no_wait
inline constexpr std::string_view waiting = std::string_view{"\0W", 2}; // registered on the key
inline constexpr std::string_view taken = std::string_view{"\0T", 2};   // already served elsewhere
} // namespace block_marker

struct block_args {
  list_end end = list_end::left;
  block_form form = block_form::pair;
  std::int64_t count = 1; // elements to pop (LMPOP's COUNT)
  bool no_wait = false;   // inside MULTI or a script, or LMPOP: never register
  // Handed over by a resizing shard: a pop now is answered as a wakeup (the
  // client waits for one), not in the reply.
  bool resumed = false;
  // Pops a sorted set (BZPOPMIN, BZPOPMAX, BZMPOP, ZMPOP), not a list: left
  // is the lowest scores; pair answers [key, member, score], multi [key,
  // [[member, score]...]].
  bool zset = false;
  std::uint8_t resp = 2;
  std::uint32_t waiter = 0; // its place in batch::waiters
};

// A list change of the append-only file (records.proto ListChange).
struct list_change_args {
  std::uint8_t kind = 0;     // persistence::list_change
  std::uint64_t version = 0; // the list's version after the change
  std::int64_t a = 0;
  std::int64_t b = 0;
};

// How a sorted-set range is given.
enum class zrange_by : std::uint8_t { rank, score, lex };

namespace zset_flag {
inline constexpr std::uint8_t only_new = 1;      // ZADD NX
inline constexpr std::uint8_t only_existing = 2; // XX
inline constexpr std::uint8_t only_greater = 4;  // GT
inline constexpr std::uint8_t only_less = 8;     // LT
inline constexpr std::uint8_t count_changed = 16; // CH
inline constexpr std::uint8_t increment = 32;    // INCR (ZINCRBY)
inline constexpr std::uint8_t reverse = 64;      // REV, ZREVRANK, ZPOPMAX (highest)
inline constexpr std::uint8_t with_scores = 128; // WITHSCORES, WITHSCORE
} // namespace zset_flag

// The arguments of the sorted-set operations. By rank, start and stop are the
// ranks (negative from the end, as ZRANGE takes them); by score or lex, the
// bounds are in the value and start and stop are LIMIT's offset and count
// (negative count: no limit). ZPOPMIN/ZPOPMAX: start is the count (counted:
// one was given).
struct zset_args {
  std::int64_t start = 0;
  std::int64_t stop = -1;
  std::uint8_t flags = 0; // zset_flag
  zrange_by by = zrange_by::rank;
  bool counted = false;
  // zrange: the range answered in the serialised form of a sorted set
  // (values/sorted_set.hpp), with a share (as a peek answers), for
  // ZRANGESTORE to store; not RESP.
  bool serialised = false;
  std::uint8_t resp = 2;
};

using op_args = std::variant<no_args, set_args, expire_args, ttl_args, getex_args,
                             incr_args, range_args, offset_args, restore_args,
                             origin_args, scan_args, object_args, hash_args, random_args,
                             field_scan_args, list_args, lpos_args, block_args,
                             list_change_args, zset_args, db_args>;

// A client waiting in a blocking pop (shard/blocking.hpp): shared by the
// gateway and every shard it waits on.
struct blocked_pop;
using waiter_ptr = std::shared_ptr<blocked_pop>;

struct operation {
  op_code code;
  // The merge combining this reply with others wants its figure typed: a counted
  // operation (see op_code) then also records it in its op_share.
  bool counted = false;
  // The client asked that its commands leave keys' access times alone (CLIENT
  // NO-TOUCH); TOUCH itself still counts.
  bool no_touch = false;
  // The shard's database the operation works on (the node's numbering of
  // them is the gateway's: SWAPDB changes it, not the shards).
  std::uint8_t db = 0;
  std::uint32_t key_size = 0;
  std::size_t key_offset = 0;
  std::size_t value_offset = 0;
  std::size_t value_size = 0;
  op_args args;

  // The arguments of the kind this operation's code carries; an operation added
  // without any takes that kind's defaults (a plain SET, INCRBY 0...).
  template <class Args>
  const Args& arguments() const {
    static constexpr Args defaults{};
    const auto* given = std::get_if<Args>(&args);
    return given != nullptr ? *given : defaults;
  }
};

// CLIENT TRACKING's word on one operation of a tracking client (its
// connection's tag): the shard remembers the operation's key for the client
// once it has run (a read-only command's), and a NOLOOP client does not hear
// of the changes the operation makes itself.
struct tracking_note {
  static constexpr std::uint8_t remember = 1;
  static constexpr std::uint8_t noloop = 2;
  std::uint32_t op;      // its index in the batch
  std::uint8_t what;     // remember | noloop
  std::uint64_t client;
};

struct batch {
  std::string bytes;
  std::vector<operation> ops;
  // Notes on operations of tracking clients, in operation order (most
  // batches have none).
  std::vector<tracking_note> tracking;
  // A share of a plan that changes keys on several shards: the plan's group
  // number and this batch's part of its weight (0: not grouped). Its changes
  // go to the append-only file as one GroupShare (records.proto), so a file
  // holds all of such a plan or none.
  std::uint64_t group = 0;
  std::uint64_t group_weight = 0;
  // A grouped batch's events go to the subscription broker as one share of
  // the group, sent even when empty (the plan decides, so that every share of
  // the group is sent or none): `group_events`. `positions`: each operation's
  // place in the plan, which orders the group's events there.
  bool group_events = false;
  std::vector<std::uint32_t> positions;
  // Someone watches keys (WATCH): the keys this batch evicts come back in
  // batch_result::evicted, so that their watchers' EXEC fails.
  bool report_evictions = false;
  // Writes may grow memory past the bound (a script with the allow-oom flag):
  // the deny-oom refusal is skipped, eviction still runs.
  bool allow_growth = false;

  void add(op_code code, std::string_view key, std::string_view value = {},
           op_args args = no_args{}, bool counted = false, bool no_touch = false,
           std::uint8_t db = 0) {
    operation op;
    op.code = code;
    op.counted = counted;
    op.no_touch = no_touch;
    op.db = db;
    op.key_offset = bytes.size();
    op.key_size = static_cast<std::uint32_t>(key.size());
    bytes.append(key.data(), key.size());
    op.value_offset = bytes.size();
    op.value_size = value.size();
    bytes.append(value.data(), value.size());
    op.args = args;
    ops.push_back(op);
  }

  // The same operation again, with its key and value, into this batch.
  void add_copy(const batch& from, const operation& op) {
    add(op.code, from.key(op), from.value(op), op.args, op.counted, op.no_touch, op.db);
    if (auto* blocking = std::get_if<block_args>(&ops.back().args))
      blocking->waiter = add_waiter(from.waiters[blocking->waiter]);
  }

  // The waiters of the blocking operations (block_args::waiter is a place
  // here): a batch keeps them alive until a shard has registered them.
  std::vector<waiter_ptr> waiters;
  std::uint32_t add_waiter(waiter_ptr w) {
    waiters.push_back(std::move(w));
    return static_cast<std::uint32_t>(waiters.size() - 1);
  }
  const waiter_ptr& waiter_of(const operation& op) const {
    return waiters[op.arguments<block_args>().waiter];
  }

  std::string_view key(const operation& op) const {
    return {bytes.data() + op.key_offset, op.key_size};
  }

  std::string_view value(const operation& op) const {
    return {bytes.data() + op.value_offset, op.value_size};
  }

  bool empty() const noexcept {
    return ops.empty();
  }

  void clear() noexcept {
    bytes.clear();
    ops.clear();
    group = group_weight = 0;
    report_evictions = false;
    group_events = false;
    positions.clear();
    waiters.clear();
    tracking.clear();
  }

  // Notes the operation just added for a tracking client.
  void note_tracking(std::uint8_t what, std::uint64_t client) {
    tracking.push_back(
      tracking_note{static_cast<std::uint32_t>(ops.size() - 1), what, client});
  }
};

// One database's keys in a shard (INFO keyspace's line of it, summed over
// shards).
struct database_keys {
  std::uint8_t db = 0;
  std::int64_t keys = 0;
  std::int64_t keys_with_deadline = 0;
  __int128 deadline_sum = 0; // of those keys' deadlines (their mean TTL)

  // The mean time those keys have left at `now` (INFO's avg_ttl).
  std::int64_t avg_ttl_ms(std::int64_t now) const noexcept {
    if (keys_with_deadline <= 0)
      return 0;
    auto mean = static_cast<std::int64_t>(deadline_sum / keys_with_deadline);
    return mean > now ? mean - now : 0;
  }
};

// What the `stats` operation reports (and, summed over shards, what INFO shows).
struct table_stats {
  std::int64_t keys = 0;
  std::int64_t keys_with_deadline = 0;
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  std::int64_t expired = 0;
  std::int64_t backlog = 0; // messages waiting in the shard's mailbox
  std::int64_t avg_ttl_ms = 0; // mean time left of the keys with a deadline
  // Keys whose deadline has passed but that are still held (retired by the next
  // expiry turn, or on access): what Redis estimates as expired_stale_perc.
  std::int64_t stale = 0;
  std::vector<database_keys> databases; // those with keys, by number
};

// The typed result of an operation whose answer the server reads or merges
// itself instead of passing it on: `stats`, `peek`, `keys`/`keys_from`,
// `scan`/`scan_from`, and the counted operations when the operation asks
// (operation::counted). The reply bytes of the first four are not a RESP reply
// of their own (see op_code); this says the rest, so that nothing in the server
// parses RESP text back.
struct op_share {
  std::uint32_t reply = 0;   // the reply's index in its batch_result
  std::int64_t elements = 0; // keys, scan: the bulks that make up the reply bytes
  std::int64_t looked = 0;   // scan: keys looked at (before MATCH)
  std::int64_t count = 0;    // a counted operation: the integer it answered
  bool found = false;        // peek: the key exists; the reply bytes are its value
  deadline_ms deadline = no_deadline; // peek
  std::uint8_t type = 0;              // peek: the value's type (shard::value_type),
                                      // its bytes serialised (values/)
  table_stats stats;                  // stats
};

// The shard's answer to a batch: the RESP2 encoding of every operation's reply, back
// to back, and where each one ends, plus the typed shares of the operations that
// have one. Null replies are `$-1\r\n`; gateways speaking RESP3 translate them
// when they copy the reply out.
struct batch_result {
  std::string replies;
  std::vector<std::size_t> ends;
  std::vector<op_share> shares; // in reply order
  // How long each operation ran, in nanoseconds (INFO commandstats, SLOWLOG);
  // one steady-clock reading per operation, no system call.
  std::vector<std::uint32_t> nanos;
  // The keys evicted while the batch ran, when it asked (batch::report_evictions).
  std::vector<std::string> evicted;

  // The running time of reply `index` (0 when it was not measured).
  std::uint32_t nanos_of(std::size_t index) const {
    return index < nanos.size() ? nanos[index] : 0;
  }

  std::string_view reply(std::size_t index) const {
    auto begin = index == 0 ? 0 : ends[index - 1];
    return {replies.data() + begin, ends[index] - begin};
  }

  // The share of the reply being written now (the next one to end).
  op_share& add_share() {
    shares.emplace_back();
    shares.back().reply = static_cast<std::uint32_t>(ends.size());
    return shares.back();
  }

  // The share of reply `index`, or nullptr (an operation without one, or one
  // that answered with an error instead).
  const op_share* share(std::size_t index) const {
    auto it = std::lower_bound(
      shares.begin(), shares.end(), index,
      [](const op_share& s, std::size_t i) { return s.reply < i; });
    return it != shares.end() && it->reply == index ? &*it : nullptr;
  }
};

} // namespace stairkv::shard
