#pragma once

// Sends plans to their shards for a router (a gateway, the embedding front
// actor): one batch per busy shard, plans in the order they are handed in, and
// never plans of two entry engines in flight at once (routing_follower.hpp), so
// the operations of one client on one key reach the key's owner in order across
// a resize. When every shard of a plan has answered (or one could not be
// reached), the router's callback gets the plan, complete or for its externals.
//
// Lives in the router's actor state and runs only in that actor: nothing locks.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "modules/commands/plan.hpp"
#include "modules/engine/routing_follower.hpp"
#include "modules/protocol/errors.hpp"

namespace stairkv::commands {

// One plan order for every sender of a node: the store's front actor, told of
// the node's gateway by (sequencer_atom, actor), hands each request to it as
// (sequence_atom, commands, bool transaction) -> each command's RESP2 reply,
// and the gateway plans it among its own clients' plans.
using sequence_atom = caf::atom_constant<caf::atom("sequence")>;
using sequencer_atom = caf::atom_constant<caf::atom("sequencer")>;

using plan_ptr = std::shared_ptr<plan>;

template <class Self>
class plan_dispatcher {
public:
  // Runs once the plan's shards have all answered (at once for a plan with no
  // shard work).
  using answered_fn = std::function<void(const plan_ptr&)>;

  explicit plan_dispatcher(engine::routing_ptr initial) : follower_(std::move(initial)) {
  }

  // The routing snapshot new plans are built on.
  const engine::routing_ptr& routing() const noexcept {
    return follower_.current();
  }

  // A newer snapshot from the engine manager (older ones are ignored).
  void update(engine::routing_ptr next) {
    follower_.update(std::move(next));
  }

  // Sends `work` now, or once it may go (after every plan handed in before it).
  void submit(Self* self, plan_ptr work, answered_fn answered) {
    waiting_.push_back(pending{std::move(work), std::move(answered)});
    pump(self);
  }

  // The generation to acknowledge to the engine manager, once nothing planned
  // on an older entry engine is in flight or waiting; `building` is a plan the
  // router is still filling (it counts too), or nullptr. 0: nothing to do yet.
  std::uint64_t take_acknowledgement(const plan* building = nullptr) {
    const auto* current = follower_.current()->entry.get();
    if (building != nullptr && building->entry() != current)
      return 0;
    for (const auto& p : waiting_)
      if (p.work->entry() != current)
        return 0;
    return follower_.take_acknowledgement();
  }

  // Plans sent and not yet answered.
  std::size_t in_flight() const noexcept {
    return follower_.in_flight();
  }

private:
  struct pending {
    plan_ptr work;
    answered_fn answered;
  };

  void pump(Self* self) {
    while (!waiting_.empty() && follower_.may_send(waiting_.front().work->entry())) {
      auto next = std::move(waiting_.front());
      waiting_.pop_front();
      send(self, std::move(next));
    }
  }

  void send(Self* self, pending p) {
    if (p.work->busy_shards().empty()) {
      p.answered(p.work);
      return;
    }
    follower_.sent(p.work->entry());
    // Each shard's reply handler holds the plan and the callback (a reference
    // count and a small callable: nothing allocated per plan here).
    for (auto shard : p.work->busy_shards()) {
      self->request(p.work->routing().shard(shard), caf::infinite, p.work->take_batch(shard))
        .then(
          [this, self, work = p.work, answered = p.answered,
           shard](shard::batch_result& result) {
            if (work->shards_answered())
              return; // already answered: a shard failed earlier
            work->deliver(shard, std::move(result));
            if (work->shards_answered())
              finish(self, work, answered);
          },
          [this, self, work = p.work, answered = p.answered](caf::error&) {
            if (work->shards_answered())
              return;
            work->fail_pending(
              protocol::errors::as_reply(protocol::errors::shard_unavailable));
            finish(self, work, answered);
          });
    }
  }

  void finish(Self* self, const plan_ptr& work, const answered_fn& answered) {
    follower_.answered();
    answered(work);
    pump(self);
  }

  engine::routing_follower follower_;
  std::deque<pending> waiting_;
};

} // namespace stairkv::commands
