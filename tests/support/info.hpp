// Parsing of INFO replies: "# Section" headers followed by "field:value" lines.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace stairkv::testing {

struct info_reply {
  // Lowercased section name -> field -> value.
  std::map<std::string, std::map<std::string, std::string>> sections;

  bool has_section(const std::string& name) const;

  // The value of `field` in whichever section holds it.
  std::optional<std::string> field(const std::string& name) const;

  // The value of `field` as an integer; nullopt if absent or not an integer.
  std::optional<long long> integer_field(const std::string& name) const;
};

// Accepts "\r\n" or "\n" line ends; ignores blank lines.
info_reply parse_info(const std::string& text);

class hiredis_connection;

// One field of the server's `INFO everything` over `c`: its text, "(missing)"
// when absent; or as an integer, -1 when absent or not an integer.
std::string info_text(hiredis_connection& c, const std::string& name);
long long info_integer(hiredis_connection& c, const std::string& name);

// Runs `round` again and again, for `limit` at most, while the node `c` talks
// to resizes: until a round has run wholly while keys moved (engine_migrating
// before and after it) and `enough()` says so. Returns whether such a round
// ran. For tests that something holds while keys move between engines.
bool rounds_while_keys_move(hiredis_connection& c, const std::function<void()>& round,
                            const std::function<bool()>& enough,
                            std::chrono::seconds limit = std::chrono::seconds{60});

} // namespace stairkv::testing
