#include "modules/store/store.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <caf/all.hpp>

#include "modules/commands/plan.hpp"
#include "modules/engine/routing_follower.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/shard/clock.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv {

namespace {

caf::error redis_error(const std::string& message) {
  return caf::make_error(caf::sec::runtime_error, message);
}

struct store_state {
  engine::routing_follower follower{nullptr};
  engine_manager::manager_actor manager;
  memory::budget_ptr memory;
  // Requests planned on a new entry engine while requests to the old one are
  // still out (see routing_follower.hpp), in arrival order.
  std::deque<std::function<void()>> waiting;
  static inline const char* name = "stairkv_store";
};

using store_impl = caf::stateful_actor<store_state>*;

void pump(store_impl self);

void after_answer(store_impl self) {
  auto& st = self->state;
  st.follower.answered();
  pump(self);
  if (auto generation = st.follower.take_acknowledgement())
    self->send(st.manager, engine_manager::applied_atom::value, generation);
}

// Sends a planned command to its shards and calls `finish` when all answered.
template <class Finish>
void send_plan(store_impl self, std::shared_ptr<commands::plan> work,
               Finish finish) {
  self->state.follower.sent(work->entry());
  for (auto shard : work->busy_shards()) {
    self
      ->request(work->routing().shard(shard), caf::infinite,
                work->take_batch(shard))
      .then(
        [self, work, shard, finish](shard::batch_result& result) mutable {
          if (work->deliver(shard, std::move(result))) {
            finish();
            after_answer(self);
          }
        },
        [self, work, finish](caf::error&) mutable {
          if (!work->complete()) {
            work->fail_pending("-ERR shard unavailable\r\n");
            finish();
            after_answer(self);
          }
        });
  }
}

void pump(store_impl self) {
  auto& st = self->state;
  while (!st.waiting.empty() && st.follower.in_flight() == 0) {
    auto next = std::move(st.waiting.front());
    st.waiting.pop_front();
    next();
  }
}

// Runs one command through the same planner the gateways use and fulfils `on_done`
// with its RESP2 reply once every shard involved has answered.
template <class OnDone>
void run(store_impl self, const std::vector<std::string>& args, OnDone on_done) {
  auto& st = self->state;
  auto work = std::make_shared<commands::plan>(st.follower.current(),
                                               shard::unix_now_ms());
  work->refuse_growth(st.memory->refuses_growth());
  std::vector<std::string_view> argv(args.begin(), args.end());
  commands::client_context client;
  if (work->add(client, argv) == commands::outcome::gateway)
    work->add_reply(client, "-ERR this command needs a network connection\r\n");
  auto finish = [work, on_done]() mutable {
    std::string reply;
    work->write_reply(0, reply, nullptr);
    on_done(std::move(reply));
  };
  if (work->busy_shards().empty()) {
    finish();
    return;
  }
  if (st.waiting.empty() && st.follower.may_send(work->entry()))
    send_plan(self, work, finish);
  else
    st.waiting.emplace_back([self, work, finish] { send_plan(self, work, finish); });
}

// Runs a command for a typed request and converts its reply with `convert`.
template <class T, class Convert>
caf::result<T> run_typed(store_impl self, std::vector<std::string> args,
                         Convert convert) {
  auto promise = self->make_response_promise<T>();
  run(self, args, [promise, convert](std::string resp) mutable {
    protocol::reply value;
    auto read = protocol::read_reply(resp, value);
    if (read.status != protocol::read_status::complete) {
      promise.deliver(redis_error("ERR malformed reply"));
      return;
    }
    if (value.type == protocol::reply::kind::error) {
      promise.deliver(redis_error(value.text));
      return;
    }
    convert(promise, value);
  });
  return promise;
}

// The front door is dynamically typed inside (it also follows the engine
// manager's routing snapshots) and handed out as a store_actor.
caf::behavior store_front(store_impl self, engine_manager::manager_actor manager,
                          engine::routing_ptr initial, memory::budget_ptr memory) {
  self->state.follower = engine::routing_follower{std::move(initial)};
  self->state.manager = manager;
  self->state.memory = std::move(memory);
  auto integer_reply = [](auto& promise, protocol::reply& value) {
    promise.deliver(value.integer);
  };
  return {
    [self](engine_manager::routing_atom, engine::routing_ptr& snapshot) {
      auto& st = self->state;
      st.follower.update(std::move(snapshot));
      if (auto generation = st.follower.take_acknowledgement())
        self->send(st.manager, engine_manager::applied_atom::value, generation);
    },
    [self](caf::get_atom, std::string& key) {
      return run_typed<caf::optional<std::string>>(
        self, {"GET", std::move(key)}, [](auto& promise, protocol::reply& value) {
          if (value.type == protocol::reply::kind::null)
            promise.deliver(caf::optional<std::string>{});
          else
            promise.deliver(caf::optional<std::string>{std::move(value.text)});
        });
    },
    [self](caf::put_atom, std::string& key, std::string& value) {
      return run_typed<bool>(self, {"SET", std::move(key), std::move(value)},
                             [](auto& promise, protocol::reply&) {
                               promise.deliver(true);
                             });
    },
    [self](caf::put_atom, std::string& key, std::string& value,
           caf::timespan ttl) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
      return run_typed<bool>(self,
                             {"SET", std::move(key), std::move(value), "PX",
                              std::to_string(ms.count())},
                             [](auto& promise, protocol::reply&) {
                               promise.deliver(true);
                             });
    },
    [self, integer_reply](caf::delete_atom, std::vector<std::string>& keys) {
      keys.insert(keys.begin(), "DEL");
      return run_typed<std::int64_t>(self, std::move(keys), integer_reply);
    },
    [self, integer_reply](exists_atom, std::vector<std::string>& keys) {
      keys.insert(keys.begin(), "EXISTS");
      return run_typed<std::int64_t>(self, std::move(keys), integer_reply);
    },
    [self, integer_reply](incr_atom, std::string& key, std::int64_t delta) {
      return run_typed<std::int64_t>(
        self, {"INCRBY", std::move(key), std::to_string(delta)}, integer_reply);
    },
    [self, integer_reply](size_atom) {
      return run_typed<std::int64_t>(self, {"DBSIZE"}, integer_reply);
    },
    [self](command_atom, std::vector<std::string>& args) {
      auto promise = self->make_response_promise<std::string>();
      run(self, args,
          [promise](std::string resp) mutable { promise.deliver(std::move(resp)); });
      return promise;
    },
  };
}

} // namespace

