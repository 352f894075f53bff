#pragma once

// What both watcher examples do once they hold a store: subscribe an actor to
// the expired events of database 0, set `keys` keys with TTLs spread over
// about a second, and report how late each expiry event reached the actor.

#include <iosfwd>

#include <caf/fwd.hpp>

#include "modules/store/store.hpp"

namespace stairkv::examples {

struct watch_settings {
  int keys = 1000;
  // TTLs run from first_ttl to first_ttl + spread, evenly.
  caf::timespan first_ttl = std::chrono::milliseconds{100};
  caf::timespan spread = std::chrono::milliseconds{1000};
  // How long to wait for the last event after the last deadline.
  caf::timespan patience = std::chrono::seconds{10};
};

// Prints `late by: p50 X ms, p99 Y ms, max Z ms` and `heard N of <keys>` to
// `out`; returns whether every event was heard. Call it from ordinary code
// (main), not from inside an actor.
bool watch_expiries(caf::actor_system& system, const store_actor& store,
                    const watch_settings& settings, std::ostream& out);

} // namespace stairkv::examples
