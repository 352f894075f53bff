// The store through resizes: writers keep going while the engine grows and
// shrinks under them, and afterwards every key holds exactly what the writers'
// own sequence of commands says it must.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/testing/actor_system_config.hpp"

#include "modules/store/store.hpp"

using namespace stairkv;
using namespace std::chrono_literals;

namespace {

constexpr int writers = 4;
constexpr int steps = 6000;
constexpr int keys_per_writer = 700;

// What writer `w` does at step `i`, as a command.
std::vector<std::string> step_command(int w, int i) {
  auto k = "w" + std::to_string(w) + ":" + std::to_string(i % keys_per_writer);
  switch (i % 4) {
    case 0:
    case 1:
      return {"SET", k, std::to_string(i)};
    case 2:
      return {"INCRBY", "counter:" + std::to_string(w), "1"};
    default:
      return {"DEL", "w" + std::to_string(w) + ":" + std::to_string((i / 4) % keys_per_writer)};
  }
}

// Replays the same commands on a map: the state the store must end in.
std::map<std::string, std::string> expected_state() {
  std::map<std::string, std::string> state;
  for (int w = 0; w < writers; ++w) {
    long counter = 0;
    for (int i = 0; i < steps; ++i) {
      auto cmd = step_command(w, i);
      if (cmd[0] == "SET")
        state[cmd[1]] = cmd[2];
      else if (cmd[0] == "DEL")
        state.erase(cmd[1]);
      else
        state[cmd[1]] = std::to_string(++counter);
    }
  }
  return state;
}

// Sends its commands one after the other, each after the previous one's reply.
caf::behavior writer(caf::event_based_actor* self, store_actor store, int w) {
  // The step function holds itself only weakly; each pending reply handler holds
  // it strongly, so it is gone once the last step has run.
  auto next = std::make_shared<std::function<void(int)>>();
  std::weak_ptr<std::function<void(int)>> weak = next;
  *next = [=](int i) {
    if (i == steps) {
      self->quit();
      return;
    }
    auto keep = weak.lock();
    self->request(store, caf::infinite, command_atom::value, step_command(w, i))
      .then([=](const std::string& reply) {
        if (!reply.empty() && reply.front() == '-')
          ADD_FAILURE() << "writer " << w << " step " << i << ": " << reply;
        (*keep)(i + 1);
      });
  };
  (*next)(0);
  return {};
}

class Resizing : public ::testing::TestWithParam<shard::placement> {
protected:
  Resizing() : system_(stairkv::testing::actor_system_config()), self_(system_) {}


  engine::routing_ptr routing(const store_handle& store) {
    engine::routing_ptr out;
    self_->request(store.manager, 5s, caf::get_atom::value)
      .receive([&](engine::routing_ptr& r) { out = r; },
               [&](caf::error& e) { FAIL() << system_.render(e); });
    return out;
  }

  // Waits (bounded) until the engine has `stairs` stairs and nothing moves.
  bool settles_at(const store_handle& store, unsigned stairs) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = routing(store);
      if (r && r->entry->stairs == stairs && !r->status.migrating)
        return true;
      std::this_thread::yield();
    }
    return false;
  }

  std::string command(const store_handle& store, std::vector<std::string> args) {
    std::string out;
    self_->request(store.actor, 10s, command_atom::value, std::move(args))
      .receive([&](std::string& r) { out = std::move(r); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
    return out;
  }

  caf::actor_system system_;
  caf::scoped_actor self_;
};

std::string bulk(const std::string& v) {
  return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
}

// Splits two MGET replies into their elements and reports the keys that differ.
void protocol_diff(const std::vector<std::string>& mget, const std::string& got,
                   const std::string& expected) {
  auto split = [](const std::string& reply) {
    std::vector<std::string> items;
    std::size_t pos = reply.find("\r\n") + 2;
    while (pos < reply.size()) {
      if (reply.compare(pos, 5, "$-1\r\n") == 0) {
        items.push_back("(nil)");
        pos += 5;
        continue;
      }
      auto eol = reply.find("\r\n", pos);
      auto len = std::stoul(reply.substr(pos + 1, eol - pos - 1));
      items.push_back(reply.substr(eol + 2, len));
      pos = eol + 2 + len + 2;
    }
    return items;
  };
  auto a = split(got);
  auto b = split(expected);
  int shown = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size() && shown < 10; ++i)
    if (a[i] != b[i]) {
      ADD_FAILURE() << mget[i + 1] << ": got " << a[i] << ", expected " << b[i];
      ++shown;
    }
  EXPECT_EQ(a.size(), b.size());
}

} // namespace

