#pragma once

// The command table: every command the store knows, its arity and flags as Redis
// declares them, and the function that plans it. Lookup is case-insensitive.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "modules/commands/plan.hpp"
#include "modules/persistence/aof.hpp"

namespace stairkv::commands {

namespace flag {
inline constexpr std::uint32_t write = 1;      // changes the key space
inline constexpr std::uint32_t readonly = 2;   // only reads keys
inline constexpr std::uint32_t denyoom = 4;    // may grow memory
inline constexpr std::uint32_t fast = 8;       // O(1) or O(log n)
inline constexpr std::uint32_t gateway = 16;   // answered by the connection's gateway
inline constexpr std::uint32_t loading = 32;   // allowed while loading
inline constexpr std::uint32_t stale = 64;     // allowed on stale data
inline constexpr std::uint32_t blocking = 128; // may block the client (BLPOP...)
// Its keys are not first/last/step alone: a count says how many (EVAL,
// ZUNIONSTORE, LMPOP...) or an option names one (SORT's STORE).
inline constexpr std::uint32_t movablekeys = 256;
} // namespace flag

using planner = void (*)(plan& p, const client_context& client,
                         const std::vector<std::string_view>& argv);

struct command_spec {
  const char* name;     // lower case, as Redis reports it
  int arity;            // Redis convention: -n means "at least n"
  std::uint32_t flags;
  int first_key;        // 0 when the command takes no key
  int last_key;         // -1: the last argument
  int key_step;
  const char* group;    // COMMAND DOCS group
  const char* summary;  // COMMAND DOCS summary
  const char* since;    // first Redis version with the command
  planner run;          // nullptr for gateway commands
};

// Finds a command by name, ignoring case; nullptr if unknown.
const command_spec* find_command(std::string_view name);

// Every command, in a stable order.
const std::vector<command_spec>& all_commands();

// Whether `argc` arguments (the name included) fit the command's arity.
bool arity_ok(const command_spec& spec, std::size_t argc);

// The positions of a call's keys in its arguments, from the table's first key,
// last key (negative: from the end) and step: calls `visit(position)` for each
// until one returns true, and returns whether one did (false for a command
// without keys).
template <class Visit>
bool visit_key_positions(const command_spec& spec, std::size_t argc, Visit visit) {
  if (spec.first_key <= 0 || spec.key_step <= 0)
    return false;
  auto count = static_cast<int>(argc);
  auto last = spec.last_key < 0 ? count + spec.last_key : std::min(spec.last_key, count - 1);
  for (int i = spec.first_key; i <= last; i += spec.key_step)
    if (visit(static_cast<std::size_t>(i)))
      return true;
  return false;
}

// The keys a call names (COMMAND GETKEYS, cluster slots): from the table's
// positions, a script call's count, MEMORY USAGE's third word, SORT's STORE.
// Appends them to `keys`; false when the command takes no key (a script
// call with none, or a count that does not fit).
bool collect_keys(const command_spec& spec, const std::vector<std::string_view>& call,
                  std::vector<std::string_view>& keys);

// One step of a loaded file (the append-only file, a snapshot, DEBUG
// RELOAD's), in the database its record names, for `client` (no connection).
void plan_replay_step(plan& p, client_context client, const persistence::replay_step& step);

// SELECT among commands planned together for no connection (the embedding
// API's requests and transactions): the commands after it work on the
// database `number` names. Plans SELECT's reply, +OK or Redis's error, and
// switches `client` when it can.
void select_within(plan& p, client_context& client, std::string_view number);

// Checks arity, then plans the command (or records its error reply).
outcome execute_command(plan& p, const client_context& client,
                        const std::vector<std::string_view>& argv);

// The same for a caller that looked the command up already (`spec` is
// find_command(argv[0]), possibly nullptr).
outcome execute_command(plan& p, const client_context& client,
                        const std::vector<std::string_view>& argv,
                        const command_spec* spec);

// -- statistics slots ----------------------------------------------------------
// Call statistics (INFO commandstats and latencystats, LATENCY HISTOGRAM) are
// kept per slot, as Redis 7 keeps them: one per command, and one per subcommand
// of the containers, named "config|get". The first all_commands().size()
// slots are the commands, in the same order; the subcommands follow.
struct stat_slot {
  std::string name;
  const command_spec* command; // the command, or the container of a subcommand
  bool subcommand;
  // Redis's administrative commands (CONFIG, DEBUG, SAVE, CLIENT LIST...):
  // never shown to MONITOR.
  bool admin;
};

const std::vector<stat_slot>& stat_slots();

// The slot a call counts in: its subcommand's when `spec` is a container and
// argv[1] is one of its subcommands, else the command's own.
std::size_t stat_slot_of(const command_spec& spec,
                         const std::vector<std::string_view>& argv);

// A slot by its name, any case ("set", "CLIENT|ID"), or nullopt.
std::optional<std::size_t> find_stat_slot(std::string_view name);

// The subcommand slots of container `spec` (empty for other commands), as
// [begin, end).
std::pair<std::size_t, std::size_t> subcommand_slots(const command_spec& spec);

// Redis's wording for a command it does not know.
std::string unknown_command_error(const std::vector<std::string_view>& argv);

} // namespace stairkv::commands
