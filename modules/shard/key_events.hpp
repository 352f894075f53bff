#pragma once

// Keyspace events: what happened to which key, as Redis names it ("set", "del",
// "expired"...). A shard's table records the events of the classes that are wanted
// while it runs a batch; the shard then hands the whole log to the subscription
// broker in one message, which turns each entry into `__keyspace@0__:<key>` and
// `__keyevent@0__:<event>` messages.
//
// Which classes are wanted is Redis's notify-keyspace-events setting, shared by the
// shards, the broker and the gateways as one atomic word: CONFIG SET changes it
// for everyone at once, and a shard reads it once per batch.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::shard {

enum class key_event : std::uint8_t {
  new_key,     // "new": a key was created (class n)
  set,         // "set": SET, MSET, SETEX... (class $)
  del,         // "del": DEL, GETDEL, an EXPIRE into the past (class g)
  expire,      // "expire": a deadline was set (class g)
  persist,     // "persist": a deadline was removed (class g)
  incrby,      // "incrby": INCR, DECR, INCRBY, DECRBY (class $)
  append,      // "append" (class $)
  setrange,    // "setrange" (class $)
  incrbyfloat, // "incrbyfloat" (class $)
  expired,     // "expired": the deadline passed (class x)
  evicted,     // "evicted": dropped for the memory bound (class e)
  keymiss,     // "keymiss": a read found no key (class m)
  rename_from, // "rename_from": RENAME's source (class g)
  rename_to,   // "rename_to": RENAME's destination (class g)
  hset,        // "hset": HSET, HSETNX, HMSET (class h)
  hdel,        // "hdel" (class h)
  hincrby,     // "hincrby" (class h)
  hincrbyfloat, // "hincrbyfloat" (class h)
  sadd,        // "sadd" (class s)
  srem,        // "srem" (class s)
  spop,        // "spop" (class s)
  sinterstore, // "sinterstore" (class s)
  sunionstore, // "sunionstore" (class s)
  sdiffstore,  // "sdiffstore" (class s)
  lpush,       // "lpush": LPUSH, LPUSHX, the head end of LMOVE (class l)
  rpush,       // "rpush" (class l)
  lpop,        // "lpop": LPOP, BLPOP, the source end of LMOVE... (class l)
  rpop,        // "rpop" (class l)
  linsert,     // "linsert" (class l)
  lset,        // "lset" (class l)
  lrem,        // "lrem" (class l)
  ltrim,       // "ltrim" (class l)
  zadd,        // "zadd": ZADD (class z)
  zincr,       // "zincr": ZINCRBY, ZADD INCR (class z)
  zrem,        // "zrem" (class z)
  zremrangebyrank,  // (class z)
  zremrangebyscore, // (class z)
  zremrangebylex,   // (class z)
  zpopmin,     // "zpopmin": ZPOPMIN, BZPOPMIN, ZMPOP MIN... (class z)
  zpopmax,     // "zpopmax" (class z)
  zunionstore, // "zunionstore" (class z)
  zinterstore, // "zinterstore" (class z)
  zdiffstore,  // "zdiffstore" (class z)
  zrangestore, // "zrangestore" (class z)
  sortstore,   // "sortstore": SORT ... STORE (class l, as in Redis)
  move_from,   // "move_from": MOVE, in the key's old database (class g)
  move_to,     // "move_to": MOVE, in its new one (class g)
};

// Redis's name of the event: the message on `__keyspace@0__:<key>` and the tail
// of the `__keyevent@0__:` channel.
std::string_view event_name(key_event e) noexcept;

// The bits of notify-keyspace-events, one per letter.
namespace notify_flag {
inline constexpr std::uint32_t keyspace = 1u << 0;  // K
inline constexpr std::uint32_t keyevent = 1u << 1;  // E
inline constexpr std::uint32_t generic = 1u << 2;   // g
inline constexpr std::uint32_t string = 1u << 3;    // $
inline constexpr std::uint32_t list = 1u << 4;      // l
inline constexpr std::uint32_t set = 1u << 5;       // s
inline constexpr std::uint32_t hash = 1u << 6;      // h
inline constexpr std::uint32_t zset = 1u << 7;      // z
inline constexpr std::uint32_t expired = 1u << 8;   // x
inline constexpr std::uint32_t evicted = 1u << 9;   // e
inline constexpr std::uint32_t stream = 1u << 10;   // t
inline constexpr std::uint32_t key_miss = 1u << 11; // m
inline constexpr std::uint32_t module = 1u << 12;   // d
inline constexpr std::uint32_t new_key = 1u << 13;  // n
// What `A` stands for (as in Redis: neither key misses nor new keys).
inline constexpr std::uint32_t all = generic | string | list | set | hash | zset
                                     | expired | evicted | stream | module;
} // namespace notify_flag

// The class bit an event belongs to.
std::uint32_t class_of(key_event e) noexcept;

// Parses Redis's letters ("KEA", "Ex", ""...); false on a letter Redis rejects.
bool parse_notify_flags(std::string_view letters, std::uint32_t& flags);

// The letters as CONFIG GET shows them (Redis's order: "xE" for "Ex").
std::string notify_flags_to_string(std::uint32_t flags);

// The event classes a table should record under `flags`: none unless K or E says
// where the messages would go.
inline std::uint32_t recorded_classes(std::uint32_t flags) noexcept {
  if ((flags & (notify_flag::keyspace | notify_flag::keyevent)) == 0)
    return 0;
  return flags & ~(notify_flag::keyspace | notify_flag::keyevent);
}

// The live setting, shared by everything that produces or routes notifications.
struct notify_settings {
  std::atomic<std::uint32_t> flags{0};

  explicit notify_settings(std::uint32_t initial = 0) : flags(initial) {}

  std::uint32_t load() const noexcept {
    return flags.load(std::memory_order_relaxed);
  }
};

using notify_settings_ptr = std::shared_ptr<notify_settings>;

// What happened in one batch (or one expiry turn): events in the order they
// happened, their keys packed into one buffer.
//
// A shard's events of one share of a group (a plan that writes on several
// shards, batch.hpp) carry the group and the share's weight, and each event
// its operation's position in the plan: the broker holds them until the
// group is whole and sends them in the plan's order, after it.
struct key_event_log {
  struct entry {
    key_event what;
    std::uint8_t db; // the shard's database (the node's number: subscription_broker)
    std::uint32_t position; // in its group's plan (grouped shares only)
    std::size_t key_begin;
    std::size_t key_size;
  };

  std::string keys;
  std::vector<entry> entries;
  std::uint64_t group = 0;
  std::uint64_t weight = 0;

  void add(key_event what, std::string_view key, std::uint32_t position = 0,
           std::uint8_t db = 0) {
    entries.push_back(entry{what, db, position, keys.size(), key.size()});
    keys.append(key.data(), key.size());
  }

  std::string_view key(const entry& e) const noexcept {
    return {keys.data() + e.key_begin, e.key_size};
  }

  bool empty() const noexcept {
    return entries.empty();
  }

  std::size_t size() const noexcept {
    return entries.size();
  }
};

// The events of a group's shares as one log, in plan order (events of one
// operation in the order they happened).
key_event_log merge_in_plan_order(const std::vector<key_event_log>& shares);

} // namespace stairkv::shard
