#include "modules/acl/categories.hpp"

#include <cctype>

namespace stairkv::acl {

const std::vector<category>& categories() {
  static const std::vector<category> all = {
    {"keyspace", cat::keyspace},       {"read", cat::read},
    {"write", cat::write},             {"set", cat::set},
    {"sortedset", cat::sortedset},     {"list", cat::list},
    {"hash", cat::hash},               {"string", cat::string},
    {"bitmap", cat::bitmap},           {"hyperloglog", cat::hyperloglog},
    {"geo", cat::geo},                 {"stream", cat::stream},
    {"pubsub", cat::pubsub},           {"admin", cat::admin},
    {"fast", cat::fast},               {"slow", cat::slow},
    {"blocking", cat::blocking},       {"dangerous", cat::dangerous},
    {"connection", cat::connection},   {"transaction", cat::transaction},
    {"scripting", cat::scripting},
  };
  return all;
}

std::optional<std::uint32_t> find_category(std::string_view name) {
  for (const auto& c : categories()) {
    if (c.name.size() != name.size())
      continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == c.name[i];
    if (same)
      return c.bit;
  }
  return std::nullopt;
}

} // namespace stairkv::acl
