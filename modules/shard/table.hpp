#pragma once

// A shard's key space. Only its own shard actor ever touches a table, so nothing in
// here locks. Pure code: the actor is a thin wrapper, and the command semantics are
// tested on this class directly.

#include <cstdint>
#include <string>
#include <string_view>

#include "modules/shard/batch.hpp"
#include "modules/shard/record_set.hpp"

namespace stairkv::shard {


class table {
public:
  // Runs every operation of `work` in order and appends their replies to `out`.
  // `now` is the clock reading for the whole batch: a key whose deadline is at or
  // before it is gone.
  void execute(const batch& work, batch_result& out, deadline_ms now);

  table_stats stats() const;

  std::size_t size() const noexcept {
    return entries_.size();
  }

private:
  // Finds a live record, reclaiming it first if its deadline has passed.
  record* find_live(std::string_view key, deadline_ms now);
  void erase(record* r);
  void set_deadline(record* r, deadline_ms deadline);

  void run_set(const batch& work, const operation& op, std::string& out,
               deadline_ms now);
  void run_incr_by(std::string_view key, std::int64_t delta, std::string& out,
                   deadline_ms now);

  record_set entries_;
  std::int64_t keys_with_deadline_ = 0;
  std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
  std::int64_t expired_ = 0;
};

} // namespace stairkv::shard
