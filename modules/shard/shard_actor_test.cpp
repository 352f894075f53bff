#include "modules/shard/shard_actor.hpp"

#include <chrono>
#include <thread>

#include "modules/shard/clock.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/testing/actor_system_config.hpp"

using namespace stairkv::shard;

namespace {

class ShardActor : public ::testing::TestWithParam<placement> {
protected:
  ShardActor() : system_(stairkv::testing::actor_system_config()) {}


  batch_result ask(const shard_actor& shard, batch work) {
    caf::scoped_actor self{system_};
    batch_result out;
    self->request(shard, caf::infinite, std::move(work))
      .receive([&](batch_result& r) { out = std::move(r); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
    return out;
  }

  caf::actor_system system_;
};

} // namespace

TEST_P(ShardActor, AnswersEachBatchWithOneReplyPerOperationInOrder) {
  auto shard = spawn_shard(system_, GetParam());
  batch first;
  first.add(op_code::set, "k", "v");
  first.add(op_code::get, "k");
  first.add(op_code::get, "other");
  auto result = ask(shard, std::move(first));
  ASSERT_EQ(result.ends.size(), 3u);
  EXPECT_EQ(result.reply(0), "+OK\r\n");
  EXPECT_EQ(result.reply(1), "$1\r\nv\r\n");
  EXPECT_EQ(result.reply(2), "$-1\r\n");
  // The table persists between batches.
  batch second;
  second.add(op_code::count_keys, {});
  EXPECT_EQ(ask(shard, std::move(second)).reply(0), ":1\r\n");
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, ShardActor,
                         ::testing::Values(placement::io_thread,
                                           placement::scheduler),
                         [](const auto& info) {
                           return std::string{to_string(info.param)};
                         });

TEST(ShardPlacement, ParsesItsTwoNames) {
  placement p;
  ASSERT_TRUE(parse_placement("io", p));
  EXPECT_EQ(p, placement::io_thread);
  ASSERT_TRUE(parse_placement("scheduler", p));
  EXPECT_EQ(p, placement::scheduler);
  EXPECT_FALSE(parse_placement("gpu", p));
}

TEST_P(ShardActor, RetiresKeysWhenTheirDeadlineComesWithoutAnyRead) {
  auto shard = spawn_shard(system_, GetParam());
  batch fill;
  auto deadline = stairkv::shard::unix_now_ms() + 50;
  for (int i = 0; i < 500; ++i)
    fill.add(op_code::set, "k" + std::to_string(i), "v", set_args{deadline});
  fill.add(op_code::set, "stays", "v");
  ask(shard, std::move(fill));
  // COUNT_KEYS counts records still held, expired or not: it only drops if the
  // shard retired them by itself. Bounded poll.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  std::string count;
  while (std::chrono::steady_clock::now() < until) {
    batch c;
    c.add(op_code::count_keys, {});
    count = std::string{ask(shard, std::move(c)).reply(0)};
    if (count == ":1\r\n")
      break;
    std::this_thread::yield();
  }
  EXPECT_EQ(count, ":1\r\n");
  EXPECT_GE(stairkv::shard::unix_now_ms(), deadline);
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}
