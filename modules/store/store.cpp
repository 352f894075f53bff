#include "modules/store/store.hpp"

#include <chrono>
#include <memory>
#include <string_view>

#include <caf/all.hpp>

#include "modules/commands/plan.hpp"
#include "modules/protocol/reply_reader.hpp"
#include "modules/shard/clock.hpp"

namespace stairkv {

namespace {


caf::error redis_error(const std::string& message) {
  return caf::make_error(caf::sec::runtime_error, message);
}

struct store_state {
  engine::layout_ptr routing;
  static inline const char* name = "stairkv_store";
};

using store_impl = store_actor::stateful_pointer<store_state>;

// Runs one command through the same planner the gateways use and fulfils `on_done`
// with its RESP2 reply once every shard involved has answered.
template <class OnDone>
void run(store_impl self, const std::vector<std::string>& args, OnDone on_done) {
  auto work = std::make_shared<commands::plan>(self->state.routing,
                                               shard::unix_now_ms());
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
  for (auto shard : work->busy_shards()) {
    self
      ->request(work->routing().shards[shard], caf::infinite,
                work->take_batch(shard))
      .then(
        [work, shard, finish](shard::batch_result& result) mutable {
          if (work->deliver(shard, std::move(result)))
            finish();
        },
        [work, finish](caf::error&) mutable {
          if (!work->complete()) {
            work->fail_pending("-ERR shard unavailable\r\n");
            finish();
          }
        });
  }
}

// Runs a command for a typed request and converts its reply with `convert`, which
// returns a caf::result-compatible value.
template <class T, class Convert>
caf::result<T> run_typed(store_impl self, std::vector<std::string> args,
                         Convert convert) {
  auto promise = self->template make_response_promise<T>();
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

store_actor::behavior_type store_front(store_impl self,
                                       engine::layout_ptr routing) {
  self->state.routing = std::move(routing);
  auto integer_reply = [](auto& promise, protocol::reply& value) {
    promise.deliver(value.integer);
  };
  return {
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
  auto routing = engine::spawn_engine(system, config.stairs, config.placement, 1);
  auto front = system.spawn(store_front, routing);
  return store_handle{front, routing};
}

void add_store_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<caf::optional<std::string>>("stairkv::optional_string");
  cfg.add_message_type<std::vector<std::string>>("stairkv::string_list");
}

} // namespace stairkv
