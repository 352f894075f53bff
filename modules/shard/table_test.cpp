#include "modules/shard/table.hpp"

#include <gtest/gtest.h>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/records.pb.h"

#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace stairkv::shard;

namespace {

constexpr deadline_ms now = 1'000'000;

// The typed arguments of `code` from the numbers these tests pass: `number` (a
// deadline, an increment, an offset, a start) and `flags` (set_flag,
// expire_flag, ttl_unit, getex_mode).
op_args args_for(op_code code, std::int64_t number, std::uint8_t flags) {
  switch (code) {
    case op_code::set:
      return set_args{number, flags};
    case op_code::expire:
      return expire_args{number, flags};
    case op_code::ttl:
      return ttl_args{static_cast<ttl_unit>(flags)};
    case op_code::get_expire:
      return getex_args{static_cast<getex_mode>(flags), number};
    case op_code::incr_by:
      return incr_args{number};
    case op_code::set_range:
      return offset_args{number};
    case op_code::rename_to:
      return restore_args{number};
    case op_code::count_keys_from:
    case op_code::flush_from:
    case op_code::keys_from:
      return origin_args{static_cast<std::uint32_t>(number), flags};
    default:
      return no_args{};
  }
}

// Runs one batch on `t` and returns each operation's reply.
std::vector<std::string> run(table& t, const batch& work, deadline_ms at = now) {
  batch_result result;
  t.execute(work, result, at);
  std::vector<std::string> replies;
  for (std::size_t i = 0; i < result.ends.size(); ++i)
    replies.emplace_back(result.reply(i));
  return replies;
}

std::string run1(table& t, op_code code, std::string_view key,
                 std::string_view value = {}, std::int64_t number = 0,
                 std::uint8_t flags = 0, deadline_ms at = now) {
  batch work;
  work.add(code, key, value, args_for(code, number, flags));
  return run(t, work, at).at(0);
}

} // namespace

TEST(ShardTable, GetOfMissingKeyIsNullAndCountsAMiss) {
  table t;
  EXPECT_EQ(run1(t, op_code::get, "nope"), "$-1\r\n");
  EXPECT_EQ(t.stats().misses, 1);
  EXPECT_EQ(t.stats().hits, 0);
}

TEST(ShardTable, SetThenGetReturnsTheValueAndCountsAHit) {
  table t;
  EXPECT_EQ(run1(t, op_code::set, "k", "v"), "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$1\r\nv\r\n");
  EXPECT_EQ(t.stats().hits, 1);
}

TEST(ShardTable, KeysAndValuesAreBinarySafe) {
  table t;
  std::string key{"a\0b\r\n", 5};
  std::string value{"\0\0\xff\r\n", 5};
  run1(t, op_code::set, key, value);
  EXPECT_EQ(run1(t, op_code::get, key), "$5\r\n" + value + "\r\n");
  EXPECT_EQ(run1(t, op_code::get, std::string{"a\0c\r\n", 5}), "$-1\r\n");
}

TEST(ShardTable, OperationsOfOneBatchRunInOrder) {
  table t;
  batch work;
  work.add(op_code::set, "k", "1");
  work.add(op_code::incr_by, "k", {}, incr_args{5});
  work.add(op_code::get, "k");
  work.add(op_code::del, "k");
  work.add(op_code::del, "k");
  work.add(op_code::exists, "k");
  auto replies = run(t, work);
  EXPECT_EQ(replies, (std::vector<std::string>{"+OK\r\n", ":6\r\n", "$1\r\n6\r\n",
                                               ":1\r\n", ":0\r\n", ":0\r\n"}));
}

TEST(ShardTable, CountedOperationsGiveTheirCountTypedOnlyWhenAsked) {
  table t;
  batch work;
  work.add(op_code::set, "k", "v");
  work.add(op_code::exists, "k", {}, no_args{}, /*counted*/ true);
  work.add(op_code::del, "k", {}, no_args{}, /*counted*/ true);
  work.add(op_code::del, "k");
  work.add(op_code::count_keys, {}, {}, no_args{}, /*counted*/ true);
  batch_result out;
  t.execute(work, out, now);
  ASSERT_EQ(out.shares.size(), 3u);
  ASSERT_NE(out.share(1), nullptr);
  EXPECT_EQ(out.share(1)->count, 1);
  EXPECT_EQ(out.reply(1), ":1\r\n");
  ASSERT_NE(out.share(2), nullptr);
  EXPECT_EQ(out.share(2)->count, 1);
  EXPECT_EQ(out.share(3), nullptr); // not asked: the bytes alone
  EXPECT_EQ(out.reply(3), ":0\r\n");
  ASSERT_NE(out.share(4), nullptr);
  EXPECT_EQ(out.share(4)->count, 0);
}

TEST(ShardTable, AnOperationWithoutArgumentsTakesItsKindsDefaults) {
  table t;
  batch work;
  work.add(op_code::set, "k", "10");      // a plain SET: no deadline, no condition
  work.add(op_code::incr_by, "k");        // INCRBY 0
  work.add(op_code::ttl, "k");            // in seconds
  auto replies = run(t, work);
  EXPECT_EQ(replies, (std::vector<std::string>{"+OK\r\n", ":10\r\n", ":-1\r\n"}));
}

