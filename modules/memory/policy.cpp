#include "modules/memory/policy.hpp"

#include <algorithm>
#include <cctype>

namespace stairkv::memory {

namespace {

struct named_policy {
  policy value;
  const char* name;
};

constexpr named_policy policies[] = {
  {policy::noeviction, "noeviction"},
  {policy::allkeys_lru, "allkeys-lru"},
  {policy::allkeys_lfu, "allkeys-lfu"},
  {policy::allkeys_random, "allkeys-random"},
  {policy::volatile_lru, "volatile-lru"},
  {policy::volatile_lfu, "volatile-lfu"},
  {policy::volatile_random, "volatile-random"},
  {policy::volatile_ttl, "volatile-ttl"},
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

constexpr std::uint32_t minute_bits = 24;
constexpr std::uint32_t minute_mask = (1u << minute_bits) - 1;

std::uint32_t minute_of(std::int64_t now_ms) noexcept {
  return static_cast<std::uint32_t>(now_ms / 60000) & minute_mask;
}

} // namespace

bool parse_policy(std::string_view text, policy& out) {
  for (const auto& p : policies) {
    if (same_ignoring_case(text, p.name)) {
      out = p.value;
      return true;
    }
  }
  return false;
}

const char* to_string(policy p) {
  for (const auto& named : policies)
    if (named.value == p)
      return named.name;
  return "noeviction";
}

ranking ranking_of(policy p) noexcept {
  switch (p) {
    case policy::noeviction:
      return ranking::none;
    case policy::allkeys_lru:
    case policy::volatile_lru:
      return ranking::lru;
    case policy::allkeys_lfu:
    case policy::volatile_lfu:
      return ranking::lfu;
    case policy::allkeys_random:
    case policy::volatile_random:
      return ranking::random;
    case policy::volatile_ttl:
      return ranking::ttl;
  }
  return ranking::none;
}

bool volatile_only(policy p) noexcept {
  return p == policy::volatile_lru || p == policy::volatile_lfu
         || p == policy::volatile_random || p == policy::volatile_ttl;
}

access_info lfu_fresh(std::int64_t now_ms) noexcept {
  return (minute_of(now_ms) << 8) | lfu_initial;
}

std::uint8_t lfu_count(access_info info, std::int64_t now_ms,
                       const lfu_settings& s) noexcept {
  auto count = static_cast<std::uint8_t>(info & 0xff);
  if (s.decay_minutes <= 0)
    return count;
  auto last = info >> 8;
  auto elapsed = (minute_of(now_ms) - last) & minute_mask;
  auto periods = elapsed / static_cast<std::uint32_t>(s.decay_minutes);
  return periods >= count ? 0 : static_cast<std::uint8_t>(count - periods);
}

access_info lfu_touch(access_info info, std::int64_t now_ms, std::uint64_t random,
                      const lfu_settings& s) noexcept {
  std::uint32_t count = lfu_count(info, now_ms, s);
  if (count < 255) {
    // Count with probability 1 / (excess * log_factor + 1), by a uniform draw in [0, 1).
    auto excess = count > lfu_initial ? count - lfu_initial : 0u;
    double chance = 1.0 / (static_cast<double>(excess) * std::max(s.log_factor, 0) + 1.0);
    double draw = static_cast<double>(random >> 11) * (1.0 / 9007199254740992.0);
    if (draw < chance)
      ++count;
  }
  return (minute_of(now_ms) << 8) | count;
}

} // namespace stairkv::memory
