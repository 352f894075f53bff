// CONFIG GET | SET | RESETSTAT | REWRITE over the node's settings table
// (settings.hpp).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

// CONFIG GET pattern... | SET name value [name value ...] | RESETSTAT: the rules
// of GET and SET live with the settings table (settings.hpp); RESETSTAT zeroes
// the gateway's figures, the memory bound's, and every shard's.
void config_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& settings = *self->state.config.settings;
  auto sub = argv[1];
  if (commands::equals_ignoring_case(sub, "get") && argv.size() >= 3) {
    auto hits = settings.matching({argv.begin() + 2, argv.end()});
    out.map(hits.size());
    for (const auto* entry : hits) {
      out.bulk(entry->name);
      out.bulk(entry->get());
    }
  } else if (commands::equals_ignoring_case(sub, "get")) {
    out.error(protocol::errors::wrong_arity("config|get"));
  } else if (commands::equals_ignoring_case(sub, "set")) {
    if (argv.size() < 4 || argv.size() % 2 != 0) {
      out.error(protocol::errors::wrong_arity("config|set"));
    } else {
      std::vector<std::pair<std::string_view, std::string_view>> pairs;
      for (std::size_t i = 2; i + 1 < argv.size(); i += 2)
        pairs.emplace_back(argv[i], argv[i + 1]);
      if (auto error = settings.set_all(pairs); !error.empty()) {
        out.error(error);
      } else {
        out.simple("OK");
        // A lower bound on remembered keys: every shard trims to it now (any
        // batch ends with a trim), not at its next client batch.
        for (const auto& [name, value] : pairs)
          if (commands::equals_ignoring_case(name, "tracking-table-max-keys")) {
            auto& trim = work.open(hidden_client(), commands::plan::merge::sum);
            work.route_to_all(trim, shard::op_code::count_keys);
            break;
          }
      }
    }
  } else if (commands::equals_ignoring_case(sub, "resetstat") && argv.size() == 2) {
    self->state.figures.reset();
    if (const auto& memory = self->state.config.memory)
      memory->reset_stats();
    work.add_reset_stats(conn.context);
    return;
  } else if (commands::equals_ignoring_case(sub, "resetstat")) {
    out.error(protocol::errors::wrong_arity("config|resetstat"));
  } else if (commands::equals_ignoring_case(sub, "rewrite") && argv.size() == 2) {
    auto error = settings.rewrite ? settings.rewrite()
                                  : std::string{"ERR The server is running without a config file"};
    if (error.empty())
      out.simple("OK");
    else
      out.error(error);
  } else if (commands::equals_ignoring_case(sub, "rewrite")) {
    out.error(protocol::errors::wrong_arity("config|rewrite"));
  } else {
    auto msg = protocol::errors::unknown_subcommand(sub, "CONFIG");
    out.error(msg);
  }
  work.add_reply(conn.context, reply);
}

} // namespace stairkv::gateway