TEST(ShardTable, SetNxOnlySetsAMissingKey) {
  table t;
  EXPECT_EQ(run1(t, op_code::set, "k", "a", 0, set_flag::only_if_absent), "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::set, "k", "b", 0, set_flag::only_if_absent), "$-1\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$1\r\na\r\n");
}

TEST(ShardTable, SetXxOnlySetsAnExistingKey) {
  table t;
  EXPECT_EQ(run1(t, op_code::set, "k", "a", 0, set_flag::only_if_present), "$-1\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$-1\r\n");
  run1(t, op_code::set, "k", "a");
  EXPECT_EQ(run1(t, op_code::set, "k", "b", 0, set_flag::only_if_present), "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$1\r\nb\r\n");
}

TEST(ShardTable, SetGetReturnsTheOldValueOrNull) {
  table t;
  EXPECT_EQ(run1(t, op_code::set, "k", "a", 0, set_flag::return_old), "$-1\r\n");
  EXPECT_EQ(run1(t, op_code::set, "k", "b", 0, set_flag::return_old), "$1\r\na\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$1\r\nb\r\n");
  // NX GET on an existing key: the old value, and nothing changes.
  EXPECT_EQ(run1(t, op_code::set, "k", "c",
                 0, set_flag::return_old | set_flag::only_if_absent),
            "$1\r\nb\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$1\r\nb\r\n");
}

TEST(ShardTable, AKeyIsNeverServedFromItsDeadlineOn) {
  table t;
  run1(t, op_code::set, "k", "v", now + 100);
  EXPECT_EQ(run1(t, op_code::get, "k", {}, 0, 0, now + 99), "$1\r\nv\r\n");
  EXPECT_EQ(t.stats().keys_with_deadline, 1);
  EXPECT_EQ(run1(t, op_code::get, "k", {}, 0, 0, now + 100), "$-1\r\n");
  EXPECT_EQ(t.stats().expired, 1);
  EXPECT_EQ(t.stats().keys, 0);
  EXPECT_EQ(t.stats().keys_with_deadline, 0);
}

TEST(ShardTable, PlainSetClearsTheDeadlineAndKeepTtlKeepsIt) {
  table t;
  run1(t, op_code::set, "a", "v", now + 100);
  run1(t, op_code::set, "a", "w");
  EXPECT_EQ(run1(t, op_code::get, "a", {}, 0, 0, now + 1000), "$1\r\nw\r\n");
  run1(t, op_code::set, "b", "v", now + 100);
  run1(t, op_code::set, "b", "w", 0, set_flag::keep_ttl);
  EXPECT_EQ(t.stats().keys_with_deadline, 1);
  EXPECT_EQ(run1(t, op_code::get, "b", {}, 0, 0, now + 100), "$-1\r\n");
}

TEST(ShardTable, IncrByStartsFromZeroAndKeepsTheDeadline) {
  table t;
  EXPECT_EQ(run1(t, op_code::incr_by, "n", {}, 5), ":5\r\n");
  EXPECT_EQ(run1(t, op_code::incr_by, "n", {}, -7), ":-2\r\n");
  run1(t, op_code::set, "d", "10", now + 50);
  EXPECT_EQ(run1(t, op_code::incr_by, "d", {}, 1), ":11\r\n");
  EXPECT_EQ(run1(t, op_code::get, "d", {}, 0, 0, now + 50), "$-1\r\n");
}

TEST(ShardTable, IncrByRefusesNonIntegersAndOverflow) {
  table t;
  run1(t, op_code::set, "s", "abc");
  EXPECT_EQ(run1(t, op_code::incr_by, "s", {}, 1),
            "-ERR value is not an integer or out of range\r\n");
  run1(t, op_code::set, "sp", " 1");
  EXPECT_EQ(run1(t, op_code::incr_by, "sp", {}, 1),
            "-ERR value is not an integer or out of range\r\n");
  run1(t, op_code::set, "max", "9223372036854775807");
  EXPECT_EQ(run1(t, op_code::incr_by, "max", {}, 1),
            "-ERR increment or decrement would overflow\r\n");
  run1(t, op_code::set, "min", "-9223372036854775808");
  EXPECT_EQ(run1(t, op_code::incr_by, "min", {}, -1),
            "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run1(t, op_code::get, "max"), "$19\r\n9223372036854775807\r\n");
}

TEST(ShardTable, AppendCreatesOrExtendsAndReturnsTheLength) {
  table t;
  EXPECT_EQ(run1(t, op_code::append, "k", "abc"), ":3\r\n");
  EXPECT_EQ(run1(t, op_code::append, "k", "de"), ":5\r\n");
  EXPECT_EQ(run1(t, op_code::get, "k"), "$5\r\nabcde\r\n");
  EXPECT_EQ(run1(t, op_code::strlen, "k"), ":5\r\n");
  EXPECT_EQ(run1(t, op_code::strlen, "missing"), ":0\r\n");
}

TEST(ShardTable, FlushDropsEveryKeyAndCountKeysSeesIt) {
  table t;
  run1(t, op_code::set, "a", "1");
  run1(t, op_code::set, "b", "2", now + 10);
  EXPECT_EQ(run1(t, op_code::count_keys, {}), ":2\r\n");
  EXPECT_EQ(run1(t, op_code::flush, {}), "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::count_keys, {}), ":0\r\n");
  EXPECT_EQ(t.stats().keys_with_deadline, 0);
}

// Runs one operation and returns its result whole (bytes and typed share).
batch_result run_one(table& t, op_code code, std::string_view key,
                     std::string_view value = {}, std::int64_t number = 0,
                     std::uint8_t flags = 0) {
  batch work;
  work.add(code, key, value, args_for(code, number, flags));
  batch_result out;
  t.execute(work, out, now);
  return out;
}

TEST(ShardTable, StatsShareCarriesKeysDeadlinesHitsMissesExpired) {
  table t;
  run1(t, op_code::set, "a", "1", now + 10);
  run1(t, op_code::get, "a");
  run1(t, op_code::get, "b");
  t.note_backlog(3);
  auto out = run_one(t, op_code::stats, {});
  EXPECT_EQ(out.reply(0), "");
  const auto* share = out.share(0);
  ASSERT_NE(share, nullptr);
  EXPECT_EQ(share->stats.keys, 1);
  EXPECT_EQ(share->stats.keys_with_deadline, 1);
  EXPECT_EQ(share->stats.hits, 1);
  EXPECT_EQ(share->stats.misses, 1);
  EXPECT_EQ(share->stats.expired, 0);
  EXPECT_EQ(share->stats.backlog, 3);
  EXPECT_EQ(share->stats.avg_ttl_ms, 10);
  EXPECT_EQ(share->stats.stale, 0);
}

TEST(ShardTable, PeekShareSaysFoundAndDeadlineBesideTheRawValue) {
  table t;
  run1(t, op_code::set, "a", "v\r\n1", now + 10);
  auto found = run_one(t, op_code::peek, "a");
  EXPECT_EQ(found.reply(0), "v\r\n1");
  ASSERT_NE(found.share(0), nullptr);
  EXPECT_TRUE(found.share(0)->found);
  EXPECT_EQ(found.share(0)->deadline, now + 10);
  auto missing = run_one(t, op_code::peek, "b");
  EXPECT_EQ(missing.reply(0), "");
  ASSERT_NE(missing.share(0), nullptr);
  EXPECT_FALSE(missing.share(0)->found);
}

TEST(ShardTable, KeysShareCountsTheBulksItHoldsAndSharesFollowTheirReplies) {
  table t;
  run1(t, op_code::set, "k1", "1");
  run1(t, op_code::set, "k2", "2");
  run1(t, op_code::set, "other", "3");
  batch work;
  work.add(op_code::get, "k1");
  work.add(op_code::keys, {}, "k*");
  work.add(op_code::exists, "other");
  work.add(op_code::keys, {}, "none*");
  batch_result out;
  t.execute(work, out, now);
  EXPECT_EQ(out.share(0), nullptr);
  EXPECT_EQ(out.share(2), nullptr);
  ASSERT_NE(out.share(1), nullptr);
  EXPECT_EQ(out.share(1)->elements, 2);
  auto bulks = std::string{out.reply(1)};
  EXPECT_TRUE(bulks == "$2\r\nk1\r\n$2\r\nk2\r\n" || bulks == "$2\r\nk2\r\n$2\r\nk1\r\n")
    << bulks;
  ASSERT_NE(out.share(3), nullptr);
  EXPECT_EQ(out.share(3)->elements, 0);
  EXPECT_EQ(out.reply(3), "");
}

TEST(ShardTable, StaleCountsKeysPastTheirDeadlineNotYetRetired) {
  table t;
  run1(t, op_code::set, "a", "1", now + 10);
  run1(t, op_code::set, "b", "2", now + 20);
  run1(t, op_code::set, "c", "3", now + 30);
  run1(t, op_code::set, "b", "2", now + 1000); // b's first deadline is stale
  EXPECT_EQ(t.stats(now + 5).stale, 0);
  EXPECT_EQ(t.stats(now + 25).stale, 1);
  EXPECT_EQ(t.stats(now + 30).stale, 2);
  t.expire_due(now + 30, 100);
  EXPECT_EQ(t.stats(now + 30).stale, 0);
}

TEST(ShardTable, DueKeysAreRetiredWithoutBeingRead) {
  table t;
  run1(t, op_code::set, "a", "1", now + 10);
  run1(t, op_code::set, "b", "2", now + 20);
  run1(t, op_code::set, "c", "3", now + 30);
  run1(t, op_code::set, "forever", "4");
  EXPECT_EQ(t.next_deadline(), now + 10);
  EXPECT_EQ(t.expire_due(now + 9, 100), 0u);
  EXPECT_EQ(t.expire_due(now + 20, 100), 2u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.stats().expired, 2);
  EXPECT_EQ(t.stats().keys_with_deadline, 1);
  EXPECT_EQ(t.next_deadline(), now + 30);
}

TEST(ShardTable, ChangedDeadlinesLeaveOnlyStaleEntriesBehind) {
  table t;
  run1(t, op_code::set, "persisted", "v", now + 10);
  run1(t, op_code::persist, "persisted");
  run1(t, op_code::set, "moved", "v", now + 10);
  run1(t, op_code::expire, "moved", {}, now + 100);
  run1(t, op_code::set, "deleted", "v", now + 10);
  run1(t, op_code::del, "deleted");
  run1(t, op_code::set, "overwritten", "v", now + 10);
  run1(t, op_code::set, "overwritten", "w");
  EXPECT_EQ(t.expire_due(now + 50, 100), 0u);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.expire_due(now + 100, 100), 1u);
  EXPECT_EQ(run1(t, op_code::get, "moved", {}, 0, 0, now + 99), "$-1\r\n");
  EXPECT_EQ(t.size(), 2u);
}

TEST(ShardTable, ResettingADeadlineInALoopDoesNotPileUpEntries) {
  table t;
  for (int i = 0; i < 100000; ++i)
    run1(t, op_code::set, "k", "v", now + 1000 + i);
  // Rebuilt whenever stale entries outnumber the live one past 1,024 (each of the
  // 100,000 left in the queue would take 40 bytes).
  EXPECT_LT(t.memory(), 150000);
  EXPECT_GE(t.next_deadline(), now + 1000 + 99999 - 2048);
  EXPECT_EQ(t.expire_due(now + 1000 + 99999, 100000), 1u);
  EXPECT_EQ(t.size(), 0u);
}

namespace {

// The events of a table as "event key" strings, in order.
std::vector<std::string> events_of(table& t) {
  std::vector<std::string> out;
  auto log = t.take_events();
  for (const auto& e : log.entries)
    out.push_back(std::string{event_name(e.what)} + " " + std::string{log.key(e)});
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST(ShardTableEvents, NothingIsRecordedUnlessAsked) {
  table t;
  run1(t, op_code::set, "a", "1");
  run1(t, op_code::del, "a");
  run1(t, op_code::set, "b", "1", now + 1);
  t.expire_due(now + 5, 10);
  EXPECT_TRUE(t.take_events().empty());
}

TEST(ShardTableEvents, WritesReportWhatRedisReports) {
  table t;
  t.record_events(notify_flag::all | notify_flag::new_key);
  run1(t, op_code::set, "k", "1");
  EXPECT_EQ(events_of(t), (strings{"new k", "set k"}));
  run1(t, op_code::set, "k", "2", now + 100);
  EXPECT_EQ(events_of(t), (strings{"set k", "expire k"}));
  run1(t, op_code::set, "k", "3", 0, set_flag::only_if_absent);
  EXPECT_EQ(events_of(t), strings{}); // NX not met: nothing happened
  run1(t, op_code::incr_by, "n", {}, 5);
  run1(t, op_code::incr_by, "k", {}, 1);
  run1(t, op_code::append, "k", "x");
  EXPECT_EQ(events_of(t), (strings{"new n", "incrby n", "incrby k", "append k"}));
  run1(t, op_code::incr_by, "k", {}, 1); // "4x" is no integer: an error, no event
  EXPECT_EQ(events_of(t), strings{});
  run1(t, op_code::expire, "k", {}, now + 500);
  run1(t, op_code::persist, "k");
  run1(t, op_code::persist, "k"); // no deadline left: nothing to persist
  EXPECT_EQ(events_of(t), (strings{"expire k", "persist k"}));
  run1(t, op_code::expire, "k", {}, now - 1); // a deadline in the past deletes
  EXPECT_EQ(events_of(t), (strings{"del k"}));
  EXPECT_EQ(t.stats().expired, 0);
  run1(t, op_code::del, "n");
  run1(t, op_code::del, "n");
  EXPECT_EQ(events_of(t), (strings{"del n"}));
  run1(t, op_code::set, "g", "1");
  run1(t, op_code::get_expire, "g", {}, now + 50,
       static_cast<std::uint8_t>(getex_mode::set));
  run1(t, op_code::get_expire, "g", {}, 0,
       static_cast<std::uint8_t>(getex_mode::persist));
  run1(t, op_code::get_delete, "g");
  EXPECT_EQ(events_of(t),
            (strings{"new g", "set g", "expire g", "persist g", "del g"}));
}

TEST(ShardTableEvents, OnlyTheRecordedClassesAppear) {
  table t;
  t.record_events(notify_flag::generic);
  run1(t, op_code::set, "k", "1", now + 10);
  run1(t, op_code::del, "k");
  EXPECT_EQ(events_of(t), (strings{"expire k", "del k"}));
  t.record_events(notify_flag::key_miss);
  run1(t, op_code::get, "missing");
  EXPECT_EQ(events_of(t), (strings{"keymiss missing"}));
}

TEST(ShardTableEvents, EveryExpiredKeyIsReportedOnceWhicheverWayItGoes) {
  table t;
  t.record_events(notify_flag::expired);
  run1(t, op_code::set, "on_time", "1", now + 10);
  run1(t, op_code::set, "on_read", "1", now + 10);
  run1(t, op_code::set, "later", "1", now + 1000);
  EXPECT_EQ(run1(t, op_code::get, "on_read", {}, 0, 0, now + 10), "$-1\r\n");
  t.expire_due(now + 20, 100);
  t.expire_due(now + 20, 100);
  EXPECT_EQ(events_of(t), (strings{"expired on_read", "expired on_time"}));
  EXPECT_EQ(t.stats().expired, 2);
}

// -- the memory bound ------------------------------------------------------------

namespace {

memory_bound bound_of(stairkv::memory::policy p, std::int64_t allowed, int samples = 5) {
  memory_bound b;
  b.policy = p;
  b.allowed = allowed;
  b.samples = samples;
  return b;
}

std::string key_of(int i) {
  return "key:" + std::to_string(i);
}

} // namespace

TEST(ShardTableMemory, CountsItsBytesAsKeysComeAndGo) {
  table t;
  auto empty = t.memory();
  run1(t, op_code::set, "k", std::string(1000, 'x'));
  auto one = t.memory();
  EXPECT_GE(one - empty, 1000);
  for (int i = 0; i < 1000; ++i)
    run1(t, op_code::set, key_of(i), std::string(100, 'y'), now + 100000);
  EXPECT_GT(t.memory(), one + 1000 * 100);
  run1(t, op_code::flush, {});
  EXPECT_LE(t.memory(), empty + 64);
}

TEST(ShardTableMemory, AllKeysLruEvictsTheKeysLeastRecentlyUsed) {
  table t;
  // 200 keys written a millisecond apart; the first 20 are read afterwards.
  for (int i = 0; i < 200; ++i)
    run1(t, op_code::set, key_of(i), std::string(200, 'v'), 0, 0, now + i);
  for (int i = 0; i < 20; ++i)
    run1(t, op_code::get, key_of(i), {}, 0, 0, now + 1000);
  t.record_events(class_of(key_event::evicted));
  // Room for about half: comparing 16 keys per eviction, the keys read last stay.
  auto half = t.memory() / 2;
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_lru, half, 16));
  ASSERT_TRUE(t.make_room(now + 1001));
  EXPECT_LE(t.memory(), half);
  auto evicted = t.take_evicted();
  EXPECT_GT(evicted, 50);
  EXPECT_EQ(t.take_evicted(), 0);
  EXPECT_EQ(static_cast<std::int64_t>(t.size()), 200 - evicted);
  for (int i = 0; i < 20; ++i)
    EXPECT_NE(run1(t, op_code::get, key_of(i), {}, 0, 0, now + 1002), "$-1\r\n") << i;
  auto log = t.take_events();
  EXPECT_EQ(static_cast<std::int64_t>(log.size()), evicted);
}

TEST(ShardTableMemory, AllKeysLfuEvictsTheKeysLeastOftenUsed) {
  table t;
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_lfu,
                          std::numeric_limits<std::int64_t>::max()));
  for (int i = 0; i < 200; ++i)
    run1(t, op_code::set, key_of(i), std::string(200, 'v'));
  // The last 20 keys are read 30 times each (the newest keys, so that recency
  // alone would not explain what stays).
  for (int round = 0; round < 30; ++round)
    for (int i = 180; i < 200; ++i)
      run1(t, op_code::get, key_of(i));
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_lfu, t.memory() / 2, 16));
  ASSERT_TRUE(t.make_room(now));
  EXPECT_GT(t.take_evicted(), 50);
  for (int i = 180; i < 200; ++i)
    EXPECT_NE(run1(t, op_code::get, key_of(i)), "$-1\r\n") << i;
}

