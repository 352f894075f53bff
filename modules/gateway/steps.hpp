#pragma once

// Commands the gateway runs as a sequence of plans (RENAME, MSETNX, DEBUG
// RELOAD, DEBUG POPULATE...): each step plans operations for no connection (a
// hidden client) into the plan being built, and a function runs once that
// plan's shards have answered, to plan the next step or give the client its
// reply. Meanwhile the client's later commands wait (waiting_for_step), so a
// pipeline sees the command's effect. Internal to the gateway.

#include <string>
#include <string_view>
#include <vector>

#include "modules/commands/plan.hpp"
#include "modules/gateway/gateway_state.hpp"

namespace stairkv::gateway {

// The shards' database of the command whose steps are being planned: set
// from its client as each command runs (run_command), from the script for a
// script's calls, from the blocked pop for its later operations, and kept by
// plan_step for the steps that follow. The gateway's thread only.
inline thread_local std::uint8_t step_database = 0;

// The client whose operations a step plans: replies to it go nowhere; its
// operations work on step_database.
inline commands::client_context hidden_client() {
  commands::client_context hidden{0, 2};
  hidden.db = step_database;
  return hidden;
}

// Plans a step into the plan being built: `build(plan)` adds its operations and
// `then(plan, first_record)` runs once that plan's shards have answered, in the
// same database.
template <class Build, class Then>
void plan_step(gateway_actor* self, Build build, Then then) {
  auto& work = current_plan(self);
  auto first = work.size();
  build(work);
  auto id = self->state.building_id;
  auto db = step_database;
  self->state.after_shards[id].push_back([self, id, first, then, db]() mutable {
    if (auto* plan = find_plan(self, id)) {
      step_database = db;
      then(*plan, first);
    }
  });
}

// The merged reply of record `index` of a plan whose shards have answered.
inline std::string reply_of(const commands::plan& plan, std::size_t index) {
  std::string out;
  plan.write_reply(index, out, {});
  return out;
}

// The last step of a command that stores what it computed (SINTERSTORE,
// ZUNIONSTORE, ZRANGESTORE, SORT ... STORE): `bytes`, a serialised value of
// `type` (shard::value_type), replaces `destination` and reports `event`
// (shard::key_event plus one); a result of no elements (count 0) deletes the
// destination instead. `finish` gets :count, or the write's error.
template <class Finish>
void store_result(gateway_actor* self, const std::string& destination, std::string bytes,
                  std::uint8_t type, std::uint8_t event, std::int64_t count, Finish finish) {
  plan_step(
    self,
    [&](commands::plan& next) {
      auto from = next.operations();
      auto& write = next.open(hidden_client(), commands::plan::merge::single);
      if (count == 0)
        next.route(write, shard::op_code::del, destination);
      else
        next.route(write, shard::op_code::restore, destination, bytes,
                   shard::restore_args{0, type, true, event});
      next.note_writes_since(from);
      join_script_writes(self, next);
    },
    [finish, count](commands::plan& next, std::size_t second) mutable {
      auto written = reply_of(next, second);
      if (!written.empty() && written.front() == '-') {
        finish(written);
        return;
      }
      finish(":" + std::to_string(count) + "\r\n");
    });
}

// A stepped command's reply slot and its client's held input, together: the
// function returned fills the reply and lets the client's next commands run.
inline auto begin_steps(gateway_actor* self, connection& conn, commands::plan& work) {
  auto fill = reply_later(self, conn, work);
  conn.waiting_for_step = true;
  auto tag = conn.context.tag;
  return [self, fill, tag](std::string_view resp) mutable {
    fill(resp);
    resume_input(self, tag);
  };
}

// The same for a command that reads before it writes across shards (RENAME,
// MSETNX): its keys are held from now until its reply, so that no other
// client's command on them is planned between its steps.
inline auto begin_holding_steps(gateway_actor* self, connection& conn,
                                commands::plan& work, std::vector<std::string> keys) {
  hold_keys(self, keys);
  auto finish = begin_steps(self, conn, work);
  return [self, finish, keys](std::string_view resp) mutable {
    finish(resp);
    release_keys(self, keys);
  };
}

} // namespace stairkv::gateway
