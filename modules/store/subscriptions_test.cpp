// The typed subscription interface (subscriptions.hpp): actors subscribe
// themselves to channels, patterns and keyspace notifications and get typed
// messages; an actor that terminates loses its subscriptions.

#include "modules/store/store.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/testing/actor_system_config.hpp"

using namespace stairkv;
using namespace std::chrono_literals;

namespace {

using names = std::vector<std::string>;

constexpr auto patience = 10s; // a message that has not come by then never will

class Subscriptions : public ::testing::TestWithParam<shard::placement> {
protected:
  Subscriptions() : system_(stairkv::testing::actor_system_config()), self_(system_) {
    store_config config;
    config.stairs = 2;
    config.placement = GetParam();
    config.resize_check_interval = std::chrono::milliseconds{0};
    config.notify_keyspace_events = "KEA";
    store_ = spawn_store(system_, config);
  }

  ~Subscriptions() override {
    stop_store(store_);
    system_.clock().cancel_all(); // the system ends with the test (see stop_store)
  }

  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    T out{};
    self_->request(store_.actor, patience, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
    return out;
  }

  // The test's own scoped actor, as a subscriber.
  subscriber_actor me() {
    return caf::actor_cast<subscriber_actor>(self_);
  }

  // PUBSUB NUMSUB channel, through the generic command interface.
  std::string numsub(const std::string& channel) {
    return ask<std::string>(command_atom::value, names{"PUBSUB", "NUMSUB", channel});
  }

  caf::actor_system system_;
  caf::scoped_actor self_;
  store_handle store_;
};

} // namespace

TEST_P(Subscriptions, AChannelSubscriberGetsWhatIsPublishedUntilItUnsubscribes) {
  EXPECT_EQ(ask<std::int64_t>(subscribe_atom::value, me(), names{"news", "sport"}), 2);
  EXPECT_EQ(ask<std::int64_t>(subscribe_atom::value, me(), names{"news"}), 2);
  EXPECT_EQ(ask<std::int64_t>(publish_atom::value, std::string{"news"},
                              std::string{"hello"}),
            1);
  self_->receive(
    [](message_atom, const std::string& channel, const std::string& message) {
      EXPECT_EQ(channel, "news");
      EXPECT_EQ(message, "hello");
    },
    caf::after(patience) >> [] { ADD_FAILURE() << "no message"; });
  EXPECT_EQ(numsub("news"), "*2\r\n$4\r\nnews\r\n:1\r\n");

  EXPECT_EQ(ask<std::int64_t>(unsubscribe_atom::value, me(), names{"news"}), 1);
  EXPECT_EQ(ask<std::int64_t>(publish_atom::value, std::string{"news"}, std::string{"x"}),
            0);
  EXPECT_EQ(ask<std::int64_t>(unsubscribe_atom::value, me(), names{}), 0);
  EXPECT_EQ(store_.subscription_figures->channels.load(), 0);
  // PUBLISH through the generic interface counts the same receivers.
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBLISH", "sport", "x"}), ":0\r\n");
}

TEST_P(Subscriptions, APatternSubscriberGetsThePatternAndTheChannel) {
  EXPECT_EQ(ask<std::int64_t>(psubscribe_atom::value, me(), names{"news.*"}), 1);
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBLISH", "news.art", "paint"}),
            ":1\r\n");
  self_->receive(
    [](pmessage_atom, const std::string& pattern, const std::string& channel,
       const std::string& message) {
      EXPECT_EQ(pattern, "news.*");
      EXPECT_EQ(channel, "news.art");
      EXPECT_EQ(message, "paint");
    },
    caf::after(patience) >> [] { ADD_FAILURE() << "no pattern message"; });
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBSUB", "NUMPAT"}), ":1\r\n");
  EXPECT_EQ(ask<std::int64_t>(punsubscribe_atom::value, me(), names{}), 0);
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBSUB", "NUMPAT"}), ":0\r\n");
}

TEST_P(Subscriptions, ExpiryEventsArriveDecodedWithKeyAndDatabase) {
  ask<std::int64_t>(subscribe_atom::value, me(), names{keyevent_channel(0, "expired")});
  EXPECT_TRUE(ask<bool>(caf::put_atom::value, std::string{"short"}, std::string{"v"},
                        caf::timespan{30ms}));
  self_->receive(
    [](key_event_atom, std::int32_t db, const std::string& key, const std::string& event) {
      EXPECT_EQ(db, 0);
      EXPECT_EQ(key, "short");
      EXPECT_EQ(event, "expired");
    },
    caf::after(patience) >> [] { ADD_FAILURE() << "no expired event"; });
}