TEST(ShardTableMemory, NoEvictionRefusesGrowingWritesButServesTheRest) {
  table t;
  for (int i = 0; i < 50; ++i)
    run1(t, op_code::set, key_of(i), "v");
  t.bound_memory(bound_of(stairkv::memory::policy::noeviction, t.memory() - 1));
  const std::string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
  EXPECT_EQ(run1(t, op_code::set, "new", "v"), oom);
  EXPECT_EQ(run1(t, op_code::append, key_of(1), "w"), oom);
  EXPECT_EQ(run1(t, op_code::incr_by, "n", {}, 1), oom);
  EXPECT_EQ(run1(t, op_code::set_range, key_of(2), "w", 3), oom);
  EXPECT_EQ(run1(t, op_code::incr_by_float, "f", "1.5"), oom);
  EXPECT_EQ(run1(t, op_code::get, key_of(3)), "$1\r\nv\r\n");
  EXPECT_EQ(t.size(), 50u);
  EXPECT_EQ(t.take_evicted(), 0);
  // Deleting makes room again.
  EXPECT_EQ(run1(t, op_code::del, key_of(4)), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::set, "new", "v"), "+OK\r\n");
}

TEST(ShardTableMemory, VolatilePoliciesEvictOnlyKeysWithADeadline) {
  using stairkv::memory::policy;
  for (auto p : {policy::volatile_lru, policy::volatile_lfu, policy::volatile_random,
                 policy::volatile_ttl}) {
    table t;
    for (int i = 0; i < 100; ++i)
      run1(t, op_code::set, "keep:" + std::to_string(i), std::string(100, 'k'));
    for (int i = 0; i < 100; ++i)
      run1(t, op_code::set, key_of(i), std::string(100, 't'), now + 60000 + i);
    auto full = t.memory();
    // Tighter and tighter: the keys with a deadline go, then writes are refused.
    t.bound_memory(bound_of(p, full * 3 / 4));
    ASSERT_TRUE(t.make_room(now));
    EXPECT_GT(t.take_evicted(), 0);
    t.bound_memory(bound_of(p, full / 4));
    EXPECT_FALSE(t.make_room(now));
    EXPECT_EQ(t.size(), 100u);
    EXPECT_EQ(run1(t, op_code::set, "more", "v"),
              "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    for (int i = 0; i < 100; ++i)
      EXPECT_NE(run1(t, op_code::get, "keep:" + std::to_string(i)), "$-1\r\n");
  }
}

TEST(ShardTableMemory, VolatileTtlPrefersTheNearestDeadline) {
  table t;
  for (int i = 0; i < 200; ++i)
    run1(t, op_code::set, key_of(i), std::string(100, 't'), now + 1000 * (i + 1));
  t.bound_memory(bound_of(stairkv::memory::policy::volatile_ttl, t.memory() * 2 / 3, 16));
  ASSERT_TRUE(t.make_room(now));
  int early_left = 0;
  int late_left = 0;
  for (int i = 0; i < 200; ++i)
    (i < 100 ? early_left : late_left) +=
      run1(t, op_code::exists, key_of(i)) == ":1\r\n" ? 1 : 0;
  EXPECT_LT(early_left * 2, late_left);
}

TEST(ShardTableMemory, AnAllKeysPolicyWritesEvenWhenTheBytesAreElsewhere) {
  table t;
  // Nothing here to evict, and the bound already passed (other shards hold it):
  // the write is taken, then evicted at the end of the batch.
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_lru, 0));
  EXPECT_EQ(run1(t, op_code::set, "k", "v"), "+OK\r\n");
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.take_evicted(), 1);
}

