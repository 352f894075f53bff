// CONFIG GET | SET | RESETSTAT over the node's settings table (settings.hpp).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "modules/commands/glob.hpp"
#include "modules/commands/text.hpp"
#include "modules/gateway/session_commands.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"

namespace stairkv::gateway {

namespace {

// CONFIG GET pattern [pattern ...]: every setting whose name matches a pattern.
void config_get(const node_settings& settings,
                const std::vector<std::string_view>& argv,
                protocol::reply_writer& out) {
  std::vector<const setting*> hits;
  for (const auto& entry : settings.entries)
    for (std::size_t i = 2; i < argv.size(); ++i)
      if (commands::glob_match(argv[i], entry.name, true)) {
        hits.push_back(&entry);
        break;
      }
  out.map(hits.size());
  for (const auto* entry : hits) {
    out.bulk(entry->name);
    out.bulk(entry->get());
  }
}

// CONFIG SET name value [name value ...]: all pairs are checked before any is
// applied, so the command changes everything or nothing, as in Redis 7.
void config_set(node_settings& settings, const std::vector<std::string_view>& argv,
                protocol::reply_writer& out) {
  if (argv.size() < 4 || argv.size() % 2 != 0) {
    out.error(protocol::errors::wrong_arity("config|set"));
    return;
  }
  auto failed = [&](const std::string& name, const std::string& why) {
    out.error("ERR CONFIG SET failed (possibly related to argument '" + name
              + "') - " + why);
  };
  std::vector<std::pair<const setting*, std::string>> changes;
  for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
    const auto* entry = settings.find(argv[i]);
    if (entry == nullptr) {
      std::string msg = "ERR Unknown option or number of arguments for CONFIG SET - '";
      msg.append(argv[i].substr(0, 128));
      msg.append("'");
      out.error(msg);
      return;
    }
    for (const auto& change : changes)
      if (change.first == entry) {
        failed(entry->name, "duplicate parameter");
        return;
      }
    if (!entry->apply) {
      failed(entry->name, "can't set immutable config");
      return;
    }
    std::string value{argv[i + 1]};
    if (auto why = entry->check(value); !why.empty()) {
      failed(entry->name, why);
      return;
    }
    changes.emplace_back(entry, std::move(value));
  }
  for (const auto& [entry, value] : changes)
    entry->apply(value);
  out.simple("OK");
}

} // namespace

void config_command(gateway_actor* self, connection& conn, const args& argv,
                    commands::plan& work) {
  std::string reply;
  protocol::reply_writer out{reply, conn.context.resp_version};
  auto& settings = *self->state.config.settings;
  auto sub = argv[1];
  if (commands::equals_ignoring_case(sub, "get") && argv.size() >= 3) {
    config_get(settings, argv, out);
  } else if (commands::equals_ignoring_case(sub, "get")) {
    out.error(protocol::errors::wrong_arity("config|get"));
  } else if (commands::equals_ignoring_case(sub, "set")) {
    config_set(settings, argv, out);
  } else if (commands::equals_ignoring_case(sub, "resetstat") && argv.size() == 2) {
    auto& figures = self->state.figures;
    figures.connections_received = 0;
    figures.commands_processed = 0;
    figures.rejected_connections = 0;
    figures.output_limit_disconnections = 0;
    std::fill(figures.calls.begin(), figures.calls.end(), 0);
    std::fill(figures.rejected_calls.begin(), figures.rejected_calls.end(), 0);
    if (const auto& memory = self->state.config.memory)
      memory->reset_stats();
    work.add_reset_stats(conn.context);
    return;
  } else if (commands::equals_ignoring_case(sub, "resetstat")) {
    out.error(protocol::errors::wrong_arity("config|resetstat"));
  } else {
    auto msg = protocol::errors::unknown_subcommand(sub, "CONFIG");
    out.error(msg);
  }
  work.add_reply(conn.context, reply);
}

} // namespace stairkv::gateway
