#include "modules/acl/command_facts.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "modules/acl/categories.hpp"
#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/number.hpp"

namespace stairkv::acl {

namespace {

// Categories from a command's flags, for one Redis 7.0 does not have.
std::uint32_t categories_from_flags(const commands::command_spec& spec) {
  std::uint32_t out = 0;
  if ((spec.flags & commands::flag::write) != 0)
    out |= cat::write;
  if ((spec.flags & commands::flag::readonly) != 0)
    out |= cat::read;
  out |= (spec.flags & commands::flag::fast) != 0 ? cat::fast : cat::slow;
  if ((spec.flags & commands::flag::blocking) != 0)
    out |= cat::blocking;
  return out;
}

const std::vector<command_fact>& facts_by_slot() {
  static const std::vector<command_fact> table = [] {
    std::vector<command_fact> out;
    const auto& slots = commands::stat_slots();
    out.reserve(slots.size());
    for (const auto& slot : slots) {
      if (const auto* known = find_fact(slot.name)) {
        out.push_back(*known);
      } else {
        command_fact made{slot.command->name, categories_from_flags(*slot.command), false, {}};
        if (slot.command->first_key > 0)
          made.keys.push_back({begin_kind::index, slot.command->first_key, "",
                               find_kind::range,
                               slot.command->last_key < 0
                                 ? slot.command->last_key
                                 : slot.command->last_key - slot.command->first_key,
                               slot.command->key_step, 0,
                               static_cast<std::uint8_t>(key_read | key_write)});
        out.push_back(std::move(made));
      }
    }
    return out;
  }();
  return table;
}

// The first key position a spec's beginning names, or 0 (none in this call).
std::size_t begin_of(const key_spec& spec, const std::vector<std::string_view>& argv) {
  auto argc = static_cast<int>(argv.size());
  if (spec.begin == begin_kind::index)
    return spec.start < argc ? static_cast<std::size_t>(spec.start) : 0;
  bool forward = spec.start > 0;
  int from = forward ? spec.start : argc + spec.start;
  int to = forward ? argc - 1 : 0;
  for (int i = from;; i += forward ? 1 : -1) {
    if (i >= argc || i < 1)
      return 0;
    if (commands::equals_ignoring_case(argv[static_cast<std::size_t>(i)], spec.keyword))
      return static_cast<std::size_t>(i + 1);
    if (i == to)
      return 0;
  }
}

void add_keys(const key_spec& spec, const std::vector<std::string_view>& argv,
              std::uint8_t access, std::vector<key_ref>& out) {
  auto argc = static_cast<int>(argv.size());
  auto begin = static_cast<int>(begin_of(spec, argv));
  if (begin <= 0 || begin >= argc)
    return;
  int first = begin, last = 0, step = 1;
  if (spec.find == find_kind::range) {
    step = spec.b;
    if (spec.a >= 0)
      last = first + spec.a;
    else if (spec.c == 0)
      last = argc + spec.a;
    else
      last = first + ((argc - first) / spec.c + spec.a);
  } else {
    auto at = first + spec.a;
    std::int64_t count = 0;
    if (at >= argc || !protocol::parse_int64(argv[static_cast<std::size_t>(at)], count)
        || count < 0)
      return;
    first += spec.b;
    step = spec.c;
    last = first + static_cast<int>(count) - 1; // as Redis counts them
  }
  if (step <= 0)
    return;
  for (int i = first; i <= last && i < argc; i += step)
    out.push_back({static_cast<std::size_t>(i), access});
}

} // namespace

const command_fact& fact_of_slot(std::size_t slot) {
  const auto& table = facts_by_slot();
  return table[std::min(slot, table.size() - 1)];
}

void keys_of(std::size_t slot, const std::vector<std::string_view>& argv,
             std::vector<key_ref>& out) {
  const auto& fact = fact_of_slot(slot);
  std::string_view name = fact.name;
  for (const auto& spec : fact.keys) {
    auto access = spec.access;
    // Variable flags: SET reads the key only with GET; BITFIELD writes it
    // only with SET or INCRBY.
    if (name == "set") {
      access = key_write;
      for (std::size_t i = 3; i < argv.size(); ++i)
        if (commands::equals_ignoring_case(argv[i], "get"))
          access = key_read | key_write;
    } else if (name == "bitfield") {
      access = key_read;
      for (std::size_t i = 2; i < argv.size(); ++i)
        if (commands::equals_ignoring_case(argv[i], "set")
            || commands::equals_ignoring_case(argv[i], "incrby"))
          access = key_read | key_write;
    }
    add_keys(spec, argv, access, out);
  }
  // SORT ... STORE destination: a key the specs do not find.
  if (fact.incomplete && (name == "sort" || name == "sort_ro"))
    for (std::size_t i = 2; i + 1 < argv.size(); ++i)
      if (commands::equals_ignoring_case(argv[i], "store"))
        out.push_back({i + 1, key_write});
}

} // namespace stairkv::acl
