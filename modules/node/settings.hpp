#pragma once

// The node's CONFIG GET / CONFIG SET table: every option of options.hpp, read
// back as it is now; the ones that can change at run time also know what a
// change must reach (the store's notification setting, the gateways' limits,
// the log).

#include <caf/actor.hpp>

#include "modules/gateway/settings.hpp"
#include "modules/node/options.hpp"
#include "modules/store/store.hpp"

namespace stairkv::node {

// `cluster`: the cluster actor (cluster mode), which CONFIG SET
// cluster-node-timeout reaches.
gateway::node_settings_ptr make_settings(const options& initial,
                                         const store_handle& store,
                                         caf::actor cluster = {});

} // namespace stairkv::node