store_handle spawn_store(caf::actor_system& system, const store_config& config) {
  std::uint32_t flags = 0;
  if (!shard::parse_notify_flags(config.notify_keyspace_events, flags))
    throw std::invalid_argument("invalid notify-keyspace-events letters: "
                                + config.notify_keyspace_events);
  auto notify = std::make_shared<shard::notify_settings>(flags);
  auto figures = std::make_shared<subscription_broker::broker_figures>();
  auto subscriptions = subscription_broker::spawn_subscription_broker(
    system, config.placement, notify, figures);
  auto memory = std::make_shared<memory::budget>();
  memory->set_limit(config.maxmemory);
  memory->set_policy(config.maxmemory_policy);
  memory->set_samples(config.maxmemory_samples);
  engine_manager::manager_config mc;
  mc.shards = shard::shard_context{subscriptions, notify, memory};
  mc.initial_stairs = config.stairs;
  mc.placement = config.placement;
  mc.policy = config.resize;
  mc.sample_interval = config.resize_check_interval;
  mc.log = config.log;
  auto manager = engine_manager::spawn_engine_manager(system, std::move(mc));
  auto front = system.spawn(store_front, manager.actor, manager.initial, memory);
  // Registered before anyone can send it a request: the engine manager must know
  // every router before it retires an engine the router might still use.
  caf::scoped_actor self{system};
  self->request(manager.actor, caf::infinite, engine_manager::subscribe_atom::value, front)
    .receive(
      [&](engine::routing_ptr& current) {
        if (current != manager.initial)
          self->send(front, engine_manager::routing_atom::value, current);
      },
      [](caf::error&) {});
  return store_handle{caf::actor_cast<store_actor>(front), manager.actor,
                      manager.initial, subscriptions, notify, figures, memory};
}

void stop_store(const store_handle& store) {
  if (!store.actor)
    return;
  auto& system = store.actor->home_system();
  caf::scoped_actor self{system};
  // The shards of every engine the manager still holds go with it; they are
  // collected first so that their end can be awaited too.
  std::vector<caf::actor> shards;
  self->request(store.manager, caf::infinite, caf::get_atom::value)
    .receive(
      [&](engine::routing_ptr& current) {
        for (const auto* engine : {current->entry.get(), current->next.get()})
          if (engine != nullptr)
            for (const auto& s : engine->shards)
              shards.push_back(caf::actor_cast<caf::actor>(s));
      },
      [](caf::error&) {});
  caf::anon_send_exit(store.actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store.manager, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(store.subscriptions, caf::exit_reason::user_shutdown);
  // Returning only once they are gone lets the actor system shut down after
  // them, not around them (an I/O-thread actor still holding its servants when
  // the multiplexer stops would never be freed).
  self->wait_for(store.actor, store.manager, store.subscriptions);
  for (const auto& s : shards) {
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    self->wait_for(s);
  }
}

void add_store_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<caf::optional<std::string>>("stairkv::optional_string");
  cfg.add_message_type<std::vector<std::string>>("stairkv::string_list");
}

} // namespace stairkv
