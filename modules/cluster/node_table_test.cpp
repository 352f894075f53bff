#include "modules/cluster/node_table.hpp"

#include <gtest/gtest.h>

namespace stairkv::cluster {
namespace {

std::string name(char c) {
  return std::string(40, c);
}

TEST(NodeTable, MeetingLearnsTheSenderAndItsSlots) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  for (std::uint16_t s = 0; s < 100; ++s)
    a.assign(s, &a.myself());
  a.myself().config_epoch = 1;
  // A PING from a stranger is ignored; a MEET adds it.
  EXPECT_FALSE(b.absorb(a.make_heartbeat(), 1000, false).accepted);
  auto result = b.absorb(a.make_heartbeat(), 1000, true);
  EXPECT_TRUE(result.accepted);
  EXPECT_TRUE(result.changed);
  ASSERT_NE(b.find(name('a')), nullptr);
  EXPECT_EQ(b.owner(0), b.find(name('a')));
  EXPECT_EQ(b.owner(99), b.find(name('a')));
  EXPECT_EQ(b.owner(100), nullptr);
  EXPECT_EQ(b.slots_assigned(), 100u);
  EXPECT_EQ(b.current_epoch, 0u); // a's current epoch was 0
  EXPECT_EQ(b.find(name('a'))->config_epoch, 1u);
}

TEST(NodeTable, GossipNamesNodesToMeet) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  node_table c{name('c'), "127.0.0.1", 7002, 17002};
  a.absorb(c.make_heartbeat(), 1, true);
  auto result = b.absorb(a.make_heartbeat(), 1, true);
  ASSERT_EQ(result.unknown.size(), 1u);
  EXPECT_EQ(result.unknown[0].id, name('c'));
  EXPECT_EQ(result.unknown[0].cport, 17002);
}

TEST(NodeTable, NewerEpochWinsASlotAndOlderClaimsGetAnUpdate) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  node_table c{name('c'), "127.0.0.1", 7002, 17002};
  a.assign(5, &a.myself());
  a.myself().config_epoch = 1;
  c.absorb(a.make_heartbeat(), 1, true);
  EXPECT_EQ(c.owner(5)->id, name('a'));
  // b takes slot 5 with a newer epoch (as after SETSLOT NODE while importing).
  b.assign(5, &b.myself());
  b.myself().config_epoch = 2;
  c.absorb(b.make_heartbeat(), 2, true);
  EXPECT_EQ(c.owner(5)->id, name('b'));
  // a still claims it with epoch 1: c tells it who owns the slot now.
  auto result = c.absorb(a.make_heartbeat(), 3, false);
  EXPECT_EQ(c.owner(5)->id, name('b'));
  ASSERT_EQ(result.updates.size(), 1u);
  EXPECT_EQ(result.updates[0].id, name('b'));
  // a applies the update (knowing b) and loses the slot.
  a.absorb(b.make_heartbeat(), 4, true);
  EXPECT_EQ(a.owner(5)->id, name('b'));
  EXPECT_FALSE(a.myself().slots.test(5));
}

TEST(NodeTable, ImportingSlotsIgnoreClaims) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  a.assign(7, &a.myself());
  a.myself().config_epoch = 3;
  b.set_importing(7, name('a'));
  b.absorb(a.make_heartbeat(), 1, true);
  EXPECT_EQ(b.owner(7), nullptr);
}

TEST(NodeTable, EpochCollisionMovesTheSmallerName) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  a.myself().config_epoch = 1;
  b.myself().config_epoch = 1;
  a.current_epoch = b.current_epoch = 1;
  b.absorb(a.make_heartbeat(), 1, true);
  EXPECT_EQ(b.myself().config_epoch, 1u); // the sender's name is smaller: b keeps its epoch
  a.absorb(b.make_heartbeat(), 1, true);
  EXPECT_EQ(a.myself().config_epoch, 2u);
  EXPECT_EQ(a.current_epoch, 2u);
}

TEST(NodeTable, BumpTakesANewEpochUnlessAlreadyTheGreatest) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  EXPECT_TRUE(a.bump_epoch_without_consensus());
  EXPECT_EQ(a.myself().config_epoch, 1u);
  EXPECT_FALSE(a.bump_epoch_without_consensus());
  node n;
  n.id = name('b');
  n.config_epoch = 5;
  a.add(n);
  EXPECT_TRUE(a.bump_epoch_without_consensus());
  EXPECT_EQ(a.myself().config_epoch, 6u);
}

