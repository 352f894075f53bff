// Requests of the store's front actor (the embedding and remote API), planned
// by the gateway. A node has one gateway, and every plan it makes reaches
// every shard in the order it made them; were the front actor to send plans of
// its own, a shard could run a gateway client's MSET before a front request's
// and another shard after it, and a reader on either side could see half of
// one. Handing the front's requests to the gateway gives the node one plan
// order, so an MSET, an EXEC or a front transaction is atomic for every sender.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <caf/response_promise.hpp>

#include "modules/commands/command_table.hpp"
#include "modules/gateway/gateway_state.hpp"
#include "modules/gateway/steps.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv::gateway {

namespace {

using promise_t = caf::typed_response_promise<std::vector<std::string>>;

bool names_held_key(gateway_actor* self, const std::vector<std::vector<std::string>>& commands) {
  if (self->state.held_keys.empty())
    return false;
  for (const auto& words : commands)
    if (const auto* spec = words.empty() ? nullptr : commands::find_command(words[0]);
        spec != nullptr && touches_held_keys(self, *spec, words))
      return true;
  return false;
}

// Plans the request as one plan and hands it to the dispatcher, behind every
// plan this gateway made before it.
void submit(gateway_actor* self, const std::vector<std::vector<std::string>>& commands,
            bool transaction, promise_t promise) {
  auto& st = self->state;
  auto work = make_own_plan(self);
  commands::client_context client; // no connection: RESP2, no tag, database 0
  const auto& map = *st.config.databases;
  client.databases = &map;
  client.db = map.physical(0);
  args argv;
  bool writes = false;
  std::vector<std::string> front_refusals; // by command; empty: none refused
  if (st.config.cluster) {
    // Cluster mode: a command whose slot another node serves gets its
    // redirect; in a transaction, every command gets the first one and
    // nothing runs.
    std::vector<std::string> refusals;
    bool refused = false;
    for (const auto& words : commands) {
      argv.assign(words.begin(), words.end());
      const auto* spec = argv.empty() ? nullptr : commands::find_command(argv[0]);
      refusals.push_back(spec == nullptr || !commands::arity_ok(*spec, argv.size())
                           ? std::string{}
                           : front_cluster_refusal(self, *spec, argv));
      refused = refused || !refusals.back().empty();
    }
    if (refused && transaction) {
      auto first = *std::find_if(refusals.begin(), refusals.end(),
                                 [](const std::string& r) { return !r.empty(); });
      promise.deliver(std::vector<std::string>(commands.size(), first));
      return;
    }
    if (refused)
      front_refusals = std::move(refusals);
  }
  std::size_t index = 0;
  for (const auto& words : commands) {
    auto i = index++;
    if (!front_refusals.empty() && !front_refusals[i].empty()) {
      work->add_reply(client, front_refusals[i]);
      continue;
    }
    argv.assign(words.begin(), words.end());
    const auto* spec = argv.empty() ? nullptr : commands::find_command(argv[0]);
    step_database = client.db;
    if (spec != nullptr && std::string_view{spec->name} == "select" && argv.size() == 2) {
      commands::select_within(*work, client, argv[1]);
      continue;
    }
    auto outcome = commands::execute_command(*work, client, argv, spec);
    if (outcome == commands::outcome::gateway)
      work->add_reply(client, "-ERR this command needs a network connection\r\n");
    if (outcome == commands::outcome::routed && (spec->flags & commands::flag::write) != 0) {
      writes = true;
      if (!st.watched_keys.empty())
        touch_watched_keys(self, *spec, argv);
    }
  }
  if (transaction && writes)
    work->note_writes_since(0); // whole in the append-only file, or not at all
  submit_own_plan(self, std::move(work), [promise](const commands::plan& done) mutable {
    std::vector<std::string> replies(done.size());
    for (std::size_t i = 0; i < replies.size(); ++i)
      done.write_reply(i, replies[i], nullptr);
    promise.deliver(std::move(replies));
  });
}

} // namespace

caf::result<std::vector<std::string>>
plan_front_request(gateway_actor* self, std::vector<std::vector<std::string>> commands,
                   bool transaction) {
  auto promise = self->make_response_promise<std::vector<std::string>>();
  auto& st = self->state;
  if (st.front_waiting.empty() && !st.script_whole_store && !names_held_key(self, commands)) {
    submit(self, commands, transaction, promise);
    return promise;
  }
  // Behind a multi-step command's held keys, or behind an earlier request
  // that waits for them: the front's requests stay in their order.
  auto held = std::make_shared<std::vector<std::vector<std::string>>>(std::move(commands));
  st.front_waiting.push_back([self, held, transaction, promise]() mutable {
    if (self->state.script_whole_store || names_held_key(self, *held))
      return false;
    submit(self, *held, transaction, promise);
    return true;
  });
  return promise;
}

void resume_front_requests(gateway_actor* self) {
  auto& waiting = self->state.front_waiting;
  while (!waiting.empty() && waiting.front()())
    waiting.pop_front();
}

commands::plan_ptr make_own_plan(gateway_actor* self) {
  auto& st = self->state;
  auto now = shard::unix_now_ms();
  auto work = std::make_shared<commands::plan>(st.dispatcher.routing(), now);
  if (st.config.memory)
    work->refuse_growth(st.config.memory->refuses_growth(now));
  if (st.config.persistence)
    work->refuse_writes(st.config.persistence->refusal());
  return work;
}

void submit_own_plan(gateway_actor* self, commands::plan_ptr work,
                     std::function<void(const commands::plan&)> answered) {
  bool watching = prepare_for_shards(self, *work);
  self->state.dispatcher.submit(
    self, std::move(work),
    [self, watching, answered = std::move(answered)](const commands::plan_ptr& done) {
      if (watching)
        touch_evicted_keys(self, *done);
      answered(*done);
      acknowledge_switch(self);
    });
  acknowledge_switch(self);
}

} // namespace stairkv::gateway
