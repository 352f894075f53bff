#pragma once

// The actor_system_config of actor-level tests: CAF's middleman loaded, which
// shards hosted on the I/O thread need. CAF keeps a reference to the config for
// the lifetime of every actor_system built from it, hence one static instance
// shared by the fixtures of a test binary.

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

namespace stairkv::testing {

inline caf::actor_system_config& actor_system_config() {
  static caf::actor_system_config cfg;
  static const bool loaded = (cfg.load<caf::io::middleman>(), true);
  (void) loaded;
  return cfg;
}

} // namespace stairkv::testing