TEST(NodeTable, PfailBecomesFailOnAMajorityOfReports) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  node_table c{name('c'), "127.0.0.1", 7002, 17002};
  for (std::uint16_t s = 0; s < slot_count; ++s) {
    auto& owner = s <= 5460 ? a : s <= 10922 ? b : c;
    owner.assign(s, &owner.myself());
  }
  for (auto* t : {&a, &b, &c})
    for (auto* other : {&a, &b, &c})
      if (t != other)
        t->absorb(other->make_heartbeat(), 0, true);
  EXPECT_TRUE(a.state_ok(true));
  // c stops answering: a's PING waits past the timeout.
  a.find(name('c'))->ping_sent = 1000;
  EXPECT_TRUE(a.detect_failures(1500, 1000).empty());
  EXPECT_TRUE(a.detect_failures(2100, 1000).empty()); // PFAIL, one vote (a's own)
  EXPECT_NE(a.find(name('c'))->flags & node_flag::pfail, 0);
  // b reports c failing too: two of three primaries.
  b.find(name('c'))->flags |= node_flag::pfail;
  a.absorb(b.make_heartbeat(), 2200, false);
  EXPECT_EQ(a.find(name('c'))->failure_reports.size(), 1u);
  auto failed = a.detect_failures(2300, 1000);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], name('c'));
  EXPECT_TRUE(a.find(name('c'))->failed());
  EXPECT_FALSE(a.state_ok(true)); // c's slots are down
  EXPECT_TRUE(a.state_ok(false)); // two of three primaries are reachable
  // It answers again.
  EXPECT_TRUE(a.mark_reachable(*a.find(name('c')), 5000));
  EXPECT_FALSE(a.find(name('c'))->failed());
  EXPECT_TRUE(a.state_ok(true));
}

TEST(NodeTable, NodesTextHasRedisFields) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  for (std::uint16_t s = 0; s <= 5460; ++s)
    a.assign(s, &a.myself());
  a.assign(6000, &a.myself());
  a.myself().config_epoch = 1;
  a.set_migrating(6000, name('b'));
  a.set_importing(7000, name('b'));
  EXPECT_EQ(a.nodes_text(),
            name('a') + " 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 6000 ["
              + "6000->-" + name('b') + "] [7000-<-" + name('b') + "]\n");
}

TEST(NodeTable, ConfigFileRoundTrips) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  b.assign(10, &b.myself());
  b.assign(11, &b.myself());
  b.myself().config_epoch = 4;
  a.absorb(b.make_heartbeat(), 1, true);
  a.assign(3, &a.myself());
  a.set_migrating(3, name('b'));
  a.current_epoch = 7;
  a.last_vote_epoch = 2;
  auto text = a.config_text();
  EXPECT_NE(text.find("vars currentEpoch 7 lastVoteEpoch 2\n"), std::string::npos);
  node_table loaded{name('z'), "127.0.0.1", 7000, 17000};
  ASSERT_EQ(loaded.load_config(text), "");
  EXPECT_EQ(loaded.myself().id, name('a'));
  EXPECT_EQ(loaded.owner(10)->id, name('b'));
  EXPECT_EQ(loaded.owner(11)->id, name('b'));
  EXPECT_EQ(loaded.owner(3)->id, name('a'));
  EXPECT_EQ(loaded.migrating().at(3), name('b'));
  EXPECT_EQ(loaded.find(name('b'))->config_epoch, 4u);
  EXPECT_EQ(loaded.current_epoch, 7u);
  EXPECT_EQ(loaded.config_text(), text);
  node_table broken{name('z'), "127.0.0.1", 7000, 17000};
  EXPECT_NE(broken.load_config("garbage line\n"), "");
  EXPECT_NE(broken.load_config(name('b') + " 127.0.0.1:1@2 master - 0 0 1 connected\n"), "");
}

TEST(NodeTable, ForgetDropsTheNodeAndItsSlots) {
  node_table a{name('a'), "127.0.0.1", 7000, 17000};
  node_table b{name('b'), "127.0.0.1", 7001, 17001};
  b.assign(9, &b.myself());
  a.absorb(b.make_heartbeat(), 1, true);
  a.forget(name('b'));
  EXPECT_EQ(a.find(name('b')), nullptr);
  EXPECT_EQ(a.owner(9), nullptr);
  a.reset(true);
  EXPECT_NE(a.myself().id, name('a'));
  EXPECT_EQ(a.nodes().size(), 1u);
}

} // namespace
} // namespace stairkv::cluster
