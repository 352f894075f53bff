#include "modules/shard/shard_actor.hpp"

#include <memory>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>

#include "modules/shard/clock.hpp"
#include "modules/shard/table.hpp"

namespace stairkv::shard {

namespace {


// The same handlers serve both placements; only the host differs.
caf::behavior shard_behavior(std::shared_ptr<table> keys) {
  return {
    [keys](const batch& work) {
      batch_result result;
      keys->execute(work, result, unix_now_ms());
      return result;
    },
  };
}

caf::behavior shard_on_scheduler(caf::event_based_actor*) {
  return shard_behavior(std::make_shared<table>());
}

caf::behavior shard_on_io_thread(caf::io::broker*) {
  return shard_behavior(std::make_shared<table>());
}

} // namespace

bool parse_placement(const std::string& text, placement& out) {
  if (text == "io") {
    out = placement::io_thread;
    return true;
  }
  if (text == "scheduler") {
    out = placement::scheduler;
    return true;
  }
  return false;
}

const char* to_string(placement where) {
  return where == placement::io_thread ? "io" : "scheduler";
}

shard_actor spawn_shard(caf::actor_system& system, placement where) {
  if (where == placement::io_thread)
    return caf::actor_cast<shard_actor>(
      system.middleman().spawn_broker(shard_on_io_thread));
  return caf::actor_cast<shard_actor>(system.spawn(shard_on_scheduler));
}

} // namespace stairkv::shard
