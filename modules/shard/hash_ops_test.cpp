// The shard table's hashes: the replies Redis gives, both encodings and the
// change between them, WRONGTYPE both ways, exact bytes, and what reaches the
// journal.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/journal.hpp"
#include "modules/persistence/records.pb.h"
#include "modules/shard/table.hpp"
#include "modules/shard/typed_value_testing.hpp"
#include "modules/values/compact_hash.hpp"
#include "modules/values/packed.hpp"

using namespace stairkv::shard;
using namespace stairkv::shard::testing;
namespace values = stairkv::values;

namespace {

std::string hset(table& t, std::string_view key, const strings& pairs,
                 hash_mode mode = hash_mode::count_added) {
  return run1(t, op_code::hset, key, packed(pairs), hash_args{mode});
}

const std::string wrong_type =
  "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

} // namespace

TEST(ShardHashes, SetGetDeleteAnswerAsRedis) {
  table t;
  EXPECT_EQ(hset(t, "h", {"a", "1", "b", "2"}), ":2\r\n");
  EXPECT_EQ(hset(t, "h", {"a", "3", "c", "4"}), ":1\r\n"); // a replaced, c added
  EXPECT_EQ(hset(t, "h", {"c", "5"}, hash_mode::ok), "+OK\r\n");
  EXPECT_EQ(hset(t, "h", {"c", "6"}, hash_mode::if_absent), ":0\r\n");
  EXPECT_EQ(hset(t, "h", {"d", "7"}, hash_mode::if_absent), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "h", "a"), "$1\r\n3\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "h", "c"), "$1\r\n5\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "h", "zz"), "$-1\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "nohash", "a"), "$-1\r\n");
  EXPECT_EQ(run1(t, op_code::hmget, "h", packed({"a", "zz", "b"}), hash_args{}),
            "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n");
  EXPECT_EQ(run1(t, op_code::hmget, "h", packed({"a", "zz"}), hash_args{hash_mode::all, 3}),
            "*2\r\n$1\r\n3\r\n_\r\n");
  EXPECT_EQ(run1(t, op_code::hlen, "h"), ":4\r\n");
  EXPECT_EQ(run1(t, op_code::hstrlen, "h", "a"), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::hexists, "h", "b"), ":1\r\n");
  EXPECT_EQ(run1(t, op_code::hexists, "h", "q"), ":0\r\n");
  EXPECT_EQ(run1(t, op_code::type, "h"), "+hash\r\n");
  EXPECT_EQ(run1(t, op_code::hgetall, "h", {}, hash_args{hash_mode::fields}),
            "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
  EXPECT_EQ(run1(t, op_code::hgetall, "h", {}, hash_args{hash_mode::all, 3}).substr(0, 4),
            "%4\r\n");
  EXPECT_EQ(run1(t, op_code::hdel, "h", packed({"a", "b", "zz"})), ":2\r\n");
  EXPECT_EQ(run1(t, op_code::hdel, "h", packed({"c", "d"})), ":2\r\n");
  EXPECT_EQ(run1(t, op_code::exists, "h"), ":0\r\n"); // the last field took the key
  EXPECT_EQ(run1(t, op_code::hgetall, "h", {}, hash_args{}), "*0\r\n");
}

