#pragma once

// PUBLISH and PUBSUB through the store's generic `command`: the gateways answer
// them for their clients; for the embedding API the front actor asks the
// subscription broker itself, so that `command` answers them in the node and
// in an embedding process alike.

#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

namespace stairkv::pubsub_requests {

// Whether `args` is a PUBLISH or PUBSUB command (any case).
bool answered_by_broker(const std::vector<std::string>& args);

// Answers such a command: `done` gets its RESP2 reply (an arity or subcommand
// error is answered without asking).
void answer(caf::event_based_actor* self, const caf::actor& broker,
            const std::vector<std::string>& args, std::function<void(std::string)> done);

} // namespace stairkv::pubsub_requests
