#pragma once

// The command categories of Redis 7's ACLs (@read, @write, @dangerous, ...),
// as bits; command_facts.hpp says which a command is in.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace stairkv::acl {

namespace cat {
inline constexpr std::uint32_t keyspace = 1u << 0;
inline constexpr std::uint32_t read = 1u << 1;
inline constexpr std::uint32_t write = 1u << 2;
inline constexpr std::uint32_t set = 1u << 3;
inline constexpr std::uint32_t sortedset = 1u << 4;
inline constexpr std::uint32_t list = 1u << 5;
inline constexpr std::uint32_t hash = 1u << 6;
inline constexpr std::uint32_t string = 1u << 7;
inline constexpr std::uint32_t bitmap = 1u << 8;
inline constexpr std::uint32_t hyperloglog = 1u << 9;
inline constexpr std::uint32_t geo = 1u << 10;
inline constexpr std::uint32_t stream = 1u << 11;
inline constexpr std::uint32_t pubsub = 1u << 12;
inline constexpr std::uint32_t admin = 1u << 13;
inline constexpr std::uint32_t fast = 1u << 14;
inline constexpr std::uint32_t slow = 1u << 15;
inline constexpr std::uint32_t blocking = 1u << 16;
inline constexpr std::uint32_t dangerous = 1u << 17;
inline constexpr std::uint32_t connection = 1u << 18;
inline constexpr std::uint32_t transaction = 1u << 19;
inline constexpr std::uint32_t scripting = 1u << 20;
} // namespace cat

struct category {
  std::string_view name;
  std::uint32_t bit;
};

// Every category, in the order ACL CAT lists them.
const std::vector<category>& categories();

// A category by name, any case ("read", "SortedSet"); nullopt if unknown.
std::optional<std::uint32_t> find_category(std::string_view name);

} // namespace stairkv::acl
