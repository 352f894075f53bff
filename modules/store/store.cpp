#include "modules/store/store.hpp"

#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <caf/all.hpp>
#include <caf/detail/type_erased_value_impl.hpp>

#include "modules/commands/command_table.hpp"
#include "modules/commands/plan.hpp"
#include "modules/commands/plan_dispatcher.hpp"
#include "modules/protocol/errors.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/shard/clock.hpp"
#include "modules/store/pubsub_requests.hpp"
#include "modules/subscription_broker/subscription_broker.hpp"

namespace stairkv::loading {

// One step of loading the append-only file (see persistence::replay_step).
using load_step = persistence::replay_step;

using load_chunk = std::vector<load_step>;
using load_atom = caf::atom_constant<caf::atom("load")>;

} // namespace stairkv::loading

// Loading happens inside one process, before anyone else talks to the store.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const stairkv::loading::load_chunk>)

// Debian's libcaf_io.so.0.17.6 exports its own weak copy of the type-erased
// holder of a caf::timespan whose load() reads nothing, and a program that never
// builds a timespan message itself binds to that copy: a TTL that came over the
// wire arrived as zero. Instantiated here, the holder every program linking the
// store uses is CAF's real one (tests/remote: TypedTtlsAndMultiKeyMessagesCrossTheWire).
template class caf::detail::type_erased_value_impl<caf::timespan>;

