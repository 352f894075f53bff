#include "modules/store/pubsub_requests.hpp"

#include <caf/all.hpp>

#include "modules/commands/command_table.hpp"
#include "modules/commands/text.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_writer.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::pubsub_requests {

namespace {

using done_fn = std::function<void(std::string)>;

std::string integer_reply(std::int64_t n) {
  std::string resp;
  protocol::reply_writer{resp}.integer(n);
  return resp;
}

auto on_broker_error(done_fn done) {
  return [done](caf::error&) {
    done(protocol::errors::as_reply("ERR subscription broker unavailable"));
  };
}

} // namespace

bool answered_by_broker(const std::vector<std::string>& args) {
  return !args.empty()
         && (commands::equals_ignoring_case(args[0], "publish")
             || commands::equals_ignoring_case(args[0], "pubsub"));
}

void answer(caf::event_based_actor* self, const caf::actor& broker,
            const std::vector<std::string>& args, done_fn done) {
  namespace sb = subscription_broker;
  const auto* spec = commands::find_command(args[0]);
  if (!commands::arity_ok(*spec, args.size())) {
    done(protocol::errors::as_reply(protocol::errors::wrong_arity(spec->name)));
    return;
  }
  if (commands::equals_ignoring_case(args[0], "publish")) {
    self->request(broker, caf::infinite, sb::publish_atom::value, args[1], args[2])
      .then([done](std::int64_t receivers) { done(integer_reply(receivers)); },
            on_broker_error(done));
    return;
  }
  const auto& sub = args[1];
  if (commands::equals_ignoring_case(sub, "numsub")) {
    std::vector<std::string> names(args.begin() + 2, args.end());
    self->request(broker, caf::infinite, sb::numsub_atom::value, names)
      .then(
        [done, names](const std::vector<std::int64_t>& counts) {
          std::string resp;
          protocol::reply_writer out{resp};
          out.map(names.size());
          for (std::size_t i = 0; i < names.size(); ++i) {
            out.bulk(names[i]);
            out.integer(i < counts.size() ? counts[i] : 0);
          }
          done(std::move(resp));
        },
        on_broker_error(done));
  } else if (commands::equals_ignoring_case(sub, "numpat") && args.size() == 2) {
    self->request(broker, caf::infinite, sb::numpat_atom::value)
      .then([done](std::int64_t n) { done(integer_reply(n)); }, on_broker_error(done));
  } else if (commands::equals_ignoring_case(sub, "channels") && args.size() <= 3) {
    std::string pattern = args.size() == 3 ? args[2] : std::string{};
    self->request(broker, caf::infinite, sb::channels_atom::value, pattern)
      .then(
        [done](const std::vector<std::string>& names) {
          std::string resp;
          protocol::reply_writer out{resp};
          out.array(names.size());
          for (const auto& n : names)
            out.bulk(n);
          done(std::move(resp));
        },
        on_broker_error(done));
  } else if (commands::equals_ignoring_case(sub, "numpat")
             || commands::equals_ignoring_case(sub, "channels")) {
    auto lower = commands::equals_ignoring_case(sub, "numpat") ? "pubsub|numpat"
                                                               : "pubsub|channels";
    done(protocol::errors::as_reply(protocol::errors::wrong_arity(lower)));
  } else {
    done(protocol::errors::as_reply(protocol::errors::unknown_subcommand(sub, "PUBSUB")));
  }
}

} // namespace stairkv::pubsub_requests
