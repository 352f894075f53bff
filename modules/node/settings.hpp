#pragma once

// The node's CONFIG GET / CONFIG SET table: every option of options.hpp, read
// back as it is now; the ones that can change at run time also know what a
// change must reach (the store's notification setting, the gateways' limits,
// the log).

#include "modules/gateway/settings.hpp"
#include "modules/node/options.hpp"
#include "modules/store/store.hpp"

namespace stairkv::node {

gateway::node_settings_ptr make_settings(const options& initial,
                                         const store_handle& store);

} // namespace stairkv::node