namespace stairkv {

namespace {

using loading::load_atom;
using loading::load_chunk;
using loading::load_step;

caf::error redis_error(const std::string& message) {
  return caf::make_error(caf::sec::runtime_error, message);
}

struct store_state;
using store_impl = caf::stateful_actor<store_state>*;

struct store_state {
  // Sends plans to the shards, as the gateways' dispatcher does.
  commands::plan_dispatcher<caf::stateful_actor<store_state>> dispatcher{nullptr};
  engine_manager::manager_actor manager;
  memory::budget_ptr memory;
  persistence::status_ptr persistence;
  // The node's gateway, once there is one: requests are planned there, in the
  // node's one plan order (commands::sequence_atom), not by this actor.
  caf::actor sequencer;
  shard::notify_settings_ptr notify; // orders a multi-shard plan's events
  caf::actor subscriptions;          // the subscription broker
  // The numbering of the databases: this actor's requests work on number 0.
  engine::database_map_ptr databases;
  // The client its own plans are made for (no connection, RESP2, database 0).
  commands::client_context client() const {
    commands::client_context c;
    c.databases = databases.get();
    c.db = databases->physical(0);
    return c;
  }
  static inline const char* name = "stairkv_store";
};

// Hands commands to the sequencer; `on_done` gets their replies (each one the
// same error when the sequencer cannot be reached).
template <class OnDone>
void run_in_sequence(store_impl self, std::vector<std::vector<std::string>> commands,
                     bool transaction, OnDone on_done) {
  auto count = commands.size();
  self->request(self->state.sequencer, caf::infinite, commands::sequence_atom::value,
                std::move(commands), transaction)
    .then([on_done](std::vector<std::string>& replies) mutable { on_done(std::move(replies)); },
          [on_done, count](caf::error&) mutable {
            on_done(std::vector<std::string>(
              count, protocol::errors::as_reply(protocol::errors::shard_unavailable)));
          });
}

// Tells the engine manager the switch to a new entry engine is done, once no
// request to the old one is out.
void acknowledge_switch(store_impl self) {
  auto& st = self->state;
  if (auto generation = st.dispatcher.take_acknowledgement())
    self->send(st.manager, engine_manager::applied_atom::value, generation);
}

// Sends a plan through the dispatcher; `finish` once its shards have answered.
template <class Finish>
void dispatch(store_impl self, commands::plan_ptr work, Finish finish) {
  if (const auto& notify = self->state.notify;
      notify && shard::recorded_classes(notify->load()) != 0)
    work->order_group_events(true);
  self->state.dispatcher.submit(self, std::move(work),
                                [self, finish](const commands::plan_ptr&) mutable {
                                  finish();
                                  acknowledge_switch(self);
                                });
}

// Runs one command through the same planner the gateways use and fulfils `on_done`
// with its RESP2 reply once every shard involved has answered.
template <class OnDone>
void run(store_impl self, const std::vector<std::string>& args, OnDone on_done) {
  auto& st = self->state;
  if (st.sequencer) {
    run_in_sequence(self, {args}, false,
                    [on_done](std::vector<std::string> replies) mutable {
                      on_done(std::move(replies.front()));
                    });
    return;
  }
  auto now = shard::unix_now_ms();
  auto work = std::make_shared<commands::plan>(st.dispatcher.routing(), now);
  work->refuse_growth(st.memory->refuses_growth(now));
  work->refuse_writes(st.persistence->refusal());
  std::vector<std::string_view> argv(args.begin(), args.end());
  auto client = st.client();
  if (work->add(client, argv) == commands::outcome::gateway)
    work->add_reply(client, "-ERR this command needs a network connection\r\n");
  auto finish = [work, on_done]() mutable {
    std::string reply;
    work->write_reply(0, reply, nullptr);
    on_done(std::move(reply));
  };
  dispatch(self, work, finish);
}

// Runs a transaction's commands as one plan, in order (see store_actor).
template <class OnDone, class OnRefused>
void run_transaction(store_impl self, const std::vector<std::vector<std::string>>& commands,
                     OnDone on_done, OnRefused on_refused) {
  std::vector<std::string_view> argv;
  for (const auto& command : commands) {
    argv.assign(command.begin(), command.end());
    const auto* spec = argv.empty() ? nullptr : commands::find_command(argv[0]);
    std::string why;
    if (spec == nullptr)
      why = commands::unknown_command_error(argv);
    else if (!commands::arity_ok(*spec, argv.size()))
      why = protocol::errors::wrong_arity(spec->name);
    else if (spec->run == nullptr && std::string_view{spec->name} != "select")
      why = "ERR '" + std::string{spec->name} + "' needs a network connection";
    if (!why.empty()) {
      on_refused("EXECABORT Transaction discarded because of previous errors: " + why);
      return;
    }
  }
  auto& st = self->state;
  if (st.sequencer) {
    run_in_sequence(self, commands, true, std::move(on_done));
    return;
  }
  auto now = shard::unix_now_ms();
  auto work = std::make_shared<commands::plan>(st.dispatcher.routing(), now);
  work->refuse_growth(st.memory->refuses_growth(now));
  work->refuse_writes(st.persistence->refusal());
  auto client = st.client();
  auto from = work->operations();
  bool writes = false;
  for (const auto& command : commands) {
    argv.assign(command.begin(), command.end());
    const auto* spec = commands::find_command(argv[0]);
    if (std::string_view{spec->name} == "select") {
      commands::select_within(*work, client, argv[1]);
      continue;
    }
    writes = writes || (spec->flags & commands::flag::write) != 0;
    work->add(client, argv);
  }
  if (writes)
    work->note_writes_since(from); // whole in the append-only file, or not at all
  auto finish = [work, on_done]() mutable {
    std::vector<std::string> replies(work->size());
    for (std::size_t i = 0; i < replies.size(); ++i)
      work->write_reply(i, replies[i], nullptr);
    on_done(std::move(replies));
  };
  dispatch(self, work, finish);
}

// Applies a chunk of loaded changes as one plan, in order; `on_done` once every
// shard has answered.
template <class OnDone>
void run_load(store_impl self, const load_chunk& chunk, OnDone on_done) {
  auto& st = self->state;
  auto work = std::make_shared<commands::plan>(st.dispatcher.routing(),
                                               shard::unix_now_ms());
  for (const auto& step : chunk)
    commands::plan_replay_step(*work, {}, step);
  auto finish = [on_done]() mutable { on_done(); };
  dispatch(self, work, finish);
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
                          engine::routing_ptr initial, memory::budget_ptr memory,
                          persistence::status_ptr persistence,
                          shard::notify_settings_ptr notify,
                          engine::database_map_ptr databases, caf::actor subscriptions) {
  self->state.notify = std::move(notify);
  self->state.subscriptions = std::move(subscriptions);
  self->state.databases = std::move(databases);
  self->state.dispatcher
    = commands::plan_dispatcher<caf::stateful_actor<store_state>>{std::move(initial)};
  self->state.manager = manager;
  self->state.memory = std::move(memory);
  self->state.persistence = std::move(persistence);
  auto integer_reply = [](auto& promise, protocol::reply& value) {
    promise.deliver(value.integer);
  };
  // The subscription interface (subscriptions.hpp) is the broker's: the front
  // hands each message on, and the broker answers the sender itself.
  auto to_broker = [self](auto atom, subscriber_actor& who, std::vector<std::string>& names) {
    return self->delegate(self->state.subscriptions, atom, caf::actor_cast<caf::actor>(who),
                          std::move(names));
  };
  return {
    [self](engine_manager::routing_atom, engine::routing_ptr& snapshot) {
      self->state.dispatcher.update(std::move(snapshot));
      acknowledge_switch(self);
    },
    [self](commands::sequencer_atom, caf::actor& sequencer) {
      self->state.sequencer = std::move(sequencer);
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
    [self](mget_atom, std::vector<std::string>& keys) {
      keys.insert(keys.begin(), "MGET");
      return run_typed<std::vector<caf::optional<std::string>>>(
        self, std::move(keys), [](auto& promise, protocol::reply& value) {
          std::vector<caf::optional<std::string>> values;
          values.reserve(value.elements.size());
          for (auto& element : value.elements)
            if (element.type == protocol::reply::kind::null)
              values.emplace_back();
            else
              values.emplace_back(std::move(element.text));
          promise.deliver(std::move(values));
        });
    },
    [self](mset_atom, std::vector<std::pair<std::string, std::string>>& pairs) {
      std::vector<std::string> args{"MSET"};
      args.reserve(1 + 2 * pairs.size());
      for (auto& [key, value] : pairs) {
        args.push_back(std::move(key));
        args.push_back(std::move(value));
      }
      return run_typed<bool>(self, std::move(args),
                             [](auto& promise, protocol::reply&) { promise.deliver(true); });
    },
    [self](expire_atom, std::string& key, caf::timespan ttl) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
      return run_typed<bool>(self, {"PEXPIRE", std::move(key), std::to_string(ms.count())},
                             [](auto& promise, protocol::reply& value) {
                               promise.deliver(value.integer == 1);
                             });
    },
    [self, integer_reply](ttl_atom, std::string& key) {
      return run_typed<std::int64_t>(self, {"PTTL", std::move(key)}, integer_reply);
    },
    [to_broker](subscribe_atom atom, subscriber_actor& who, std::vector<std::string>& names) {
      return to_broker(atom, who, names);
    },
    [to_broker](unsubscribe_atom atom, subscriber_actor& who,
                std::vector<std::string>& names) {
      return to_broker(atom, who, names);
    },
    [to_broker](psubscribe_atom atom, subscriber_actor& who, std::vector<std::string>& names) {
      return to_broker(atom, who, names);
    },
    [to_broker](punsubscribe_atom atom, subscriber_actor& who,
                std::vector<std::string>& names) {
      return to_broker(atom, who, names);
    },
    [self](publish_atom atom, std::string& channel, std::string& message) {
      return self->delegate(self->state.subscriptions, atom, std::move(channel),
                            std::move(message));
    },
    [self, integer_reply](incr_atom, std::string& key, std::int64_t delta) {
      return run_typed<std::int64_t>(
        self, {"INCRBY", std::move(key), std::to_string(delta)}, integer_reply);
    },
    [self, integer_reply](size_atom) {
      return run_typed<std::int64_t>(self, {"DBSIZE"}, integer_reply);
    },
    [self](load_atom, std::shared_ptr<const load_chunk>& chunk) {
      auto promise = self->make_response_promise<bool>();
      run_load(self, *chunk, [promise]() mutable { promise.deliver(true); });
      return promise;
    },
    [self](command_atom, std::vector<std::string>& args) {
      auto promise = self->make_response_promise<std::string>();
      if (pubsub_requests::answered_by_broker(args)) {
        pubsub_requests::answer(self, self->state.subscriptions, args,
                                [promise](std::string resp) mutable {
                                  promise.deliver(std::move(resp));
                                });
        return promise;
      }
      run(self, args,
          [promise](std::string resp) mutable { promise.deliver(std::move(resp)); });
      return promise;
    },
    [self](command_atom, std::int32_t db, std::vector<std::string>& args) {
      // One plan: SELECT db, then the command; its reply is the second.
      auto promise = self->make_response_promise<std::string>();
      if (db < 0 || db >= static_cast<std::int32_t>(self->state.databases->count())) {
        promise.deliver(protocol::errors::as_reply(engine::database_map::out_of_range));
        return promise;
      }
      std::vector<std::vector<std::string>> commands{{"SELECT", std::to_string(db)},
                                                     std::move(args)};
      run_transaction(
        self, commands,
        [promise](std::vector<std::string> replies) mutable {
          promise.deliver(replies.size() > 1 ? std::move(replies[1]) : std::string{});
        },
        [promise](const std::string& why) mutable {
          promise.deliver("-" + why.substr(why.find(':') + 2) + "\r\n");
        });
      return promise;
    },
    [self](transaction_atom, std::int32_t db,
           std::vector<std::vector<std::string>>& commands) {
      auto promise = self->make_response_promise<std::vector<std::string>>();
      if (db < 0 || db >= static_cast<std::int32_t>(self->state.databases->count())) {
        promise.deliver(redis_error(std::string{engine::database_map::out_of_range}));
        return promise;
      }
      commands.insert(commands.begin(), {"SELECT", std::to_string(db)});
      run_transaction(
        self, commands,
        [promise](std::vector<std::string> replies) mutable {
          replies.erase(replies.begin()); // SELECT's +OK
          promise.deliver(std::move(replies));
        },
        [promise](const std::string& why) mutable { promise.deliver(redis_error(why)); });
      return promise;
    },
    [self](transaction_atom, std::vector<std::vector<std::string>>& commands) {
      auto promise = self->make_response_promise<std::vector<std::string>>();
      run_transaction(
        self, commands,
        [promise](std::vector<std::string> replies) mutable {
          promise.deliver(std::move(replies));
        },
        [promise](const std::string& why) mutable { promise.deliver(redis_error(why)); });
      return promise;
    },
  };
}

} // namespace


// Replays the append-only file (or a snapshot, in the same format) through the
// front actor, a chunk at a time.
void load_file(caf::actor_system& system, const caf::actor& front,
               const store_config& config, const std::string& path,
               persistence::status& figures, persistence::function_catalog& functions,
               engine::database_map& databases) {
  constexpr std::size_t chunk_size = 4096;
  caf::scoped_actor self{system};
  auto chunk = std::make_shared<load_chunk>();
  auto now = shard::unix_now_ms();
  auto send = [&] {
    if (chunk->empty())
      return;
    std::shared_ptr<const load_chunk> ready = std::move(chunk);
    chunk = std::make_shared<load_chunk>();
    self->request(front, caf::infinite, load_atom::value, ready)
      .receive([](bool) {}, [](caf::error&) {});
  };
  figures.loading.store(true, std::memory_order_relaxed);
  auto result = persistence::load_aof(path, [&](const persistence::AofRecord& r) {
    if (r.has_functions()) {
      functions.set({r.functions().code().begin(), r.functions().code().end()});
      return;
    }
    if (r.has_databases()) {
      if (!databases.assign(r.databases().physical()) && config.log)
        config.log("Ignored a numbering of " + std::to_string(r.databases().physical().size())
                   + " databases (this node has " + std::to_string(databases.count())
                   + "): numbers name their own databases");
      return;
    }
    auto step = persistence::replay_step_of(r, now);
    if (step.skip)
      return;
    chunk->push_back(std::move(step));
    if (chunk->size() >= chunk_size)
      send();
  });
  send();
  figures.loading.store(false, std::memory_order_relaxed);
  if (result.partial_shares > 0 && config.log)
    config.log("Skipped " + std::to_string(result.partial_shares)
               + " share(s) of multi-shard changes the append-only file does not "
                 "hold whole (a crash came between their shards' writes), so that none "
                 "of them is half applied");
  switch (result.outcome) {
    case persistence::load_outcome::missing:
      break;
    case persistence::load_outcome::complete:
      if (config.log)
        config.log("DB loaded from " + path + ": " + std::to_string(result.records)
                   + " records");
      break;
    case persistence::load_outcome::truncated:
      if (config.log)
        config.log(result.message);
      break;
    case persistence::load_outcome::corrupt:
      throw std::runtime_error(result.message);
  }
}

store_handle spawn_store(caf::actor_system& system, const store_config& config) {
  std::uint32_t flags = 0;
  if (!shard::parse_notify_flags(config.notify_keyspace_events, flags))
    throw std::invalid_argument("invalid notify-keyspace-events letters: "
                                + config.notify_keyspace_events);
  auto notify = std::make_shared<shard::notify_settings>(flags);
  auto figures = std::make_shared<subscription_broker::broker_figures>();
  auto databases = std::make_shared<engine::database_map>(config.databases);
  auto tracking = std::make_shared<tracking::settings>();
  tracking->max_keys.store(config.tracking_table_max_keys);
  auto subscriptions = subscription_broker::spawn_subscription_broker(
    system, config.placement, notify, figures, databases, tracking);
  auto persistence_figures = std::make_shared<persistence::status>();
  auto functions = std::make_shared<persistence::function_catalog>();
  persistence::aof_link_ptr aof;
  if (config.appendonly) {
    // Shards record nothing until the file is loaded and the writer runs.
    aof = std::make_shared<persistence::aof_link>();
    aof->policy = config.appendfsync;
  }
  auto memory = std::make_shared<memory::budget>();
  memory->set_limit(config.maxmemory);
  memory->set_policy(config.maxmemory_policy);
  memory->set_samples(config.maxmemory_samples);
  engine_manager::manager_config mc;
  auto active_expiry = std::make_shared<expiry::active_expiry>();
  auto encodings = std::make_shared<values::encoding_settings>();
  encodings->hash_max_entries.store(config.hash_max_listpack_entries);
  encodings->hash_max_value.store(config.hash_max_listpack_value);
  encodings->set_max_intset_entries.store(config.set_max_intset_entries);
  encodings->set_max_entries.store(config.set_max_listpack_entries);
  encodings->set_max_value.store(config.set_max_listpack_value);
  encodings->zset_max_entries.store(config.zset_max_listpack_entries);
  encodings->zset_max_value.store(config.zset_max_listpack_value);
  encodings->list_max_listpack_size.store(config.list_max_listpack_size);
  mc.shards = shard::shard_context{subscriptions, notify, memory, aof,
                                   persistence_figures, active_expiry, config.latency,
                                   encodings};
  mc.shards.tracking = tracking;
  mc.initial_stairs = config.stairs;
  mc.placement = config.placement;
  mc.policy = config.resize;
  mc.sample_interval = config.resize_check_interval;
  mc.log = config.log;
  auto manager = engine_manager::spawn_engine_manager(system, std::move(mc));
  auto front = system.spawn(store_front, manager.actor, manager.initial, memory,
                            persistence_figures, notify, databases, subscriptions);
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
  store_handle handle{caf::actor_cast<store_actor>(front), manager.actor,
                      manager.initial, subscriptions, notify, figures, memory,
                      persistence_figures, caf::actor{}, caf::actor{}, functions,
                      active_expiry, config.latency, encodings, databases};
  handle.tracking = tracking;
  bool rewrite_at_start = false;
  try {
    if (aof) {
      // Loaded (and a torn tail cut off) before the writer opens the file to
      // append after the last good record. With the append-only file, it alone
      // is loaded, as in Redis: it holds everything a snapshot would. When it
      // does not exist yet but a snapshot does (the append-only file was just
      // turned on), the snapshot is loaded and rewritten into it below.
      auto path = config.dir + "/" + config.appendfilename;
      struct stat info {};
      if (::stat(path.c_str(), &info) != 0
          && ::stat((config.dir + "/" + config.dbfilename).c_str(), &info) == 0) {
        load_file(system, front, config, config.dir + "/" + config.dbfilename,
                  *persistence_figures, *functions, *databases);
        rewrite_at_start = true;
      }
      load_file(system, front, config, path, *persistence_figures, *functions, *databases);
      persistence::aof_config ac;
      ac.path = path;
      ac.policy = config.appendfsync;
      ac.figures = persistence_figures;
      ac.log = config.log;
      ac.auto_rewrite_percentage = config.auto_aof_rewrite_percentage;
      ac.auto_rewrite_min_size = config.auto_aof_rewrite_min_size;
      ac.latency = config.latency;
      aof->writer = persistence::spawn_aof_writer(system, ac);
      handle.aof_writer = aof->writer;
      // Publishes the writer to the shards with the switch (they read it with
      // acquire).
      aof->enabled.store(true, std::memory_order_release);
    } else {
      load_file(system, front, config, config.dir + "/" + config.dbfilename,
                *persistence_figures, *functions, *databases);
    }
  } catch (...) {
    stop_store(handle);
    throw;
  }
  // What was loaded is on disk already.
  persistence_figures->changes_since_save.store(0, std::memory_order_relaxed);
  persistence::saver_config sc;
  sc.manager = manager.actor;
  sc.aof_writer = handle.aof_writer;
  sc.figures = persistence_figures;
  sc.dir = config.dir;
  sc.dbfilename = config.dbfilename;
  sc.appendfilename = config.appendfilename;
  sc.rules = config.save;
  sc.log = config.log;
  sc.latency = config.latency;
  sc.functions = functions;
  sc.databases = [databases] { return databases->copy(); };
  handle.saver = persistence::spawn_saver(system, std::move(sc));
  if (rewrite_at_start)
    caf::anon_send(handle.saver, persistence::bgrewrite_atom::value);
  return handle;
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
  if (store.saver) {
    caf::anon_send_exit(store.saver, caf::exit_reason::user_shutdown);
    self->wait_for(store.saver);
  }
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
  // Last: the shards' final changes are in its mailbox; it writes and syncs
  // them before it ends.
  if (store.aof_writer) {
    caf::anon_send_exit(store.aof_writer, caf::exit_reason::user_shutdown);
    self->wait_for(store.aof_writer);
  }
}

void order_through(const store_handle& store, caf::actor router) {
  caf::anon_send(caf::actor_cast<caf::actor>(store.actor), commands::sequencer_atom::value,
                 std::move(router));
}

void add_store_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<caf::optional<std::string>>("stairkv::optional_string");
  cfg.add_message_type<std::vector<std::string>>("stairkv::string_list");
  cfg.add_message_type<std::vector<std::vector<std::string>>>("stairkv::command_list");
  cfg.add_message_type<std::vector<caf::optional<std::string>>>(
    "stairkv::optional_string_list");
  cfg.add_message_type<std::vector<std::pair<std::string, std::string>>>(
    "stairkv::string_pair_list");
  cfg.add_message_type<subscriber_actor>("stairkv::subscriber_actor");
}

} // namespace stairkv
