// The shard table's sets: replies, both encodings and the change between
// them, draws, WRONGTYPE, and what reaches the journal.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/persistence/records.pb.h"
#include "modules/shard/table.hpp"
#include "modules/shard/typed_value_testing.hpp"
#include "modules/values/compact_set.hpp"
#include "modules/values/packed.hpp"

using namespace stairkv::shard;
using namespace stairkv::shard::testing;
namespace values = stairkv::values;

namespace {

std::string encoding(table& t, std::string_view key) {
  return run1(t, op_code::object, key, {}, object_args{});
}

} // namespace

TEST(ShardSets, AddRemoveMembershipAnswerAsRedis) {
  table t;
  EXPECT_EQ(run1(t, op_code::sadd, "s", packed({"a", "b", "a"})), ":2\r\n");
  EXPECT_EQ(run1(t, op_code::sadd, "s", packed({"b", "c"})), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::scard, "s"), ":3\r\n");
  EXPECT_EQ(run1(t, op_code::sismember, "s", "c"), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::smismember, "s", packed({"a", "z"})), "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(run1(t, op_code::smembers, "s", {}, hash_args{hash_mode::all, 3}).substr(0, 4),
            "~3\r\n");
  EXPECT_EQ(run1(t, op_code::type, "s"), "+set\r\n");
  EXPECT_EQ(run1(t, op_code::get, "s"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(run1(t, op_code::srem, "s", packed({"a", "z"})), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::srem, "s", packed({"b", "c"})), ":2\r\n");
  EXPECT_EQ(run1(t, op_code::exists, "s"), ":0\r\n"); // the last member took the key
}

TEST(ShardSets, IntegersStayCompactLongerThanOtherMembers) {
  table t;
  t.encode_sets(values::set_limits{8, 4, 10});
  strings numbers;
  for (int i = 0; i < 8; ++i)
    numbers.push_back(std::to_string(i));
  run1(t, op_code::sadd, "ints", packed(numbers));
  EXPECT_EQ(encoding(t, "ints"), "$6\r\nintset\r\n");
  run1(t, op_code::sadd, "ints", packed({"8"}));
  EXPECT_EQ(encoding(t, "ints"), "$9\r\nhashtable\r\n");
  run1(t, op_code::sadd, "words", packed({"a", "b", "c", "d"}));
  EXPECT_EQ(encoding(t, "words"), "$8\r\nlistpack\r\n");
  run1(t, op_code::sadd, "words", packed({"e"}));
  EXPECT_EQ(encoding(t, "words"), "$9\r\nhashtable\r\n");
  run1(t, op_code::sadd, "long", packed({std::string(11, 'x')}));
  EXPECT_EQ(encoding(t, "long"), "$9\r\nhashtable\r\n");
  EXPECT_EQ(run1(t, op_code::scard, "ints"), ":9\r\n");
  EXPECT_EQ(run1(t, op_code::sismember, "ints", "8"), ":1\r\n");
}

TEST(ShardSets, PopAndRandomMemberDrawFromTheSet) {
  table t;
  strings members;
  for (int i = 0; i < 50; ++i)
    members.push_back("m" + std::to_string(i));
  run1(t, op_code::sadd, "s", packed(members));
  std::set<std::string> all(members.begin(), members.end());
  random_args three;
  three.counted = true;
  three.count = 3;
  EXPECT_EQ(run1(t, op_code::srandmember, "s", {}, three).substr(0, 4), "*3\r\n");
  random_args repeats = three;
  repeats.count = -200; // more than the set holds: repeats
  EXPECT_EQ(run1(t, op_code::srandmember, "s", {}, repeats).substr(0, 6), "*200\r\n");
  random_args pop = three;
  pop.count = 10;
  EXPECT_EQ(run1(t, op_code::spop, "s", {}, pop).substr(0, 5), "*10\r\n");
  EXPECT_EQ(run1(t, op_code::scard, "s"), ":40\r\n");
  pop.count = 100;
  run1(t, op_code::spop, "s", {}, pop);
  EXPECT_EQ(run1(t, op_code::exists, "s"), ":0\r\n");
  EXPECT_EQ(run1(t, op_code::spop, "s", {}, random_args{}), "$-1\r\n");
}

TEST(ShardSets, TheJournalHoldsTheMembersChangedAndSnapshotsTheWholeSet) {
  using stairkv::persistence::AofRecord;
  table t;
  stairkv::persistence::journal j;
  t.journal_to(&j);
  run1(t, op_code::sadd, "s", packed({"a", "b"}));
  run1(t, op_code::sadd, "s", packed({"a"})); // nothing new: nothing recorded
  run1(t, op_code::srem, "s", packed({"a"}));
  auto bytes = j.take();
  stairkv::persistence::frame_reader reader{bytes};
  std::string_view payload;
  strings seen;
  while (reader.next(payload) == stairkv::persistence::frame_status::ok) {
    AofRecord r;
    ASSERT_TRUE(r.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
    if (r.has_set_add())
      seen.push_back("add " + r.set_add().items());
    else if (r.has_set_del())
      seen.push_back("del " + r.set_del().items());
    else
      seen.push_back("?");
  }
  EXPECT_EQ(seen, (strings{"add " + packed({"a", "b"}), "del " + packed({"a"})}));
  stairkv::persistence::journal snapshot;
  while (!t.snapshot_chunk(10, snapshot, now)) {
  }
  auto frames = snapshot.take();
  stairkv::persistence::frame_reader back{frames};
  ASSERT_EQ(back.next(payload), stairkv::persistence::frame_status::ok);
  AofRecord put;
  ASSERT_TRUE(put.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  EXPECT_EQ(put.put().type(), static_cast<std::uint32_t>(value_type::set));
  EXPECT_TRUE(values::compact_set::valid(put.put().value()));
  table copy;
  EXPECT_EQ(run1(copy, op_code::restore, "s", put.put().value(),
                 restore_args{0, static_cast<std::uint8_t>(value_type::set)}),
            "+OK\r\n");
  EXPECT_EQ(run1(copy, op_code::digest_value, "s"), run1(t, op_code::digest_value, "s"));
}