TEST_P(Resizing, WritersRacingResizesUpAndDownLoseNothing) {
  store_config config;
  config.placement = GetParam();
  config.resize_check_interval = 0ms; // resizes are forced below
  auto store = spawn_store(system_, config);
  std::vector<caf::actor> running;
  for (int w = 0; w < writers; ++w)
    running.push_back(system_.spawn(writer, store.actor, w));
  for (unsigned stairs : {3u, 2u, 4u, 1u, 3u}) {
    bool started = false;
    self_->request(store.manager, 5s, engine_manager::resize_atom::value, stairs)
      .receive([&](bool ok) { started = ok; },
               [&](caf::error& e) { FAIL() << system_.render(e); });
    EXPECT_TRUE(started) << stairs;
    ASSERT_TRUE(settles_at(store, stairs)) << stairs;
  }
  for (auto& w : running)
    self_->wait_for(w);
  auto state = expected_state();
  std::vector<std::string> mget{"MGET"};
  std::vector<std::string> wanted;
  for (int w = 0; w < writers; ++w) {
    for (int k = 0; k < keys_per_writer; ++k)
      mget.push_back("w" + std::to_string(w) + ":" + std::to_string(k));
    mget.push_back("counter:" + std::to_string(w));
  }
  std::string expected_reply = "*" + std::to_string(mget.size() - 1) + "\r\n";
  for (std::size_t i = 1; i < mget.size(); ++i) {
    auto it = state.find(mget[i]);
    expected_reply += it == state.end() ? "$-1\r\n" : bulk(it->second);
  }
  auto got = command(store, mget);
  if (got != expected_reply) {
    // Name the first keys that differ rather than printing both replies.
    protocol_diff(mget, got, expected_reply);
  }
  EXPECT_EQ(command(store, {"DBSIZE"}), ":" + std::to_string(state.size()) + "\r\n");
  auto r = routing(store);
  EXPECT_EQ(r->status.resizes_up, 3u);
  EXPECT_EQ(r->status.resizes_down, 2u);
  stop_store(store);
  system_.clock().cancel_all(); // the system ends with the test (see stop_store)
}

TEST_P(Resizing, GrowsWithKeysAndShrinksWhenTheyAreGone) {
  store_config config;
  config.placement = GetParam();
  config.resize.grow_keys_per_shard = 500;
  config.resize_check_interval = 2ms;
  auto store = spawn_store(system_, config);
  std::vector<std::string> mset{"MSET"};
  std::vector<std::string> del{"DEL"};
  for (int i = 0; i < 4000; ++i) {
    mset.push_back("key:" + std::to_string(i));
    mset.push_back(std::to_string(i));
    del.push_back("key:" + std::to_string(i));
  }
  EXPECT_EQ(command(store, mset), "+OK\r\n");
  // 4000 keys at 500 per shard: 1 -> 3 -> 7 -> 15 shards.
  ASSERT_TRUE(settles_at(store, 4));
  EXPECT_EQ(command(store, {"DBSIZE"}), ":4000\r\n");
  EXPECT_EQ(command(store, {"GET", "key:1234"}), bulk("1234"));
  EXPECT_EQ(command(store, del), ":4000\r\n");
  ASSERT_TRUE(settles_at(store, 1));
  EXPECT_EQ(command(store, {"DBSIZE"}), ":0\r\n");
  stop_store(store);
  system_.clock().cancel_all(); // the system ends with the test (see stop_store)
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, Resizing,
                         ::testing::Values(shard::placement::io_thread,
                                           shard::placement::scheduler),
                         [](const auto& info) {
                           return std::string{shard::to_string(info.param)};
                         });