TEST(ShardTableMemory, EvictionReclaimsExpiredKeysAsExpired) {
  table t;
  for (int i = 0; i < 100; ++i)
    run1(t, op_code::set, key_of(i), std::string(100, 'x'), now + 10);
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_random, t.memory() / 2));
  ASSERT_TRUE(t.make_room(now + 20));
  EXPECT_EQ(t.take_evicted(), 0);
  EXPECT_GT(t.stats(now + 20).expired, 0);
}

TEST(ShardTableMemory, RandomKeyDrawsEveryKey) {
  table t;
  for (int i = 0; i < 50; ++i)
    run1(t, op_code::set, key_of(i), "v");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i)
    seen.insert(run1(t, op_code::random_key, {}));
  EXPECT_EQ(seen.size(), 50u);
}

// -- the append-only file ---------------------------------------------------------

namespace {

// The journal's records as readable strings ("put k v 0", "del k", ...), parsed
// with Protobuf's own parser.
std::vector<std::string> journal_of(stairkv::persistence::journal& j) {
  using stairkv::persistence::AofRecord;
  std::vector<std::string> out;
  auto bytes = j.take();
  stairkv::persistence::frame_reader reader{bytes};
  std::string_view payload;
  while (reader.next(payload) == stairkv::persistence::frame_status::ok) {
    AofRecord r;
    EXPECT_TRUE(r.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
    switch (r.change_case()) {
      case AofRecord::kPut:
        out.push_back("put " + r.put().key() + " " + r.put().value() + " "
                      + std::to_string(r.put().deadline_ms()));
        break;
      case AofRecord::kDel:
        out.push_back("del " + r.del());
        break;
      case AofRecord::kDeadline:
        out.push_back("deadline " + r.deadline().key() + " "
                      + std::to_string(r.deadline().deadline_ms()));
        break;
      case AofRecord::kFlush:
        out.push_back("flush " + std::to_string(r.flush().shard()) + "/"
                      + std::to_string(r.flush().stairs()));
        break;
      default:
        out.push_back("?");
    }
  }
  return out;
}

} // namespace

TEST(ShardTableJournal, EveryChangeIsRecordedAsTheStateItLeaves) {
  table t;
  stairkv::persistence::journal j;
  t.journal_to(&j);
  t.set_scope(2, 3);
  run1(t, op_code::set, "k", "v");
  run1(t, op_code::set, "k", "w", 0, set_flag::only_if_absent); // not applied
  run1(t, op_code::set, "t", "v", now + 5000);
  run1(t, op_code::append, "k", "x");
  run1(t, op_code::incr_by, "n", {}, 5);
  run1(t, op_code::set_range, "k", "Z", 0);
  run1(t, op_code::expire, "k", {}, now + 9000);
  run1(t, op_code::persist, "k");
  run1(t, op_code::get, "k"); // a read records nothing
  run1(t, op_code::del, "n");
  run1(t, op_code::get_delete, "t");
  run1(t, op_code::expire, "k", {}, now - 1); // a deadline past: deleted
  EXPECT_EQ(journal_of(j), (strings{"put k v 0", "put t v " + std::to_string(now + 5000),
                                    "put k vx 0", "put n 5 0", "put k Zx 0",
                                    "deadline k " + std::to_string(now + 9000),
                                    "deadline k 0", "del n", "del t", "del k"}));
  run1(t, op_code::set, "a", "1");
  run1(t, op_code::flush, {});
  EXPECT_EQ(journal_of(j), (strings{"put a 1 0", "flush 2/3"}));
}

TEST(ShardTableJournal, ExpiriesAreNotRecordedButEvictionsAre) {
  table t;
  stairkv::persistence::journal j;
  t.journal_to(&j);
  run1(t, op_code::set, "short", "v", now + 10);
  run1(t, op_code::set, "other", std::string(100, 'x'));
  j.take();
  EXPECT_EQ(run1(t, op_code::get, "short", {}, 0, 0, now + 20), "$-1\r\n");
  EXPECT_TRUE(journal_of(j).empty()); // its put carries the deadline
  t.bound_memory(bound_of(stairkv::memory::policy::allkeys_random, 0));
  t.make_room(now + 20);
  EXPECT_EQ(journal_of(j), (strings{"del other"}));
}

TEST(ShardTableJournal, AScopedFlushIsOneRecord) {
  table t;
  stairkv::persistence::journal j;
  for (int i = 0; i < 50; ++i)
    run1(t, op_code::set, key_of(i), "v");
  t.journal_to(&j);
  run1(t, op_code::flush_from, {}, {}, 1, 2);
  EXPECT_EQ(journal_of(j), (strings{"flush 1/2"}));
}

namespace {

// The raw 20-byte digest a table's `digest` share answers.
std::string digest_of(table& t, deadline_ms at = now) {
  batch work;
  work.add(op_code::digest, {});
  batch_result result;
  t.execute(work, result, at);
  EXPECT_NE(result.share(0), nullptr);
  return std::string{result.reply(0)};
}

std::string object_of(table& t, std::string_view key, object_view view) {
  batch work;
  work.add(op_code::object, key, {}, object_args{view});
  return run(t, work).at(0);
}

} // namespace

TEST(ShardTableInspect, DigestIsZeroWhenEmptyAndIgnoresOrderButNotContent) {
  table empty;
  EXPECT_EQ(digest_of(empty), std::string(20, '\0'));
  table a;
  table b;
  run1(a, op_code::set, "x", "1");
  run1(a, op_code::set, "y", "2");
  run1(b, op_code::set, "y", "2");
  run1(b, op_code::set, "x", "1");
  EXPECT_EQ(digest_of(a), digest_of(b));
  EXPECT_NE(digest_of(a), std::string(20, '\0'));
  auto before = digest_of(a);
  run1(a, op_code::set, "x", "3");
  EXPECT_NE(digest_of(a), before);
  run1(a, op_code::set, "x", "1");
  EXPECT_EQ(digest_of(a), before);
  // A deadline counts; a key past its deadline does not.
  run1(a, op_code::expire, "x", {}, now + 5000);
  EXPECT_NE(digest_of(a), before);
  table c;
  run1(c, op_code::set, "y", "2");
  EXPECT_EQ(digest_of(a, now + 6000), digest_of(c, now + 6000));
}

TEST(ShardTableInspect, ObjectReportsEncodingAndIdleTimeWithoutTouchingTheKey) {
  table t;
  run1(t, op_code::set, "n", "12345");
  run1(t, op_code::set, "lead", "012");
  run1(t, op_code::set, "s", "short");
  run1(t, op_code::set, "long", std::string(45, 'x'));
  EXPECT_EQ(object_of(t, "n", object_view::encoding), "$3\r\nint\r\n");
  EXPECT_EQ(object_of(t, "lead", object_view::encoding), "$6\r\nembstr\r\n");
  EXPECT_EQ(object_of(t, "s", object_view::encoding), "$6\r\nembstr\r\n");
  EXPECT_EQ(object_of(t, "long", object_view::encoding), "$3\r\nraw\r\n");
  EXPECT_EQ(object_of(t, "gone", object_view::encoding), "$-1\r\n");
  EXPECT_EQ(object_of(t, "gone", object_view::debug), "-ERR no such key\r\n");
  EXPECT_EQ(object_of(t, "s", object_view::refcount), ":1\r\n");
  // Idle time is read at the batch's clock; reading it is not an access.
  batch later;
  later.add(op_code::object, "s", {}, object_args{object_view::idletime});
  later.add(op_code::object, "s", {}, object_args{object_view::idletime});
  EXPECT_EQ(run(t, later, now + 3500), (std::vector<std::string>{":3\r\n", ":3\r\n"}));
  EXPECT_EQ(object_of(t, "s", object_view::freq).substr(0, 33),
            "-ERR An LFU maxmemory policy is n");
  auto line = object_of(t, "s", object_view::debug);
  EXPECT_EQ(line.rfind("+Value at:0x", 0), 0u) << line;
  EXPECT_NE(line.find(" encoding:embstr serializedlength:6 "), std::string::npos) << line;
  EXPECT_EQ(t.stats().hits, 0); // none of these counted as a read
}

TEST(ShardTableInspect, DigestValueDigestsTheValueOnly) {
  table t;
  run1(t, op_code::set, "a", "same");
  run1(t, op_code::set, "b", "same");
  run1(t, op_code::set, "c", "other");
  auto of = [&](std::string_view key) { return run1(t, op_code::digest_value, key); };
  EXPECT_EQ(of("a"), of("b"));
  EXPECT_NE(of("a"), of("c"));
  EXPECT_EQ(of("missing"), "+" + std::string(40, '0') + "\r\n");
  EXPECT_EQ(of("a").size(), 43u);
}

TEST(ShardTableInspect, ExistsTtlAndTypeLeaveTheIdleTimeAloneAndTouchResetsIt) {
  table t;
  run1(t, op_code::set, "k", "v");
  auto idle_at = [&](deadline_ms at) {
    batch work;
    work.add(op_code::object, "k", {}, object_args{object_view::idletime});
    return run(t, work, at).at(0);
  };
  auto later = now + 5000;
  for (auto code : {op_code::exists, op_code::ttl, op_code::type})
    run1(t, code, "k", {}, 0, 0, later);
  EXPECT_EQ(idle_at(later), ":5\r\n");
  EXPECT_EQ(run1(t, op_code::touch, "k", {}, 0, 0, later), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::touch, "missing", {}, 0, 0, later), ":0\r\n");
  EXPECT_EQ(idle_at(later + 1000), ":1\r\n");
}

