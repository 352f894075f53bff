// Parsing of INFO replies: "# Section" headers followed by "field:value" lines.
#pragma once

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

} // namespace stairkv::testing
