#include "modules/engine/routing_follower.hpp"

#include <gtest/gtest.h>

using namespace stairkv::engine;

namespace {

routing_ptr snapshot(layout_ptr entry, std::uint64_t generation, layout_ptr next = {}) {
  auto r = std::make_shared<routing>();
  r->entry = std::move(entry);
  r->next = std::move(next);
  r->status.generation = generation;
  return r;
}

layout_ptr engine_of(unsigned stairs, std::uint64_t generation) {
  auto l = std::make_shared<layout>();
  l->stairs = stairs;
  l->generation = generation;
  l->shards.resize(shards_in(stairs));
  return l;
}

} // namespace

TEST(RoutingFollower, RequestsOnTheNewEntryWaitForTheOldOnesToBeAnswered) {
  auto old_engine = engine_of(1, 1);
  auto new_engine = engine_of(2, 2);
  routing_follower f{snapshot(old_engine, 1)};
  f.sent(old_engine.get());
  f.sent(old_engine.get());
  f.update(snapshot(new_engine, 2));
  EXPECT_EQ(f.current()->entry, new_engine);
  EXPECT_FALSE(f.may_send(new_engine.get()));
  EXPECT_TRUE(f.may_send(old_engine.get())); // a plan made before the switch
  EXPECT_EQ(f.take_acknowledgement(), 0u);
  f.answered();
  EXPECT_FALSE(f.may_send(new_engine.get()));
  f.answered();
  EXPECT_TRUE(f.may_send(new_engine.get()));
  EXPECT_EQ(f.take_acknowledgement(), 2u);
  EXPECT_EQ(f.take_acknowledgement(), 0u);
}

TEST(RoutingFollower, StartOfAResizeKeepsTheEntryAndOwesNothing) {
  auto old_engine = engine_of(1, 1);
  routing_follower f{snapshot(old_engine, 1)};
  f.sent(old_engine.get());
  f.update(snapshot(old_engine, 1, engine_of(2, 2)));
  EXPECT_TRUE(f.may_send(old_engine.get()));
  EXPECT_EQ(f.take_acknowledgement(), 0u);
}

TEST(RoutingFollower, AnIdleRouterAcknowledgesAtOnce) {
  routing_follower f{snapshot(engine_of(1, 1), 1)};
  auto bigger = engine_of(2, 2);
  f.update(snapshot(bigger, 2));
  EXPECT_TRUE(f.may_send(bigger.get()));
  EXPECT_EQ(f.take_acknowledgement(), 2u);
}

TEST(RoutingFollower, OlderSnapshotsAreIgnored) {
  auto first = engine_of(1, 1);
  auto second = engine_of(2, 2);
  routing_follower f{snapshot(second, 2)};
  f.update(snapshot(first, 1));
  EXPECT_EQ(f.current()->entry, second);
}
