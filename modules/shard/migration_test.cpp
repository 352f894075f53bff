// A shard of an old engine handing its keys over to a new engine while operations
// keep arriving: every operation must act on the key's current value, wherever the
// key is at that moment, and nothing may be lost, resurrected or counted twice.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "modules/testing/actor_system_config.hpp"

#include "modules/engine/staircase.hpp"
#include "modules/shard/shard_actor.hpp"

using namespace stairkv::shard;
using namespace std::chrono_literals;
namespace engine = stairkv::engine;

namespace {

constexpr int plain_keys = 20000;
constexpr int counters = 1000;
constexpr int expired_keys = 500;

std::string key(const char* prefix, int i) {
  return std::string{prefix} + std::to_string(i);
}

class Migration : public ::testing::TestWithParam<placement> {
protected:
  Migration() : system_(stairkv::testing::actor_system_config()), self_(system_) {}


  batch_result ask(const shard_actor& shard, batch work) {
    batch_result out;
    self_->request(shard, 10s, std::move(work))
      .receive([&](batch_result& r) { out = std::move(r); },
               [&](caf::error& e) { ADD_FAILURE() << system_.render(e); });
    return out;
  }

  // Reads every key from the new shard that owns it, one batch per shard.
  void expect_values(const std::vector<shard_actor>& engine, unsigned stairs,
                     const std::map<std::string, std::string>& expected) {
    std::vector<batch> reads(engine.size());
    std::vector<std::vector<const std::string*>> keys(engine.size());
    for (auto& [k, v] : expected) {
      auto s = engine::shard_of(k, stairs);
      reads[s].add(op_code::get, k);
      keys[s].push_back(&k);
    }
    for (std::size_t s = 0; s < engine.size(); ++s) {
      auto result = ask(engine[s], std::move(reads[s]));
      for (std::size_t i = 0; i < keys[s].size(); ++i)
        ASSERT_EQ(result.reply(i), expected.at(*keys[s][i])) << *keys[s][i];
    }
  }

  std::int64_t count_all(const std::vector<shard_actor>& engine) {
    std::int64_t total = 0;
    for (auto& s : engine) {
      batch c;
      c.add(op_code::count_keys, {});
      total += std::stoll(std::string{ask(s, std::move(c)).reply(0).substr(1)});
    }
    return total;
  }

  // Spawns the shards of a new engine; `targets` gets their untyped handles.
  std::vector<shard_actor> spawn_engine(unsigned stairs, std::vector<caf::actor>& targets) {
    std::vector<shard_actor> result;
    for (std::size_t i = 0; i < engine::shards_in(stairs); ++i) {
      result.push_back(spawn_shard(system_, GetParam()));
      targets.push_back(caf::actor_cast<caf::actor>(result.back()));
    }
    return result;
  }

  caf::actor_system system_;
  caf::scoped_actor self_;
};

std::string bulk(const std::string& v) {
  return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
}

} // namespace

