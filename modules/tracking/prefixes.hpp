#pragma once

// Broadcasting mode (CLIENT TRACKING ON BCAST [PREFIX p]...): a client hears
// of every change to a key that starts with one of its prefixes ("" for all
// keys), whoever read it. The subscription broker keeps one table for the
// node; the gateways check a client's prefixes before they go in.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stairkv::tracking {

// Redis's refusal of prefixes that overlap (one starts with the other) among
// `added`, or with the client's `existing` ones; empty when none do.
std::string prefix_overlap_error(const std::vector<std::string>& existing,
                                 const std::vector<std::string>& added);

class prefix_table {
public:
  // `client` hears of changes to keys under `prefix` from now on; with
  // `noloop`, not of its own.
  void add(const std::string& prefix, std::uint64_t client, bool noloop);
  // Drops every prefix of `client`.
  void remove(std::uint64_t client);

  bool empty() const noexcept {
    return table_.empty();
  }
  std::size_t size() const noexcept {
    return table_.size();
  }

  // Calls visit(client, prefix) for each client one of whose prefixes `key`
  // starts with, but not for `writer` if it asked for NOLOOP.
  template <class Visit>
  void match(std::string_view key, std::uint64_t writer, Visit visit) const {
    for (const auto& [prefix, who] : table_) {
      if (key.compare(0, prefix.size(), prefix) != 0) {
        if (prefix > key)
          break; // sorted: no later prefix can match either
        continue;
      }
      for (const auto& c : who)
        if (!(c.noloop && writer != 0 && c.client == writer))
          visit(c.client, std::string_view{prefix});
    }
  }

private:
  struct listener {
    std::uint64_t client;
    bool noloop;
  };
  std::map<std::string, std::vector<listener>, std::less<>> table_;
};

} // namespace stairkv::tracking
