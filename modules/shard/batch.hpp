#pragma once

// The unit of work a shard actor receives: every operation that one routing cycle
// sends to this shard, in order, with their keys and values packed into one buffer.
// One batch per shard per cycle (not one message per command) is what keeps the
// actor hop affordable when a read carries many commands.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::shard {

enum class op_code : std::uint8_t {
  get,        // bulk or null
  set,        // +OK, null (NX/XX not met), or the old value (GET flag)
  del,        // :1 / :0
  exists,     // :1 / :0
  incr_by,    // :new value, or an error
  append,     // :new length
  strlen,     // :length
  count_keys, // :number of live keys in the shard
  flush,      // +OK, drops every key
  stats,      // no bytes; the share's table_stats
  // During a resize, sent by an old shard to the new ones it feeds: the keys that
  // came from old shard `number` of a staircase of `flags` stairs.
  count_keys_from, // :how many of them this shard holds
  flush_from,      // +OK, after dropping them
  // Deadlines (EXPIRE and friends; number = the new absolute deadline, flags =
  // expire_flag conditions): :1 when the deadline was set (or the key deleted
  // because the deadline has passed), :0 otherwise.
  expire,
  persist,    // :1 when a deadline was removed
  ttl,        // flags = ttl_unit: :-2 missing, :-1 no deadline, else the value
  get_delete, // GETDEL: the value (or null), and the key is gone
  get_expire, // GETEX: the value; flags = getex_mode, number = the deadline
  get_range,  // GETRANGE: number = start, extra = end (Redis's inclusive, negative
              // from the end): the bulk of that substring
  set_range,  // SETRANGE: number = offset: :new length
  incr_by_float, // INCRBYFLOAT: value = the increment (validated): the new value
  type,       // TYPE: +string or +none
  random_key, // keyless: a bulk key of this shard, or null when it is empty
  keys,       // keyless: value = glob pattern: the matching keys as bulks, back
              // to back (no array header); the share counts them
  // During a resize (see count_keys_from): the keys matching `value` that came
  // from old shard `number` of a staircase of `flags` stairs.
  keys_from,
  reset_stats, // keyless: +OK after zeroing hits, misses and expired (RESETSTAT)
  // RENAME in two steps (see gateway/multi_step_commands.cpp): `peek` answers
  // the raw value (not RESP) with found and deadline in its share; `rename_from`
  // deletes the key (:1 / :0); `rename_to` stores value with deadline `number`
  // (+OK).
  peek,
  rename_from,
  rename_to,
  // SCAN's share (keyless): the keys whose scan position (the low 32 bits of their
  // routing hash) lies in [number, number + 2^flags), matching the glob `value`
  // (empty: all) and, with extra = 1, none (a TYPE other than string): the
  // keys as bulks, back to back; the share counts them and the keys looked at
  // (before MATCH).
  scan,
  // During a resize: the same for the keys that came from old shard `extra >> 8`
  // of a staircase of `extra & 0xff` stairs (extra bit 63: the TYPE filter).
  scan_from,
  // MEMORY USAGE: :bytes the key takes (its block, its share of the shard's
  // arrays, its deadline entry), or null when it is missing.
  memory_usage,
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

// Deadlines are absolute Unix times in milliseconds; 0 means "no deadline".
using deadline_ms = std::int64_t;
inline constexpr deadline_ms no_deadline = 0;

struct operation {
  op_code code;
  std::uint8_t flags = 0;
  std::size_t key_offset = 0;
  std::size_t key_size = 0;
  std::size_t value_offset = 0;
  std::size_t value_size = 0;
  // incr_by: the increment; set: the deadline (or no_deadline).
  std::int64_t number = 0;
  std::int64_t extra = 0; // a second number (get_range: the end)
};

struct batch {
  std::string bytes;
  std::vector<operation> ops;

  void add(op_code code, std::string_view key, std::string_view value = {},
           std::int64_t number = 0, std::uint8_t flags = 0, std::int64_t extra = 0) {
    operation op;
    op.code = code;
    op.flags = flags;
    op.key_offset = bytes.size();
    op.key_size = key.size();
    bytes.append(key.data(), key.size());
    op.value_offset = bytes.size();
    op.value_size = value.size();
    bytes.append(value.data(), value.size());
    op.number = number;
    op.extra = extra;
    ops.push_back(op);
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
};

// The typed result of an operation whose answer the server reads or merges
// itself instead of passing it on: `stats`, `peek`, `keys`/`keys_from` and
// `scan`/`scan_from`. Their reply bytes are then not a RESP reply of their own
// (see op_code), and this says the rest, so that nothing in the server parses
// RESP text back.
struct op_share {
  std::uint32_t reply = 0;   // the reply's index in its batch_result
  std::int64_t elements = 0; // keys, scan: the bulks that make up the reply bytes
  std::int64_t looked = 0;   // scan: keys looked at (before MATCH)
  bool found = false;        // peek: the key exists; the reply bytes are its value
  deadline_ms deadline = no_deadline; // peek
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
