#include "modules/values/compact_zset.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace stairkv::values;

namespace {

using seen = std::vector<std::pair<std::string, double>>;

template <class Z>
seen scored_range_by_score(const Z& z, score_bound min, score_bound max, bool reverse,
                           std::int64_t offset, std::int64_t limit) {
  seen out;
  z.range_by_score(min, max, reverse, offset, limit,
                   [&](std::string_view m, double s) { out.emplace_back(std::string{m}, s); });
  return out;
}

template <class Z>
seen scored_range_by_lex(const Z& z, const lex_bound& min, const lex_bound& max, bool reverse,
                         std::int64_t offset, std::int64_t limit) {
  seen out;
  z.range_by_lex(min, max, reverse, offset, limit,
                 [&](std::string_view m, double s) { out.emplace_back(std::string{m}, s); });
  return out;
}

template <class Z>
seen everything(const Z& z) {
  seen out;
  z.for_each([&](std::string_view m, double s) { out.emplace_back(std::string{m}, s); });
  return out;
}

} // namespace

TEST(CompactZset, KeepsOrderAndAnswersAsTheSkipList) {
  std::vector<compact_zset::element> row;
  compact_zset z{row};
  std::vector<std::string> members; // the views' storage
  members.reserve(64);
  for (const char* m : {"b", "a", "c", "ab", ""})
    members.emplace_back(m);
  EXPECT_TRUE(z.set(members[0], 2));
  EXPECT_TRUE(z.set(members[1], 2));
  EXPECT_TRUE(z.set(members[2], 1));
  EXPECT_TRUE(z.set(members[3], 2));
  EXPECT_TRUE(z.set(members[4], -std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(z.set(members[2], 1)); // the same score: nothing changes
  EXPECT_EQ(everything(z), (seen{{"", -std::numeric_limits<double>::infinity()},
                                 {"c", 1},
                                 {"a", 2},
                                 {"ab", 2},
                                 {"b", 2}}));
  EXPECT_EQ(z.rank("ab"), 3);
  EXPECT_EQ(z.rank("ab", true), 1);
  EXPECT_EQ(z.rank("zz"), -1);
  EXPECT_EQ(z.count_by_score({1, true}, {2}), 3u);
  std::string bytes;
  z.write(bytes);
  EXPECT_TRUE(compact_zset::valid(bytes));
  std::unique_ptr<sorted_set> large{z.to_large()};
  ASSERT_TRUE(large->check_invariants());
  EXPECT_EQ(everything(*large), everything(z));
  std::string large_bytes;
  large->write_packed(large_bytes);
  EXPECT_EQ(large_bytes, bytes); // one serialised form for both encodings
  EXPECT_FALSE(compact_zset::valid(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(compact_zset::valid(bytes + "x"));
}

namespace {

// Random changes and questions on both encodings: every answer the same. Lex
// ranges are meaningful when every score is equal (`flat`), and only then
// compared.
void agree_on_random_work(bool flat) {
  std::mt19937_64 random{flat ? 7u : 20261207u};
  std::vector<std::string> pool;
  for (int i = 0; i < 40; ++i)
    pool.push_back(std::string(static_cast<std::size_t>(i % 4), 'm') + std::to_string(i));
  const double scores[] = {-std::numeric_limits<double>::infinity(), -1.5, 0, 0, 1, 2, 2, 3.25,
                           std::numeric_limits<double>::infinity()};
  std::vector<compact_zset::element> row;
  std::string bytes{empty_packed_zset()};
  sorted_set large;
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  for (int step = 0; step < 4000; ++step) {
    compact_zset z{bytes, row};
    const auto& member = pool[pick(pool.size())];
    double score = flat ? 0.0 : scores[pick(std::size(scores))];
    score_bound min{scores[pick(std::size(scores))], pick(2) == 0};
    score_bound max{scores[pick(std::size(scores))], pick(2) == 0};
    lex_bound lmin, lmax;
    ASSERT_TRUE(parse_lex_bound(pick(5) == 0 ? std::string{"-"}
                                : "[" + pool[pick(pool.size())], lmin));
    ASSERT_TRUE(parse_lex_bound(pick(5) == 0 ? std::string{"+"}
                                : "(" + pool[pick(pool.size())], lmax));
    auto offset = static_cast<std::int64_t>(pick(4));
    auto limit = static_cast<std::int64_t>(pick(5)) - 1;
    bool reverse = pick(2) == 0;
    switch (pick(6)) {
      case 0:
      case 1:
        ASSERT_EQ(z.set(member, score), large.set(member, score));
        break;
      case 2:
        ASSERT_EQ(z.erase(member), large.erase(member));
        break;
      case 3: {
        std::vector<std::string> a, b;
        ASSERT_EQ(z.erase_by_score(min, max, [&](std::string_view m) { a.emplace_back(m); }),
                  large.erase_by_score(min, max, [&](std::string_view m) { b.emplace_back(m); }));
        ASSERT_EQ(a, b);
        break;
      }
      case 4: {
        seen a, b;
        z.pop(1, reverse, [&](std::string_view m, double s) { a.emplace_back(std::string{m}, s); });
        large.pop(1, reverse,
                  [&](std::string_view m, double s) { b.emplace_back(std::string{m}, s); });
        ASSERT_EQ(a, b);
        break;
      }
      default:
        break;
    }
    ASSERT_EQ(z.size(), large.size());
    ASSERT_EQ(z.rank(member, reverse), large.rank(member, reverse));
    ASSERT_EQ(z.count_by_score(min, max), large.count_by_score(min, max));
    if (flat)
      ASSERT_EQ(z.count_by_lex(lmin, lmax), large.count_by_lex(lmin, lmax));
    ASSERT_EQ(scored_range_by_score(z, min, max, reverse, offset, limit),
              scored_range_by_score(large, min, max, reverse, offset, limit))
      << "step " << step;
    if (flat)
      ASSERT_EQ(scored_range_by_lex(z, lmin, lmax, reverse, offset, limit),
                scored_range_by_lex(large, lmin, lmax, reverse, offset, limit))
        << "step " << step;
    ASSERT_EQ(everything(z), everything(large));
    // The member views point into the pool and the old bytes: write first.
    std::string next;
    z.write(next);
    bytes = std::move(next);
  }
}

} // namespace

TEST(CompactZset, AgreesWithSortedSetOnRandomWork) {
  agree_on_random_work(false);
}

TEST(CompactZset, AgreesWithSortedSetOnLexRangesOfEqualScores) {
  agree_on_random_work(true);
}
