#pragma once

// The discipline every router follows when the entry engine changes: requests
// planned on one entry engine are never in flight together with requests planned
// on another. A router keeps sending to the old engine (whose shards forward to
// the new one) until its last request there is answered, and only then sends to
// the new engine directly. So the operations of one client on one key reach the
// key's owner in order, across the switch.

#include <cstddef>
#include <cstdint>

#include "modules/engine/routing.hpp"

namespace stairkv::engine {

class routing_follower {
public:
  explicit routing_follower(routing_ptr initial) : current_(std::move(initial)) {}

  const routing_ptr& current() const noexcept {
    return current_;
  }

  // Takes a newer snapshot; older ones (a late subscription answer) are ignored.
  void update(routing_ptr next) {
    if (next->status.generation < current_->status.generation)
      return;
    if (next->entry != current_->entry)
      owe_ = next->status.generation;
    current_ = std::move(next);
  }

  // Whether a request planned on `entry` may be sent now.
  bool may_send(const layout* entry) const noexcept {
    return in_flight_ == 0 || entry == in_flight_entry_;
  }

  void sent(const layout* entry) noexcept {
    ++in_flight_;
    in_flight_entry_ = entry;
  }

  void answered() noexcept {
    --in_flight_;
  }

  // The generation to acknowledge to the engine manager once nothing is in flight
  // to an older entry engine; 0 when there is nothing (yet) to acknowledge.
  std::uint64_t take_acknowledgement() noexcept {
    if (owe_ == 0)
      return 0;
    if (in_flight_ > 0 && in_flight_entry_ != current_->entry.get())
      return 0;
    auto generation = owe_;
    owe_ = 0;
    return generation;
  }

  std::size_t in_flight() const noexcept {
    return in_flight_;
  }

private:
  routing_ptr current_;
  std::size_t in_flight_ = 0;
  const layout* in_flight_entry_ = nullptr;
  std::uint64_t owe_ = 0;
};

} // namespace stairkv::engine
