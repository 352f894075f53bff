#pragma once

// What Redis 7.0 says of each command and subcommand ("get", "config|get"):
// the ACL categories it is in and the specs that find its keys, by name. The
// table comes from Redis 7.0's command metadata (tools/acl-facts writes
// command_facts.inc). Plain data: the command table (COMMAND INFO's
// categories) and ACLs both read it.

#include <cstdint>
#include <string_view>
#include <vector>

namespace stairkv::acl {

inline constexpr std::uint8_t key_read = 1;
inline constexpr std::uint8_t key_write = 2;

enum class begin_kind : std::uint8_t { index, keyword };
enum class find_kind : std::uint8_t { range, keynum };

// One key spec: where the search begins (an argument's index, or the argument
// after a keyword searched from `start`, negative: from the end backwards),
// then which keys follow (a range to `last` (negative: from the end, or with
// `limit`: that part of the rest), every `step`; or a count at `last` after
// the beginning, the keys from `step`... as Redis's keynum: keynumidx,
// firstkey, keystep), and how they are used.
struct key_spec {
  begin_kind begin;
  int start;           // index, or the keyword search's start
  const char* keyword; // begin_kind::keyword only (lower case)
  find_kind find;
  int a, b, c;         // range: lastkey, step, limit; keynum: keynumidx, firstkey, keystep
  std::uint8_t access; // key_read, key_write
};

struct command_fact {
  const char* name;
  std::uint32_t categories;
  bool incomplete; // the specs miss keys a special rule finds (SORT ... STORE)
  std::vector<key_spec> keys;
};

// The facts of a statistics slot (every slot has some: a command Redis 7.0
// does not have gets categories from its flags and no key specs).
const command_fact& fact_of_slot(std::size_t slot);

// Redis 7.0's facts of a command or subcommand by its name (lower case,
// "container|sub"), or nullptr when Redis 7.0 has no such command.
const command_fact* find_fact(std::string_view name);

} // namespace stairkv::acl
