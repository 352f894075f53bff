#include "modules/acl/facts_table.hpp"

#include <unordered_map>

#include "modules/acl/categories.hpp"

namespace stairkv::acl {

namespace {

const std::vector<command_fact>& rows() {
  static const std::vector<command_fact> table = {
#include "modules/acl/command_facts.inc"
  };
  return table;
}

} // namespace

const command_fact* find_fact(std::string_view name) {
  static const auto by_name = [] {
    std::unordered_map<std::string_view, const command_fact*> out;
    for (const auto& f : rows())
      out.emplace(f.name, &f);
    return out;
  }();
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

} // namespace stairkv::acl
