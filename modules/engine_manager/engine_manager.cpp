#include "modules/engine_manager/engine_manager.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>


namespace stairkv::engine_manager {

namespace {

using clock = std::chrono::steady_clock;

struct manager_state {
  manager_config config;
  resize_rules rules;
  engine::routing_ptr current;
  std::vector<caf::actor> routers;
  // A resize in progress.
  engine::layout_ptr next;
  std::size_t shards_migrated = 0;
  std::uint64_t moved = 0;
  clock::time_point started;
  std::vector<caf::actor_addr> owing; // routers yet to acknowledge the switch
  engine::layout_ptr retiring;        // the old engine, until they have
  unsigned queued_stairs = 0;         // a resize asked for while one was running
  bool sampling = false;
  unsigned holds = 0;                 // granted holds (no resize starts)
  std::vector<caf::response_promise> hold_waiters; // holds asked during a resize

  static inline const char* name = "engine_manager";
};

// The manager runs where the shards run: on the I/O thread as a broker with
// placement io (so that sampling never wakes a scheduler thread, whose idle
// polling would take CPU from the clients on a small machine), or on the
// scheduler. Every function below works with either host.
using manager_on_scheduler = caf::stateful_actor<manager_state>;
using manager_on_io_thread = caf::io::stateful_broker<manager_state>;

std::string describe(const engine::layout& l) {
  return std::to_string(l.stairs) + " stairs (" + std::to_string(l.shards.size())
         + " shards)";
}

template <class Self>
void log(Self* self, const std::string& line) {
  if (self->state.config.log)
    self->state.config.log(line);
}

template <class Self>
void publish(Self* self, engine::routing_ptr snapshot) {
  self->state.current = std::move(snapshot);
  for (auto& router : self->state.routers)
    caf::anon_send(router, routing_atom::value, self->state.current);
}

void kill_engine(const engine::layout_ptr& l) {
  if (!l)
    return;
  for (auto& s : l->shards)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

template <class Self>
bool start_resize(Self* self, unsigned stairs);

// Grants the holds asked for during a resize, once it is over.
template <class Self>
void grant_holds(Self* self) {
  auto& st = self->state;
  for (auto& p : st.hold_waiters) {
    ++st.holds;
    p.deliver(st.current);
  }
  st.hold_waiters.clear();
}

template <class Self>
void retire_if_acknowledged(Self* self) {
  auto& st = self->state;
  if (!st.retiring || !st.owing.empty())
    return;
  kill_engine(st.retiring);
  st.retiring.reset();
  grant_holds(self);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now()
                                                                    - st.started);
  log(self, "resize finished: now " + describe(*st.current->entry) + ", "
              + std::to_string(st.moved) + " keys moved in "
              + std::to_string(took.count()) + " ms");
  if (auto stairs = std::exchange(st.queued_stairs, 0))
    start_resize(self, stairs);
}

template <class Self>
bool start_resize(Self* self, unsigned stairs) {
  auto& st = self->state;
  if (stairs < 1 || stairs > engine::max_stairs)
    return false;
  if (st.next || st.retiring || st.holds > 0) {
    st.queued_stairs = stairs; // runs when the current resize (or hold) has ended
    return true;
  }
  if (stairs == st.current->entry->stairs)
    return true;
  const auto& old = *st.current->entry;
  st.next = engine::spawn_engine(self->system(), stairs, st.config.placement,
                                 old.generation + 1, st.config.shards);
  st.shards_migrated = 0;
  st.moved = 0;
  st.started = clock::now();
  log(self, "resize started: " + describe(old) + " -> " + describe(*st.next));
  std::vector<caf::actor> targets;
  for (auto& s : st.next->shards)
    targets.push_back(caf::actor_cast<caf::actor>(s));
  for (std::size_t i = 0; i < old.shards.size(); ++i) {
    shard::migration_order order;
    order.targets = targets;
    order.target_stairs = stairs;
    order.source_stairs = old.stairs;
    order.source_index = i;
    order.manager = caf::actor_cast<caf::actor>(self->ctrl());
    self->send(old.shards[i], shard::migrate_atom::value, std::move(order));
  }
  auto snapshot = std::make_shared<engine::routing>(*st.current);
  snapshot->next = st.next;
  snapshot->status.migrating = true;
  publish(self, snapshot);
  return true;
}

template <class Self>
void finish_migration(Self* self) {
  auto& st = self->state;
  auto old = st.current->entry;
  auto status = st.current->status;
  status.generation = st.next->generation;
  status.migrating = false;
  status.keys_migrated += st.moved;
  if (st.next->stairs > old->stairs)
    ++status.resizes_up;
  else
    ++status.resizes_down;
  status.last_resize_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            clock::now() - st.started)
                            .count();
  auto snapshot = engine::settled_routing(st.next, status);
  st.next.reset();
  st.retiring = old;
  st.owing.clear();
  for (auto& r : st.routers)
    st.owing.push_back(r.address());
  publish(self, snapshot);
  retire_if_acknowledged(self);
}

// Asks every shard of the current engine for its statistics, then decides.
// The next sample is sent without a sender: a message that carries a strong
// handle to its own receiver would keep a terminated manager alive if it is
// still queued when the manager ends.
template <class Self>
void schedule_sample(Self* self) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         self->state.config.sample_interval, sample_atom::value);
}

