#include "modules/gateway/session_commands.hpp"

#include <gtest/gtest.h>

namespace stairkv::gateway {
namespace {

TEST(SessionCommands, EveryGatewayCommandHasExactlyItsHandler) {
  EXPECT_TRUE(unmatched_session_commands().empty());
  for (const auto& spec : commands::all_commands()) {
    bool gateway = (spec.flags & commands::flag::gateway) != 0;
    EXPECT_EQ(session_handler_of(spec) != nullptr, gateway) << spec.name;
    // A command is planned by the table or handled by the session, never both.
    EXPECT_EQ(spec.run == nullptr, gateway) << spec.name;
  }
}

} // namespace
} // namespace stairkv::gateway