TEST_P(Migration, OperationsDuringAHandoverSeeAndLeaveTheCurrentValues) {
  auto old_shard = spawn_shard(system_, GetParam());
  batch fill;
  for (int i = 0; i < plain_keys; ++i)
    fill.add(op_code::set, key("k:", i), key("v:", i));
  for (int i = 0; i < counters; ++i)
    fill.add(op_code::set, key("n:", i), "10");
  ask(old_shard, std::move(fill));

  constexpr unsigned target_stairs = 2;
  std::vector<caf::actor> targets;
  auto fresh = spawn_engine(target_stairs, targets);
  migration_order order{targets, target_stairs, 1, 0, caf::actor_cast<caf::actor>(self_)};
  self_->send(old_shard, migrate_atom::value, std::move(order));

  // Right behind the order, before most keys have moved: overwrite, delete,
  // increment, and count, in batches the old shard must forward.
  batch writes;
  for (int i = 0; i < 1000; ++i)
    writes.add(op_code::set, key("k:", i), "new");
  for (int i = 1000; i < 2000; ++i)
    writes.add(op_code::del, key("k:", i), {}, no_args{}, /*counted*/ true);
  batch increments;
  for (int round = 0; round < 5; ++round)
    for (int i = 0; i < counters; ++i)
      increments.add(op_code::incr_by, key("n:", i), {}, incr_args{1});
  batch count;
  count.add(op_code::count_keys, {}, {}, no_args{}, /*counted*/ true);
  auto after_writes = ask(old_shard, std::move(writes));
  EXPECT_EQ(after_writes.reply(0), "+OK\r\n");
  EXPECT_EQ(after_writes.reply(1000), ":1\r\n");
  // A forwarded counted operation keeps its typed count.
  ASSERT_NE(after_writes.share(1000), nullptr);
  EXPECT_EQ(after_writes.share(1000)->count, 1);
  auto after_increments = ask(old_shard, std::move(increments));
  EXPECT_EQ(after_increments.reply(0), ":11\r\n");
  EXPECT_EQ(after_increments.reply(4 * counters), ":15\r\n");
  // Counting while keys are in transit: each key exactly once, in the reply
  // and in the typed count the plan's merge reads.
  auto counted = ask(old_shard, std::move(count));
  EXPECT_EQ(counted.reply(0), ":" + std::to_string(plain_keys - 1000 + counters) + "\r\n");
  ASSERT_NE(counted.share(0), nullptr);
  EXPECT_EQ(counted.share(0)->count, plain_keys - 1000 + counters);

  std::uint64_t moved = 0;
  self_->receive([&](migrated_atom, std::uint64_t index, std::uint64_t n) {
    EXPECT_EQ(index, 0u);
    moved = n;
  },
  caf::after(10s) >> [] { FAIL() << "the old shard never finished handing over"; });
  // Every key moved once, whether in the background or with an operation on it
  // (the deleted ones were moved, then deleted where they landed).
  EXPECT_EQ(moved, static_cast<std::uint64_t>(plain_keys + counters));

  std::map<std::string, std::string> expected;
  for (int i = 0; i < plain_keys; ++i)
    expected[key("k:", i)] = i < 1000   ? bulk("new")
                             : i < 2000 ? "$-1\r\n"
                                        : bulk(key("v:", i));
  for (int i = 0; i < counters; ++i)
    expected[key("n:", i)] = bulk("15");
  expect_values(fresh, target_stairs, expected);
  EXPECT_EQ(count_all(fresh), plain_keys - 1000 + counters);

  // The old shard keeps forwarding whatever still reaches it.
  batch late;
  late.add(op_code::get, key("k:", 5000));
  EXPECT_EQ(ask(old_shard, std::move(late)).reply(0), bulk(key("v:", 5000)));

  caf::anon_send_exit(old_shard, caf::exit_reason::user_shutdown);
  for (auto& s : fresh)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

TEST_P(Migration, FlushDuringAHandoverEmptiesBothEngines) {
  auto old_shard = spawn_shard(system_, GetParam());
  batch fill;
  for (int i = 0; i < 5000; ++i)
    fill.add(op_code::set, key("k:", i), "v");
  ask(old_shard, std::move(fill));
  std::vector<caf::actor> targets;
  auto fresh = spawn_engine(2, targets);
  self_->send(old_shard, migrate_atom::value,
              migration_order{targets, 2, 1, 0, caf::actor_cast<caf::actor>(self_)});
  batch flush;
  flush.add(op_code::flush, {});
  flush.add(op_code::count_keys, {});
  auto r = ask(old_shard, std::move(flush));
  EXPECT_EQ(r.reply(0), "+OK\r\n");
  EXPECT_EQ(r.reply(1), ":0\r\n");
  self_->receive([](migrated_atom, std::uint64_t, std::uint64_t) {},
                 caf::after(10s) >> [] { FAIL() << "no end of handover"; });
  for (auto& s : fresh) {
    batch c;
    c.add(op_code::count_keys, {});
    EXPECT_EQ(ask(s, std::move(c)).reply(0), ":0\r\n");
  }
  caf::anon_send_exit(old_shard, caf::exit_reason::user_shutdown);
  for (auto& s : fresh)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

TEST_P(Migration, KeysPastTheirDeadlineAreReclaimedNotMoved) {
  auto old_shard = spawn_shard(system_, GetParam());
  batch fill;
  for (int i = 0; i < expired_keys; ++i)
    fill.add(op_code::set, key("e:", i), "gone", set_args{/*deadline*/ 1});
  for (int i = 0; i < 100; ++i)
    fill.add(op_code::set, key("k:", i), "kept");
  ask(old_shard, std::move(fill));
  std::vector<caf::actor> targets;
  auto fresh = spawn_engine(2, targets);
  self_->send(old_shard, migrate_atom::value,
              migration_order{targets, 2, 1, 0, caf::actor_cast<caf::actor>(self_)});
  std::uint64_t moved = 0;
  self_->receive([&](migrated_atom, std::uint64_t, std::uint64_t n) { moved = n; },
                 caf::after(10s) >> [] { FAIL() << "no end of handover"; });
  EXPECT_EQ(moved, 100u);
  EXPECT_EQ(count_all(fresh), 100);
  caf::anon_send_exit(old_shard, caf::exit_reason::user_shutdown);
  for (auto& s : fresh)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, Migration,
                         ::testing::Values(placement::io_thread, placement::scheduler),
                         [](const auto& info) {
                           return std::string{to_string(info.param)};
                         });