// -- databases -------------------------------------------------------------------

namespace {

// One operation on database `db`.
std::string run_in(table& t, std::uint8_t db, op_code code, std::string_view key,
                   std::string_view value = {}, op_args args = no_args{}) {
  batch work;
  work.add(code, key, value, args, false, false, db);
  return run(t, work).at(0);
}

} // namespace

TEST(ShardTableDatabases, EachDatabaseHoldsItsOwnKeys) {
  table t;
  EXPECT_EQ(run_in(t, 0, op_code::set, "k", "zero"), "+OK\r\n");
  EXPECT_EQ(run_in(t, 3, op_code::set, "k", "three"), "+OK\r\n");
  EXPECT_EQ(run_in(t, 3, op_code::set, "only3", "x"), "+OK\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::get, "k"), "$4\r\nzero\r\n");
  EXPECT_EQ(run_in(t, 3, op_code::get, "k"), "$5\r\nthree\r\n");
  EXPECT_EQ(run_in(t, 7, op_code::get, "k"), "$-1\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::count_keys, {}), ":1\r\n");
  EXPECT_EQ(run_in(t, 3, op_code::count_keys, {}), ":2\r\n");
  EXPECT_EQ(t.size(), 3u);
  auto stats = t.stats(now);
  ASSERT_EQ(stats.databases.size(), 2u);
  EXPECT_EQ(stats.databases[1].db, 3);
  EXPECT_EQ(stats.databases[1].keys, 2);
  // FLUSHDB empties one database; FLUSHALL all of them.
  EXPECT_EQ(run_in(t, 3, op_code::flush, {}), "+OK\r\n");
  EXPECT_EQ(run_in(t, 3, op_code::count_keys, {}), ":0\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::get, "k"), "$4\r\nzero\r\n");
  run_in(t, 5, op_code::set, "k", "five");
  EXPECT_EQ(run_in(t, 0, op_code::flush_all, {}), "+OK\r\n");
  EXPECT_EQ(t.size(), 0u);
}

TEST(ShardTableDatabases, MoveTakesTheRecordWithItsDeadline) {
  table t;
  run_in(t, 0, op_code::set, "k", "v", set_args{now + 5000});
  EXPECT_EQ(run_in(t, 0, op_code::move, "k", {}, db_args{2}), ":1\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::get, "k"), "$-1\r\n");
  EXPECT_EQ(run_in(t, 2, op_code::get, "k"), "$1\r\nv\r\n");
  EXPECT_EQ(run_in(t, 2, op_code::ttl, "k", {}, ttl_args{ttl_unit::millis_left}), ":5000\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::move, "k", {}, db_args{2}), ":0\r\n"); // missing here
  run_in(t, 0, op_code::set, "k", "other");
  EXPECT_EQ(run_in(t, 0, op_code::move, "k", {}, db_args{2}), ":0\r\n"); // taken there
  EXPECT_EQ(run_in(t, 0, op_code::get, "k"), "$5\r\nother\r\n");
  EXPECT_EQ(run_in(t, 2, op_code::get, "k"), "$1\r\nv\r\n");
  // Its deadline went along: the key expires in database 2.
  EXPECT_EQ(t.expire_due(now + 5000, 100), 1u);
  EXPECT_EQ(run_in(t, 2, op_code::count_keys, {}), ":0\r\n");
  EXPECT_EQ(run_in(t, 0, op_code::count_keys, {}), ":1\r\n");
}

TEST(ShardTableDatabases, JournalRecordsNameTheirDatabase) {
  using stairkv::persistence::AofRecord;
  table t;
  stairkv::persistence::journal j;
  t.journal_to(&j);
  run_in(t, 0, op_code::set, "a", "1");
  run_in(t, 4, op_code::set, "b", "2");
  run_in(t, 4, op_code::del, "b");
  run_in(t, 0, op_code::del, "a");
  run_in(t, 4, op_code::flush, {});
  auto bytes = j.take();
  stairkv::persistence::frame_reader reader{bytes};
  std::string_view payload;
  std::vector<std::string> seen;
  while (reader.next(payload) == stairkv::persistence::frame_status::ok) {
    AofRecord r;
    ASSERT_TRUE(r.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
    if (r.has_put())
      seen.push_back("put " + r.put().key() + " @" + std::to_string(r.put().db()));
    else if (r.has_del())
      seen.push_back("del " + r.del() + " @0");
    else if (r.has_del_in())
      seen.push_back("del " + r.del_in().key() + " @" + std::to_string(r.del_in().db()));
    else if (r.has_flush())
      seen.push_back("flush database " + std::to_string(r.flush().database()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"put a @0", "put b @4", "del b @4", "del a @0",
                                            "flush database 5"}));
}

TEST(ShardTableDatabases, AHandOverCarriesEachKeysDatabase) {
  table old_shard;
  run_in(old_shard, 0, op_code::set, "k", "zero");
  run_in(old_shard, 6, op_code::set, "k", "six");
  run_in(old_shard, 6, op_code::set, "j", "six too");
  std::vector<record*> records;
  std::vector<std::uint8_t> dbs;
  while (old_shard.hand_over(1, now, [&](record* r, std::uint8_t db) {
    records.push_back(r);
    dbs.push_back(db);
  })) {
  }
  EXPECT_EQ(old_shard.size(), 0u);
  ASSERT_EQ(records.size(), 3u);
  table new_shard;
  new_shard.adopt(records, dbs);
  EXPECT_EQ(run_in(new_shard, 0, op_code::get, "k"), "$4\r\nzero\r\n");
  EXPECT_EQ(run_in(new_shard, 6, op_code::get, "k"), "$3\r\nsix\r\n");
  EXPECT_EQ(run_in(new_shard, 6, op_code::get, "j"), "$7\r\nsix too\r\n");
  EXPECT_EQ(run_in(new_shard, 0, op_code::count_keys, {}), ":1\r\n");
}

TEST(ShardTableDatabases, EvictionDrawsFromEveryDatabase) {
  table t;
  for (int i = 0; i < 2000; ++i)
    run_in(t, 1, op_code::set, "old:" + std::to_string(i), std::string(100, 'x'));
  auto full = t.memory();
  memory_bound bound;
  bound.allowed = full;
  bound.policy = stairkv::memory::policy::allkeys_random;
  t.bound_memory(bound);
  // Writes to database 0 make room in database 1 too.
  for (int i = 0; i < 2000; ++i)
    run_in(t, 0, op_code::set, "new:" + std::to_string(i), std::string(100, 'y'));
  EXPECT_LE(t.memory(), full);
  auto in_one = run_in(t, 1, op_code::count_keys, {});
  EXPECT_NE(in_one, ":2000\r\n") << "nothing left database 1";
  EXPECT_GT(t.take_evicted(), 1000);
}

// -- client-side caching -------------------------------------------------------

namespace {

// The (client, key name) pairs of the invalidations the table owes.
std::multiset<std::pair<std::uint64_t, std::string>> owed(table& t) {
  auto log = t.take_invalidations();
  std::multiset<std::pair<std::uint64_t, std::string>> out;
  for (const auto& e : log.entries)
    out.emplace(e.client, std::string{log.key(e)});
  return out;
}

using pairs = std::multiset<std::pair<std::uint64_t, std::string>>;

} // namespace

TEST(ShardTableTracking, AReadIsRememberedAndItsChangeAnnouncedOnce) {
  table t;
  run1(t, op_code::set, "k", "v");
  batch read;
  read.add(op_code::get, "k");
  read.note_tracking(tracking_note::remember, 7);
  read.add(op_code::get, "missing");
  read.note_tracking(tracking_note::remember, 7);
  run(t, read);
  EXPECT_EQ(t.tracked().size(), 2u);
  EXPECT_TRUE(owed(t).empty());
  run1(t, op_code::incr_by, "other", {}, 1);
  EXPECT_TRUE(owed(t).empty()); // nobody cached it
  run1(t, op_code::set, "k", "w");
  EXPECT_EQ(owed(t), (pairs{{7, "k"}}));
  run1(t, op_code::set, "k", "x");
  EXPECT_TRUE(owed(t).empty()); // forgotten until read again
  run1(t, op_code::set, "missing", "now");
  EXPECT_EQ(owed(t), (pairs{{7, "missing"}}));
}

TEST(ShardTableTracking, NoloopWritesGoUnannouncedToTheirClientButExpiryDoesNot) {
  table t;
  run1(t, op_code::set, "a", "1");
  run1(t, op_code::set, "b", "1", now + 50);
  batch read;
  for (auto key : {"a", "b"}) {
    read.add(op_code::get, key);
    read.note_tracking(tracking_note::remember | tracking_note::noloop, 3);
    read.add(op_code::get, key);
    read.note_tracking(tracking_note::remember, 4);
  }
  run(t, read);
  batch own;
  own.add(op_code::set, "a", "2");
  own.note_tracking(tracking_note::noloop, 3);
  run(t, own);
  EXPECT_EQ(owed(t), (pairs{{4, "a"}}));
  // The deadline passes: both hear of it, the writer of the key too.
  t.expire_due(now + 100, 10);
  EXPECT_EQ(owed(t), (pairs{{3, "b"}, {4, "b"}}));
}

TEST(ShardTableTracking, BroadcastingReportsEveryChangeOnceWithItsDatabase) {
  table t;
  t.broadcast_changes(true);
  batch work;
  work.add(op_code::set, "x", "1");
  work.add(op_code::set, "x", "2", no_args{}, false, false, 3);
  work.add(op_code::get, "x");
  run(t, work);
  EXPECT_EQ(owed(t), (pairs{{0, "x"}, {0, qualified_key(3, "x")}}));
}

TEST(ShardTableTracking, FlushForgetsAndDeletionsAndRestoresAnnounce) {
  auto shared = std::make_shared<stairkv::tracking::settings>();
  table t;
  t.track_in(shared);
  run1(t, op_code::set, "d", "1");
  run1(t, op_code::set, "r", "1");
  batch read;
  for (auto key : {"d", "r", "f"}) {
    read.add(op_code::get, key);
    read.note_tracking(tracking_note::remember, 1);
  }
  run(t, read);
  EXPECT_EQ(shared->keys.load(), 3);
  run1(t, op_code::del, "d");
  batch restore;
  restore.add(op_code::restore, "r", "v", restore_args{0, 0, true, 0});
  run(t, restore);
  EXPECT_EQ(owed(t), (pairs{{1, "d"}, {1, "r"}}));
  run1(t, op_code::flush, {});
  EXPECT_EQ(shared->keys.load(), 0);
  EXPECT_TRUE(t.tracked().empty());
  EXPECT_TRUE(owed(t).empty()); // the gateway sends the null invalidation
}

TEST(ShardTableTracking, TheBoundForgetsKeysWithAnInvalidation) {
  auto shared = std::make_shared<stairkv::tracking::settings>();
  shared->max_keys = 2;
  table t;
  t.track_in(shared);
  batch read;
  for (auto key : {"a", "b", "c", "d"}) {
    read.add(op_code::get, key);
    read.note_tracking(tracking_note::remember, 9);
  }
  run(t, read);
  EXPECT_EQ(shared->keys.load(), 2);
  EXPECT_EQ(owed(t).size(), 2u);
}
