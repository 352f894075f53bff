#include "modules/tracking/prefixes.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace stairkv::tracking {
namespace {

TEST(TrackingPrefixes, OverlapsAreRefusedInRedisWords) {
  EXPECT_EQ(prefix_overlap_error({}, {"FOOBAR", "FOO"}),
            "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. "
            "Prefixes for a single client must not overlap.");
  EXPECT_EQ(prefix_overlap_error({"FOO", "BAR"}, {"FO"}),
            "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. "
            "Prefixes for a single client must not overlap.");
  EXPECT_EQ(prefix_overlap_error({"FOO", "BAR"}, {"BARB"}).substr(0, 40),
            "ERR Prefix 'BARB' overlaps with an exist");
  EXPECT_EQ(prefix_overlap_error({"FOO"}, {"FOO", "BAZ"}), "");
  EXPECT_EQ(prefix_overlap_error({}, {"a:", "b:"}), "");
}

TEST(TrackingPrefixes, MatchFindsEveryPrefixOfTheKeyAndHonoursNoloop) {
  prefix_table table;
  table.add("", 1, false);
  table.add("user:", 2, false);
  table.add("user:1", 3, true);
  table.add("z", 4, false);
  std::set<std::pair<std::uint64_t, std::string>> seen;
  table.match("user:17", 3, [&](std::uint64_t c, std::string_view p) {
    seen.emplace(c, std::string{p});
  });
  EXPECT_EQ(seen, (std::set<std::pair<std::uint64_t, std::string>>{{1, ""}, {2, "user:"}}));
  seen.clear();
  table.match("user:17", 9, [&](std::uint64_t c, std::string_view p) {
    seen.emplace(c, std::string{p});
  });
  EXPECT_EQ(seen.size(), 3u);
  table.remove(1);
  table.remove(2);
  seen.clear();
  table.match("anything", 0, [&](std::uint64_t c, std::string_view p) {
    seen.emplace(c, std::string{p});
  });
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(table.size(), 2u);
}

} // namespace
} // namespace stairkv::tracking
