#pragma once

// The facts of facts_table.hpp by statistics slot (commands/command_table.hpp:
// each command, then each subcommand of a container), and the keys of a call
// as Redis 7's key specs find them, with whether it reads or writes each.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "modules/acl/facts_table.hpp"

namespace stairkv::acl {

struct key_ref {
  std::size_t position; // in argv
  std::uint8_t access;  // key_read, key_write
};

// The keys of a call of `slot` with these arguments (argv[0] is the command's
// name), as Redis 7 finds them, appended to `out`.
void keys_of(std::size_t slot, const std::vector<std::string_view>& argv,
             std::vector<key_ref>& out);

} // namespace stairkv::acl
