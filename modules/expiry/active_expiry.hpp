#pragma once

// Whether shards retire keys on time. DEBUG SET-ACTIVE-EXPIRE 0 turns it off,
// so that keys past their deadline go only when they are touched (how Redis's
// tests watch lazy expiry); 1 turns it back on. One switch for every shard of a
// store, new engines' shards included; read once per expiry wake-up.

#include <atomic>
#include <memory>

namespace stairkv::expiry {

struct active_expiry {
  std::atomic<bool> on{true};

  bool enabled() const noexcept {
    return on.load(std::memory_order_relaxed);
  }
};

using active_expiry_ptr = std::shared_ptr<active_expiry>;

} // namespace stairkv::expiry
