#include "modules/persistence/journal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modules/persistence/framing.hpp"
#include "modules/persistence/records.pb.h"

using namespace stairkv::persistence;

namespace {

// Parses every frame of `bytes` with Protobuf's own parser.
std::vector<AofRecord> records_of(const std::string& bytes) {
  std::vector<AofRecord> out;
  frame_reader reader{bytes};
  std::string_view payload;
  frame_status s;
  while ((s = reader.next(payload)) == frame_status::ok) {
    AofRecord r;
    EXPECT_TRUE(r.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
    out.push_back(r);
  }
  EXPECT_EQ(s, frame_status::end);
  return out;
}

} // namespace

TEST(Journal, WritesRecordsProtobufReadsBack) {
  journal j;
  std::string big(300, 'v');
  j.put(std::string{"k\0\r\n", 4}, big, 1'764'000'000'123);
  j.put("plain", "", 0);
  j.del("gone");
  j.del("");
  j.deadline("k", 1'764'000'999'000);
  j.deadline("k", 0);
  j.flush(0, 1);
  j.flush(5, 3);
  auto records = records_of(j.take());
  ASSERT_EQ(records.size(), 8u);
  ASSERT_TRUE(records[0].has_put());
  EXPECT_EQ(records[0].put().key(), std::string("k\0\r\n", 4));
  EXPECT_EQ(records[0].put().value(), big);
  EXPECT_EQ(records[0].put().deadline_ms(), 1'764'000'000'123);
  ASSERT_TRUE(records[1].has_put());
  EXPECT_EQ(records[1].put().key(), "plain");
  EXPECT_EQ(records[1].put().value(), "");
  EXPECT_EQ(records[1].put().deadline_ms(), 0);
  ASSERT_EQ(records[2].change_case(), AofRecord::kDel);
  EXPECT_EQ(records[2].del(), "gone");
  ASSERT_EQ(records[3].change_case(), AofRecord::kDel);
  EXPECT_EQ(records[3].del(), "");
  ASSERT_TRUE(records[4].has_deadline());
  EXPECT_EQ(records[4].deadline().deadline_ms(), 1'764'000'999'000);
  ASSERT_TRUE(records[5].has_deadline());
  EXPECT_EQ(records[5].deadline().key(), "k");
  EXPECT_EQ(records[5].deadline().deadline_ms(), 0);
  ASSERT_TRUE(records[6].has_flush());
  EXPECT_EQ(records[6].flush().shard(), 0u);
  EXPECT_EQ(records[6].flush().stairs(), 1u);
  ASSERT_TRUE(records[7].has_flush());
  EXPECT_EQ(records[7].flush().shard(), 5u);
  EXPECT_EQ(records[7].flush().stairs(), 3u);
  EXPECT_TRUE(j.empty());
}

TEST(Journal, MatchesWhatProtobufWrites) {
  journal j;
  j.put("key", "value", 42);
  AofRecord r;
  r.mutable_put()->set_key("key");
  r.mutable_put()->set_value("value");
  r.mutable_put()->set_deadline_ms(42);
  std::string expected;
  append_frame(expected, r.SerializeAsString());
  EXPECT_EQ(j.take(), expected);
}

TEST(Journal, FileHeaderCarriesMagicAndVersion) {
  auto bytes = file_header(1'764'000'000'000);
  frame_reader reader{bytes};
  std::string_view payload;
  ASSERT_EQ(reader.next(payload), frame_status::ok);
  FileHeader h;
  ASSERT_TRUE(h.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  EXPECT_EQ(h.magic(), "stairkv");
  EXPECT_EQ(h.format_version(), format_version);
  EXPECT_EQ(h.created_ms(), 1'764'000'000'000);
}

TEST(Journal, EnclosedChangesBecomeOneGroupShareProtobufReads) {
  journal j;
  j.put("before", "x", 0); // not part of the share
  auto mark = j.size();
  j.put("a", "1", 0);
  j.del("b");
  j.enclose(mark, 0xfeedfacecafe, whole_group / 3);
  auto empty_at = j.size();
  j.enclose(empty_at, 7, 5); // a share without changes still says its weight
  auto records = records_of(j.take());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[0].has_put());
  ASSERT_TRUE(records[1].has_share());
  EXPECT_EQ(records[1].share().group(), 0xfeedfacecafeu);
  EXPECT_EQ(records[1].share().weight(), whole_group / 3);
  auto inside = records_of(records[1].share().records());
  ASSERT_EQ(inside.size(), 2u);
  EXPECT_EQ(inside[0].put().key(), "a");
  EXPECT_EQ(inside[1].del(), "b");
  ASSERT_TRUE(records[2].has_share());
  EXPECT_EQ(records[2].share().group(), 7u);
  EXPECT_EQ(records[2].share().weight(), 5u);
  EXPECT_TRUE(records[2].share().records().empty());
}

TEST(Journal, TheWriterFindsEveryShareAndItsWeightWithoutParsing) {
  journal j;
  j.put("plain", std::string(200, 'v'), 9);
  auto mark = j.size();
  j.put("k", std::string(300, 'w'), 0);
  j.enclose(mark, 1ull << 40, whole_group - 1);
  j.del("plain");
  j.enclose(j.size(), 3, 1);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  visit_group_shares(j.take(), [&](std::uint64_t group, std::uint64_t weight) {
    seen.emplace_back(group, weight);
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(std::uint64_t{1} << 40, whole_group - 1));
  EXPECT_EQ(seen[1], std::make_pair(std::uint64_t{3}, std::uint64_t{1}));
}

TEST(Journal, SharesOfAWeightAddUpToItExactly) {
  for (std::uint64_t weight : {whole_group, std::uint64_t{7}, std::uint64_t{1}}) {
    for (std::size_t parts = 1; parts <= 17; ++parts) {
      std::uint64_t sum = 0;
      for (std::size_t i = 0; i < parts; ++i)
        sum += share_of(weight, parts, i);
      EXPECT_EQ(sum, weight) << parts << " parts";
    }
  }
  // Split again (a resizing shard feeding new ones): still the whole.
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    auto part = share_of(whole_group, 3, i);
    for (std::size_t k = 0; k < 5; ++k)
      sum += share_of(part, 5, k);
  }
  EXPECT_EQ(sum, whole_group);
}
