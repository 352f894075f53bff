#pragma once

// What ACLs need to know of each command and subcommand (the statistics slots
// of commands/command_table.hpp: "get", "config|get"): the categories it is
// in, and where its keys are in a call and whether it reads or writes them
// (Redis 7's key specs). The table comes from Redis 7.0's command metadata
// (tools/acl-facts writes command_facts.inc).

#include <cstddef>
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

struct key_ref {
  std::size_t position; // in argv
  std::uint8_t access;  // key_read, key_write
};

// The keys of a call of `slot` with these arguments (argv[0] is the command's
// name), as Redis 7 finds them, appended to `out`.
void keys_of(std::size_t slot, const std::vector<std::string_view>& argv,
             std::vector<key_ref>& out);

} // namespace stairkv::acl
