#pragma once

// What a node does when its tables reach the memory bound (maxmemory-policy), and
// the per-key access information the policies rank keys by.

#include <cstdint>
#include <string_view>

namespace stairkv::memory {

enum class policy : std::uint8_t {
  noeviction, // refuse writes that may grow memory; keep every key
  allkeys_lru,
  allkeys_lfu,
  allkeys_random,
  volatile_lru, // the volatile-* policies choose among keys with a deadline only
  volatile_lfu,
  volatile_random,
  volatile_ttl, // the key whose deadline is nearest
};

// Redis's reply to a write refused at the bound.
inline constexpr std::string_view oom_error =
  "OOM command not allowed when used memory > 'maxmemory'.";

// Redis's names, case-insensitive.
bool parse_policy(std::string_view text, policy& out);
const char* to_string(policy p);

// How a policy ranks the keys it may choose from.
enum class ranking : std::uint8_t { none, lru, lfu, random, ttl };

ranking ranking_of(policy p) noexcept;

// Whether the policy chooses only among keys that have a deadline.
bool volatile_only(policy p) noexcept;

// -- access information --------------------------------------------------------
//
// Every key carries 32 bits of access information, read as the policy in force
// says (like Redis's 24-bit field, it is reinterpreted when the policy changes
// between LRU and LFU):
//  - LRU: the low 32 bits of the Unix time in milliseconds of the last access.
//    Redis keeps seconds; a cold write flood fills a cache within seconds, and at
//    second resolution every key written in the same second looks equally old,
//    so the hot keys read between the writes are evicted as often as cold ones.
//  - LFU: the minute of the last decay (upper 24 bits) and a logarithmic access
//    counter (lower 8 bits) that starts at lfu_initial, grows with probability
//    1 / ((counter - lfu_initial) * log_factor + 1) per access and loses one per
//    `decay_minutes` without access.

using access_info = std::uint32_t;

inline constexpr std::uint8_t lfu_initial = 5;

struct lfu_settings {
  int log_factor = 10;
  int decay_minutes = 1;
};

inline access_info lru_stamp(std::int64_t now_ms) noexcept {
  return static_cast<access_info>(now_ms);
}

// Milliseconds since the access stamped `info` (modulo 2^32, as Redis's clock wraps).
inline std::uint32_t lru_idle(access_info info, std::int64_t now_ms) noexcept {
  return lru_stamp(now_ms) - info;
}

// A new key's LFU information.
access_info lfu_fresh(std::int64_t now_ms) noexcept;

// The counter after the decay due since the last access.
std::uint8_t lfu_count(access_info info, std::int64_t now_ms,
                       const lfu_settings& s) noexcept;

// The information after one more access; `random` is a uniformly random 64-bit draw.
access_info lfu_touch(access_info info, std::int64_t now_ms, std::uint64_t random,
                      const lfu_settings& s) noexcept;

} // namespace stairkv::memory
