#include "tests/support/info.hpp"

#include "tests/support/hiredis_connection.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace stairkv::testing {

namespace {

std::string lowercase(std::string text) {
  for (auto& ch : text)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

} // namespace

bool info_reply::has_section(const std::string& name) const {
  return sections.count(lowercase(name)) > 0;
}

std::optional<std::string> info_reply::field(const std::string& name) const {
  for (const auto& [section, fields] : sections)
    if (auto it = fields.find(name); it != fields.end())
      return it->second;
  return std::nullopt;
}

std::optional<long long>
info_reply::integer_field(const std::string& name) const {
  auto value = field(name);
  if (!value || value->empty())
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long result = std::strtoll(value->c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return std::nullopt;
  return result;
}

info_reply parse_info(const std::string& text) {
  info_reply result;
  std::string current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    if (line[0] == '#') {
      size_t start = line.find_first_not_of("# ");
      current = lowercase(start == std::string::npos ? "" : line.substr(start));
      result.sections[current];
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    result.sections[current][line.substr(0, colon)] = line.substr(colon + 1);
  }
  return result;
}

std::string info_text(hiredis_connection& c, const std::string& name) {
  auto info = parse_info(text_of(c.command({"INFO", "everything"})));
  return info.field(name).value_or("(missing)");
}

long long info_integer(hiredis_connection& c, const std::string& name) {
  auto info = parse_info(text_of(c.command({"INFO", "everything"})));
  return info.integer_field(name).value_or(-1);
}

bool rounds_while_keys_move(hiredis_connection& c, const std::function<void()>& round,
                            const std::function<bool()>& enough,
                            std::chrono::seconds limit) {
  bool moved_during = false;
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    bool migrating = info_integer(c, "engine_migrating") == 1;
    round();
    moved_during = moved_during || (migrating && info_integer(c, "engine_migrating") == 1);
    if (moved_during && enough())
      break;
  }
  return moved_during;
}

} // namespace stairkv::testing
