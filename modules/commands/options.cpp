#include "modules/commands/options.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/number.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::commands {

expiry_unit expiry_option(std::string_view name) {
  if (equals_ignoring_case(name, "ex"))
    return expiry_unit::seconds;
  if (equals_ignoring_case(name, "px"))
    return expiry_unit::millis;
  if (equals_ignoring_case(name, "exat"))
    return expiry_unit::unix_seconds;
  if (equals_ignoring_case(name, "pxat"))
    return expiry_unit::unix_millis;
  return expiry_unit::none;
}

std::string to_deadline(std::string_view amount_text, expiry_unit unit, amount_rule rule,
                        shard::deadline_ms now, std::string_view command,
                        shard::deadline_ms& deadline) {
  constexpr auto max_ms = std::numeric_limits<std::int64_t>::max();
  constexpr auto min_ms = std::numeric_limits<std::int64_t>::min();
  auto invalid = [&] {
    std::string msg = "ERR invalid expire time in '";
    msg.append(command);
    msg.append("' command");
    return msg;
  };
  std::int64_t amount = 0;
  if (!protocol::parse_int64(amount_text, amount))
    return std::string{protocol::errors::not_an_integer};
  if (rule == amount_rule::positive && amount <= 0)
    return invalid();
  bool in_seconds = unit == expiry_unit::seconds || unit == expiry_unit::unix_seconds;
  bool relative = unit == expiry_unit::seconds || unit == expiry_unit::millis;
  if (in_seconds) {
    if (amount > max_ms / 1000 || amount < min_ms / 1000)
      return invalid();
    amount *= 1000;
  }
  if (relative) {
    if (amount > max_ms - now)
      return invalid();
    amount += now;
  }
  deadline = amount;
  return {};
}

std::string read_scan_options(const std::vector<std::string_view>& argv,
                              std::size_t cursor_at, scan_options& out) {
  // Redis reads the cursor as an unsigned 64-bit number.
  auto text = argv[cursor_at];
  bool digits = !text.empty() && text.size() <= 20
                && std::all_of(text.begin(), text.end(),
                               [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    return "ERR invalid cursor";
  out.cursor = std::strtoull(std::string{text}.c_str(), nullptr, 10);
  for (std::size_t i = cursor_at + 1; i < argv.size(); i += 2) {
    if (i + 1 >= argv.size())
      return std::string{protocol::errors::syntax};
    if (equals_ignoring_case(argv[i], "match")) {
      out.pattern = argv[i + 1];
    } else if (equals_ignoring_case(argv[i], "count")) {
      if (!protocol::parse_int64(argv[i + 1], out.count))
        return std::string{protocol::errors::not_an_integer};
      if (out.count < 1)
        return std::string{protocol::errors::syntax};
    } else if (equals_ignoring_case(argv[i], "type")) {
      out.typed = true;
      out.type = argv[i + 1];
    } else {
      return std::string{protocol::errors::syntax};
    }
  }
  if (out.pattern == "*")
    out.pattern = {};
  return {};
}

std::string read_field_scan(const std::vector<std::string_view>& argv,
                            shard::field_scan_args& out, std::string_view& pattern) {
  scan_options options;
  if (auto error = read_scan_options(argv, 2, options); !error.empty())
    return error;
  if (options.typed)
    return std::string{protocol::errors::syntax};
  out = shard::field_scan_args{options.cursor, options.count};
  pattern = options.pattern;
  return {};
}

std::string read_draw_count(const std::vector<std::string_view>& argv,
                            std::string_view values_word, shard::random_args& out) {
  bool values_allowed = !values_word.empty();
  if (!values_allowed && argv.size() > 3)
    return std::string{protocol::errors::syntax};
  if (argv.size() < 3)
    return {};
  if (!protocol::parse_int64(argv[2], out.count))
    return std::string{protocol::errors::not_an_integer};
  constexpr auto most = std::numeric_limits<std::int64_t>::max();
  if (out.count < -most)
    return "ERR value is out of range";
  if (values_allowed) {
    if (argv.size() > 4 || (argv.size() == 4 && !equals_ignoring_case(argv[3], values_word)))
      return std::string{protocol::errors::syntax};
    out.with_values = argv.size() == 4;
    if (out.with_values && (out.count < -most / 2 || out.count > most / 2))
      return "ERR value is out of range";
  }
  constexpr std::int64_t most_draws = 100'000'000;
  if (out.count < -most_draws)
    return "ERR count is too large (at most 100000000 draws)";
  out.counted = true;
  return {};
}

std::string_view pack_arguments(const std::vector<std::string_view>& argv, std::size_t from) {
  thread_local std::string packed;
  packed.clear();
  for (std::size_t i = from; i < argv.size(); ++i)
    values::append_item(packed, argv[i]);
  return packed;
}

} // namespace stairkv::commands
