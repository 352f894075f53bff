#pragma once

// What the tests of hashes and sets in the shard table share: a clock reading,
// packed lists of fields or members, and one operation run on its own.

#include <string>
#include <string_view>
#include <vector>

#include "modules/shard/table.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::shard::testing {

inline constexpr deadline_ms now = 1'000'000;
using strings = std::vector<std::string>;

inline std::string packed(const strings& items) {
  std::string out;
  for (const auto& item : items)
    values::append_item(out, item);
  return out;
}

// Runs one operation in a batch of its own at `now` and returns its reply.
inline std::string run1(table& t, op_code code, std::string_view key,
                        std::string_view value = {}, op_args args = no_args{}) {
  batch work;
  work.add(code, key, value, args);
  batch_result result;
  t.execute(work, result, now);
  return std::string{result.reply(0)};
}

} // namespace stairkv::shard::testing