TEST(ShardHashes, ATypeMismatchIsWrongTypeBothWaysAndSetReplacesAnyType) {
  table t;
  hset(t, "h", {"f", "v"});
  run1(t, op_code::set, "s", "text");
  EXPECT_EQ(run1(t, op_code::get, "h"), wrong_type);
  EXPECT_EQ(run1(t, op_code::append, "h", "x"), wrong_type);
  EXPECT_EQ(run1(t, op_code::incr_by, "h", {}, incr_args{1}), wrong_type);
  EXPECT_EQ(run1(t, op_code::strlen, "h"), wrong_type);
  EXPECT_EQ(run1(t, op_code::hget, "s", "f"), wrong_type);
  EXPECT_EQ(hset(t, "s", {"f", "v"}), wrong_type);
  EXPECT_EQ(run1(t, op_code::mget_one, "h"), "$-1\r\n"); // MGET reads it as null
  EXPECT_EQ(run1(t, op_code::set, "h", "now a string"), "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::get, "h"), "$12\r\nnow a string\r\n");
  EXPECT_EQ(run1(t, op_code::type, "h"), "+string\r\n");
}

TEST(ShardHashes, ABigOrLongHashTakesTheLargeEncodingAndKeepsEveryField) {
  table t;
  t.encode_hashes(values::hash_limits{4, 8});
  hset(t, "small", {"a", "1", "b", "2"});
  EXPECT_EQ(run1(t, op_code::object, "small", {}, object_args{}), "$8\r\nlistpack\r\n");
  hset(t, "long", {"a", std::string(9, 'x')});
  EXPECT_EQ(run1(t, op_code::object, "long", {}, object_args{}), "$9\r\nhashtable\r\n");
  auto before = t.memory();
  for (int i = 0; i < 1000; ++i)
    hset(t, "big", {"field" + std::to_string(i), std::string(100, 'v')});
  EXPECT_EQ(run1(t, op_code::object, "big", {}, object_args{}), "$9\r\nhashtable\r\n");
  EXPECT_EQ(run1(t, op_code::hlen, "big"), ":1000\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "big", "field777"), "$100\r\n" + std::string(100, 'v') + "\r\n");
  EXPECT_GE(t.memory(), before + 1000 * 100); // the container's bytes count
  EXPECT_EQ(run1(t, op_code::hdel, "big", packed({"field1"})), ":1\r\n");
  run1(t, op_code::del, "big");
  EXPECT_LT(t.memory(), before + 1000); // and go with the key
}

TEST(ShardHashes, IncrementsCheckTheStoredValue) {
  table t;
  EXPECT_EQ(run1(t, op_code::hincrby, "h", "n", incr_args{5}), ":5\r\n");
  EXPECT_EQ(run1(t, op_code::hincrby, "h", "n", incr_args{-7}), ":-2\r\n");
  hset(t, "h", {"s", "abc", "big", "9223372036854775807"});
  EXPECT_EQ(run1(t, op_code::hincrby, "h", "s", incr_args{1}),
            "-ERR hash value is not an integer\r\n");
  EXPECT_EQ(run1(t, op_code::hincrby, "h", "big", incr_args{1}),
            "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run1(t, op_code::hincrbyfloat, "h", packed({"f", "1.5"})), "$3\r\n1.5\r\n");
  EXPECT_EQ(run1(t, op_code::hincrbyfloat, "h", packed({"f", "0.25"})), "$4\r\n1.75\r\n");
  EXPECT_EQ(run1(t, op_code::hincrbyfloat, "h", packed({"s", "1"})),
            "-ERR hash value is not a float\r\n");
  EXPECT_EQ(run1(t, op_code::hincrbyfloat, "h", packed({"f", "x"})),
            "-ERR value is not a valid float\r\n");
}

TEST(ShardHashes, TheJournalHoldsTheFieldsChangedAndSnapshotsTheWholeHash) {
  using stairkv::persistence::AofRecord;
  table t;
  t.encode_hashes(values::hash_limits{2, 64});
  stairkv::persistence::journal j;
  t.journal_to(&j);
  hset(t, "h", {"a", "1", "b", "2", "c", "3"}); // large at once
  run1(t, op_code::hdel, "h", packed({"a"}));
  run1(t, op_code::hincrby, "h", "b", incr_args{40});
  auto bytes = j.take();
  stairkv::persistence::frame_reader reader{bytes};
  std::string_view payload;
  strings seen;
  while (reader.next(payload) == stairkv::persistence::frame_status::ok) {
    AofRecord r;
    ASSERT_TRUE(r.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
    if (r.has_hash_set())
      seen.push_back("set " + r.hash_set().key() + " " + r.hash_set().items());
    else if (r.has_hash_del())
      seen.push_back("del " + r.hash_del().key() + " " + r.hash_del().items());
    else
      seen.push_back("?");
  }
  EXPECT_EQ(seen, (strings{"set h " + packed({"a", "1", "b", "2", "c", "3"}),
                           "del h " + packed({"a"}), "set h " + packed({"b", "42"})}));
  // A snapshot writes the hash whole, typed; restoring it gives the same hash.
  stairkv::persistence::journal snapshot;
  while (!t.snapshot_chunk(10, snapshot, now)) {
  }
  auto frames = snapshot.take();
  stairkv::persistence::frame_reader back{frames};
  ASSERT_EQ(back.next(payload), stairkv::persistence::frame_status::ok);
  AofRecord put;
  ASSERT_TRUE(put.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  ASSERT_TRUE(put.has_put());
  EXPECT_EQ(put.put().type(), static_cast<std::uint32_t>(value_type::hash));
  EXPECT_TRUE(values::compact_hash::valid(put.put().value()));
  table copy;
  EXPECT_EQ(run1(copy, op_code::restore, "h", put.put().value(),
                 restore_args{0, static_cast<std::uint8_t>(value_type::hash)}),
            "+OK\r\n");
  EXPECT_EQ(run1(copy, op_code::digest_value, "h"), run1(t, op_code::digest_value, "h"));
  EXPECT_EQ(run1(copy, op_code::hget, "h", "b"), "$2\r\n42\r\n");
  EXPECT_EQ(run1(copy, op_code::restore, "bad", "\x05junk",
                 restore_args{0, static_cast<std::uint8_t>(value_type::hash)}),
            "-ERR Bad data format\r\n");
}

TEST(ShardHashes, PeekCarriesTheTypeSoRenameKeepsAHash) {
  table t;
  hset(t, "src", {"f", "v"});
  batch work;
  work.add(op_code::peek, "src");
  batch_result result;
  t.execute(work, result, now);
  const auto* share = result.share(0);
  ASSERT_NE(share, nullptr);
  EXPECT_TRUE(share->found);
  EXPECT_EQ(share->type, static_cast<std::uint8_t>(value_type::hash));
  std::string value{result.reply(0)};
  run1(t, op_code::rename_from, "src");
  EXPECT_EQ(run1(t, op_code::rename_to, "dst", value, restore_args{0, share->type}),
            "+OK\r\n");
  EXPECT_EQ(run1(t, op_code::hget, "dst", "f"), "$1\r\nv\r\n");
}

TEST(ShardHashes, ABigHashDeletedIsLeftToBeFreedElsewhereAndNoLongerCounted) {
  table t;
  t.encode_hashes(values::hash_limits{4, 64});
  for (int i = 0; i < 1000; ++i)
    hset(t, "big", {"f" + std::to_string(i), std::string(50, 'v')});
  hset(t, "small", {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5"}); // large, 5 fields
  auto full = t.memory();
  EXPECT_EQ(run1(t, op_code::del, "small"), ":1\r\n");
  EXPECT_TRUE(t.take_reclaimed().empty()); // a few fields: freed at once
  EXPECT_EQ(run1(t, op_code::del, "big"), ":1\r\n");
  EXPECT_LT(t.memory(), full - 1000 * 50);
  auto reclaimed = t.take_reclaimed();
  EXPECT_EQ(reclaimed.size(), 1u);
  reclaimed.clear(); // freed here (a shard hands them to a thread of their own)
  EXPECT_TRUE(t.take_reclaimed().empty());
  for (int i = 0; i < 100; ++i)
    hset(t, "again", {"f" + std::to_string(i), "v"});
  EXPECT_EQ(run1(t, op_code::set, "again", "a string now"), "+OK\r\n");
  EXPECT_EQ(t.take_reclaimed().size(), 1u); // a SET over it leaves it too
  EXPECT_EQ(run1(t, op_code::get, "again"), "$12\r\na string now\r\n");
}

TEST(ShardHashes, AFlushLeavesItsBigValuesToBeFreedElsewhere) {
  table t;
  t.encode_hashes(values::hash_limits{4, 64});
  for (int i = 0; i < 1000; ++i)
    hset(t, "big", {"f" + std::to_string(i), "v"});
  hset(t, "small", {"a", "1"});
  EXPECT_EQ(run1(t, op_code::flush, ""), "+OK\r\n");
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.take_reclaimed().size(), 1u); // the big one; the small one went at once
  EXPECT_EQ(run1(t, op_code::hlen, "big"), ":0\r\n");
}