TEST_P(Subscriptions, KeyspacePatternsDecodeTheirNotificationsToo) {
  // Every event of every key in database 2, through a pattern.
  ask<std::int64_t>(psubscribe_atom::value, me(), names{keyspace_channel(2, "*")});
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{2},
                             names{"SET", "colour", "red"}),
            "+OK\r\n");
  ask<std::string>(command_atom::value, names{"SET", "other-db", "x"}); // database 0
  EXPECT_EQ(ask<std::string>(command_atom::value, std::int32_t{2}, names{"DEL", "colour"}),
            ":1\r\n");
  std::vector<std::string> seen;
  for (int i = 0; i < 2; ++i)
    self_->receive(
      [&](key_event_atom, std::int32_t db, const std::string& key, const std::string& event) {
        EXPECT_EQ(db, 2);
        seen.push_back(key + " " + event);
      },
      caf::after(patience) >> [] { ADD_FAILURE() << "no keyspace event"; });
  EXPECT_EQ(seen, (std::vector<std::string>{"colour set", "colour del"}));
}

TEST_P(Subscriptions, AnActorThatDiesWhileSubscribedLeavesNothingBehind) {
  // A typed subscriber of its own, which ignores what it gets.
  auto listener = [](subscriber_actor::pointer) -> subscriber_actor::behavior_type {
    return {
      [](message_atom, const std::string&, const std::string&) {},
      [](pmessage_atom, const std::string&, const std::string&, const std::string&) {},
      [](key_event_atom, std::int32_t, const std::string&, const std::string&) {},
    };
  };
  auto watcher = system_.spawn(listener);
  caf::actor_addr watcher_addr = watcher.address();
  EXPECT_EQ(ask<std::int64_t>(subscribe_atom::value, watcher, names{"alerts"}), 1);
  EXPECT_EQ(ask<std::int64_t>(psubscribe_atom::value, watcher, names{"alert*"}), 2);
  EXPECT_EQ(ask<std::int64_t>(publish_atom::value, std::string{"alerts"}, std::string{"a"}),
            2);

  self_->send_exit(watcher, caf::exit_reason::kill);
  self_->wait_for(watcher);
  watcher = nullptr;
  // The broker learns of the end from its own down message, which may come a
  // moment after ours: ask until it has (each answer is a round trip).
  auto deadline = std::chrono::steady_clock::now() + patience;
  std::int64_t receivers = -1;
  bool released = false;
  while (std::chrono::steady_clock::now() < deadline) {
    receivers = ask<std::int64_t>(publish_atom::value, std::string{"alerts"},
                                  std::string{"b"});
    // Nothing holds the dead actor any more: its address no longer names one.
    released = !caf::actor_cast<caf::actor>(watcher_addr);
    if (receivers == 0 && released)
      break;
  }
  EXPECT_EQ(receivers, 0);
  EXPECT_TRUE(released) << "a subscription kept the dead actor alive";
  EXPECT_EQ(numsub("alerts"), "*2\r\n$6\r\nalerts\r\n:0\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBSUB", "NUMPAT"}), ":0\r\n");
  EXPECT_EQ(store_.subscription_figures->channels.load(), 0);
  EXPECT_EQ(store_.subscription_figures->patterns.load(), 0);
}

TEST_P(Subscriptions, PubsubThroughCommandChecksItsArguments) {
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBLISH", "only-channel"}),
            "-ERR wrong number of arguments for 'publish' command\r\n");
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"PUBSUB", "NOPE"}).rfind(
              "-ERR unknown subcommand", 0),
            0u);
  ask<std::int64_t>(subscribe_atom::value, me(), names{"b", "a"});
  EXPECT_EQ(ask<std::string>(command_atom::value, names{"pubsub", "channels"}),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, Subscriptions,
                         ::testing::Values(shard::placement::io_thread,
                                           shard::placement::scheduler),
                         [](const auto& info) {
                           return std::string{shard::to_string(info.param)};
                         });
