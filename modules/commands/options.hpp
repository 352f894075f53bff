#pragma once

// Options that several commands share, read one way for all of them:
// - expiries: the option names SET and GETEX share (EX, PX, EXAT, PXAT, as
//   Redis's one parser for both), and the one conversion of a client's amount
//   into an absolute Unix-millisecond deadline that SET, GETEX, SETEX, PSETEX
//   and the EXPIRE family all use;
// - SCAN's cursor and MATCH / COUNT / TYPE (the SCAN family of every type);
// - HRANDFIELD's and SRANDMEMBER's count, and the packed fields and members
//   of hash and set commands.
// Internal to the commands package.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modules/shard/batch.hpp"

namespace stairkv::commands {

enum class expiry_unit : std::uint8_t {
  none,         // not an expiry option
  seconds,      // EX, SETEX, EXPIRE
  millis,       // PX, PSETEX, PEXPIRE
  unix_seconds, // EXAT, EXPIREAT
  unix_millis,  // PXAT, PEXPIREAT
};

// The unit an option name (any case) stands for; none when it is no expiry option.
expiry_unit expiry_option(std::string_view name);

// What the amount may be.
enum class amount_rule : std::uint8_t {
  positive, // SET, GETEX, SETEX, PSETEX: 0 or less is an invalid expire time
  any,      // EXPIRE and friends: a deadline in the past deletes the key
};

// Turns `amount` of `unit` into an absolute deadline at `now` the way Redis does:
// seconds scaled to milliseconds, relative amounts added to now, and any overflow
// on the way (or an amount the rule forbids) an invalid expire time. Returns
// the error message to reply with (not an integer, or "ERR invalid expire time
// in '<command>' command"), or an empty string with `deadline` set.
std::string to_deadline(std::string_view amount, expiry_unit unit, amount_rule rule,
                        shard::deadline_ms now, std::string_view command,
                        shard::deadline_ms& deadline);

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], from argv[cursor_at].
struct scan_options {
  std::uint64_t cursor = 0;
  std::string_view pattern; // empty: every key ("*" reads as empty)
  std::int64_t count = 10;
  bool typed = false;       // TYPE was given: only keys of `type`
  std::string_view type;
};

// Reads them as Redis does (the cursor an unsigned 64-bit decimal, COUNT a
// positive integer, every option with its argument). Returns the error message
// to reply with, or an empty string.
std::string read_scan_options(const std::vector<std::string_view>& argv,
                              std::size_t cursor_at, scan_options& out);

// HSCAN's and SSCAN's: key, cursor [MATCH pattern] [COUNT count] (TYPE is
// SCAN's alone: a syntax error here). Returns the error message to reply
// with, or an empty string with `out` and `pattern` set.
std::string read_field_scan(const std::vector<std::string_view>& argv,
                            shard::field_scan_args& out, std::string_view& pattern);

// HRANDFIELD's, SRANDMEMBER's and ZRANDMEMBER's count, from argv[2], and
// after it `values_word` (WITHVALUES, WITHSCORES; empty: none allowed), checked as Redis checks them. A
// reply of more than 100,000,000 draws is refused rather than built: it would
// take the node's memory for one client. Returns the error message to reply
// with, or an empty string with `out` set.
std::string read_draw_count(const std::vector<std::string_view>& argv,
                            std::string_view values_word, shard::random_args& out);

// argv[from..] as one packed list (values/packed.hpp), in a buffer reused
// from command to command (a plan copies it into the shard's batch): how
// hash and set commands send several fields or members.
std::string_view pack_arguments(const std::vector<std::string_view>& argv, std::size_t from);

} // namespace stairkv::commands