template <class Self>
void sample(Self* self) {
  auto& st = self->state;
  if (st.sampling || st.next || st.retiring || st.holds > 0)
    return;
  st.sampling = true;
  auto routing = st.current;
  struct tally {
    load_sample total;
    std::size_t waiting;
  };
  auto t = std::make_shared<tally>(tally{{}, routing->entry->shards.size()});
  for (auto& s : routing->entry->shards) {
    shard::batch ask;
    ask.add(shard::op_code::stats, {});
    self->request(s, std::chrono::seconds{5}, std::move(ask))
      .then(
        [self, t, routing](shard::batch_result& r) {
          if (const auto* share = r.share(0)) {
            t->total.keys += static_cast<std::uint64_t>(share->stats.keys);
            t->total.backlog += static_cast<std::uint64_t>(share->stats.backlog);
          }
          if (--t->waiting > 0)
            return;
          auto& st = self->state;
          st.sampling = false;
          if (st.current != routing)
            return;
          auto stairs = routing->entry->stairs;
          auto wanted = st.rules.decide(stairs, t->total);
          if (wanted != stairs)
            start_resize(self, wanted);
        },
        [self](caf::error&) { self->state.sampling = false; });
  }
}

template <class Self>
caf::behavior manager(Self* self, manager_config config, engine::layout_ptr first) {
  auto& st = self->state;
  st.config = std::move(config);
  st.rules = resize_rules{st.config.policy};
  st.current = engine::settled_routing(std::move(first));
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    st.routers.erase(std::remove_if(st.routers.begin(), st.routers.end(),
                                    [&](const caf::actor& a) {
                                      return a.address() == msg.source;
                                    }),
                     st.routers.end());
    st.owing.erase(std::remove(st.owing.begin(), st.owing.end(), msg.source),
                   st.owing.end());
    retire_if_acknowledged(self);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    kill_engine(st.current->entry);
    kill_engine(st.next);
    kill_engine(st.retiring);
    self->quit(msg.reason);
  });
  if (st.config.sample_interval.count() > 0)
    schedule_sample(self);
  return {
    [self](subscribe_atom, caf::actor router) -> engine::routing_ptr {
      self->monitor(router);
      self->state.routers.push_back(router);
      return self->state.current;
    },
    [self](applied_atom, std::uint64_t generation) {
      auto& st = self->state;
      if (generation != st.current->status.generation)
        return;
      auto sender = self->current_sender();
      if (!sender)
        return;
      auto addr = caf::actor_cast<caf::actor_addr>(sender);
      st.owing.erase(std::remove(st.owing.begin(), st.owing.end(), addr),
                     st.owing.end());
      retire_if_acknowledged(self);
    },
    [self](shard::migrated_atom, std::uint64_t, std::uint64_t moved) {
      auto& st = self->state;
      if (!st.next)
        return;
      st.moved += moved;
      if (++st.shards_migrated == st.current->entry->shards.size())
        finish_migration(self);
    },
    [self](resize_atom, unsigned stairs) { return start_resize(self, stairs); },
    [self](caf::get_atom) { return self->state.current; },
    [self](hold_atom) -> caf::result<engine::routing_ptr> {
      auto& st = self->state;
      if (!st.next && !st.retiring) {
        ++st.holds;
        return st.current;
      }
      st.hold_waiters.push_back(self->make_response_promise());
      return caf::delegated<engine::routing_ptr>{};
    },
    [self](release_atom) {
      auto& st = self->state;
      if (st.holds > 0 && --st.holds == 0)
        if (auto stairs = std::exchange(st.queued_stairs, 0))
          start_resize(self, stairs);
    },
    [self](sample_atom) {
      sample(self);
      schedule_sample(self);
    },
  };
}

} // namespace

spawned_manager spawn_engine_manager(caf::actor_system& system,
                                     manager_config config) {
  auto first = engine::spawn_engine(system, config.initial_stairs, config.placement,
                                    1, config.shards);
  caf::actor actor;
  if (config.placement == shard::placement::io_thread)
    actor = system.middleman().spawn_broker(manager<manager_on_io_thread>,
                                            std::move(config), first);
  else
    actor = system.spawn(manager<manager_on_scheduler>, std::move(config), first);
  return {caf::actor_cast<manager_actor>(actor), engine::settled_routing(first)};
}

} // namespace stairkv::engine_manager
