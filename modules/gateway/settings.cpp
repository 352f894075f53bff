#include "modules/gateway/settings.hpp"

#include "modules/commands/glob.hpp"

namespace stairkv::gateway {

std::vector<const setting*> node_settings::matching(
  const std::vector<std::string_view>& patterns) const {
  std::vector<const setting*> hits;
  for (const auto& entry : entries)
    for (auto pattern : patterns)
      if (commands::glob_match(pattern, entry.name, true)) {
        hits.push_back(&entry);
        break;
      }
  return hits;
}

std::string node_settings::set_all(
  const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  auto failed = [](const std::string& name, const std::string& why) {
    return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + why;
  };
  std::vector<std::pair<const setting*, std::string>> changes;
  for (const auto& [name, given] : pairs) {
    const auto* entry = find(name);
    if (entry == nullptr) {
      std::string msg = "ERR Unknown option or number of arguments for CONFIG SET - '";
      msg.append(name.substr(0, 128));
      msg.append("'");
      return msg;
    }
    for (const auto& change : changes)
      if (change.first == entry)
        return failed(entry->name, "duplicate parameter");
    std::string value{given};
    if (!entry->apply) {
      // A setting fixed at start may be "set" to the value it has: nothing
      // changes (tools that write back CONFIG GET * rely on it).
      if (entry->get() == value)
        continue;
      return failed(entry->name, "can't set immutable config");
    }
    if (auto why = entry->check(value); !why.empty())
      return failed(entry->name, why);
    changes.emplace_back(entry, std::move(value));
  }
  for (const auto& [entry, value] : changes)
    entry->apply(value);
  return {};
}

} // namespace stairkv::gateway
