#pragma once

// The one clock deadlines are measured on: Unix time in milliseconds, as Redis
// keeps absolute expire times (so PXAT values and persisted deadlines mean the
// same thing on every node and after a restart).

#include <chrono>

#include "modules/shard/batch.hpp"

namespace stairkv::shard {

inline deadline_ms unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace stairkv::shard
