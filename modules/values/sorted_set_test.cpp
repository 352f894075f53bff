#include "modules/values/sorted_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "modules/values/packed.hpp"

using namespace stairkv::values;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

using element = std::pair<std::string, double>;
using elements = std::vector<element>;

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// What a sorted set should hold: members to scores, and the order.
struct model {
  std::map<std::string, double> scores;
  std::set<std::pair<double, std::string>> order; // -0.0 and 0.0 compare equal here too

  bool set(const std::string& member, double score) {
    auto it = scores.find(member);
    if (it == scores.end()) {
      scores.emplace(member, score);
      order.emplace(score, member);
      return true;
    }
    if (it->second == score)
      return false; // the stored score stays, as in Redis
    order.erase({it->second, member});
    it->second = score;
    order.emplace(score, member);
    return false;
  }

  bool erase(const std::string& member) {
    auto it = scores.find(member);
    if (it == scores.end())
      return false;
    order.erase({it->second, member});
    scores.erase(it);
    return true;
  }

  elements list() const {
    elements out;
    for (const auto& [score, member] : order)
      out.emplace_back(member, scores.at(member));
    return out;
  }
};

elements all_of(const sorted_set& z) {
  elements out;
  z.for_each([&](std::string_view m, double s) { out.emplace_back(std::string{m}, s); });
  return out;
}

::testing::AssertionResult same(const elements& got, const elements& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " elements, want " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].first != want[i].first || !same_bits(got[i].second, want[i].second))
      return ::testing::AssertionFailure()
             << "element " << i << " differs (score " << got[i].second << ", want "
             << want[i].second << ")";
  return ::testing::AssertionSuccess();
}

bool in_score(double v, const score_bound& min, const score_bound& max) {
  bool above = min.exclusive ? v > min.value : v >= min.value;
  bool below = max.exclusive ? v < max.value : v <= max.value;
  return above && below;
}

bool in_lex(const std::string& m, const lex_bound& min, const lex_bound& max) {
  bool above = min.kind == lex_bound::minus_infinity
               || (min.kind == lex_bound::finite
                   && (min.exclusive ? m > std::string{min.value} : m >= std::string{min.value}));
  bool below = max.kind == lex_bound::plus_infinity
               || (max.kind == lex_bound::finite
                   && (max.exclusive ? m < std::string{max.value} : m <= std::string{max.value}));
  return above && below;
}

elements page(elements in, bool reverse, std::int64_t offset, std::int64_t limit) {
  if (reverse)
    std::reverse(in.begin(), in.end());
  if (offset < 0)
    return {};
  if (static_cast<std::size_t>(offset) >= in.size())
    return {};
  in.erase(in.begin(), in.begin() + offset);
  if (limit >= 0 && static_cast<std::size_t>(limit) < in.size())
    in.resize(static_cast<std::size_t>(limit));
  return in;
}

// Members from a small alphabet with NUL and high bytes: many are prefixes of
// others.
std::string random_member(std::mt19937_64& rng) {
  static const char alphabet[] = {'a', 'b', '\0', '\x80', '\xff'};
  std::string m;
  auto length = rng() % 5;
  for (std::uint64_t i = 0; i < length; ++i)
    m.push_back(alphabet[rng() % sizeof alphabet]);
  return m;
}

double random_score(std::mt19937_64& rng) {
  static const double pool[] = {-inf, -2.5, -1, -0.0, 0.0, 1, 1.5, 2, inf};
  if (rng() % 4 == 0)
    return static_cast<double>(static_cast<int>(rng() % 13) - 6) / 2; // -3 .. 3 by halves
  return pool[rng() % (sizeof pool / sizeof pool[0])];
}

score_bound random_score_bound(std::mt19937_64& rng) {
  return score_bound{random_score(rng), rng() % 2 == 0};
}

// Bounds keep a view: the strings live in `keep`.
lex_bound random_lex_bound(std::mt19937_64& rng, std::vector<std::unique_ptr<std::string>>& keep) {
  switch (rng() % 8) {
  case 0:
    return lex_bound{{}, true, lex_bound::minus_infinity};
  case 1:
    return lex_bound{{}, true, lex_bound::plus_infinity};
  default:
    keep.push_back(std::make_unique<std::string>(random_member(rng)));
    return lex_bound{*keep.back(), rng() % 2 == 0, lex_bound::finite};
  }
}

// Every query against the model; `lex` when all scores are equal.
void check_queries(const sorted_set& z, const model& m, std::mt19937_64& rng, bool lex) {
  auto want = m.list();
  ASSERT_EQ(z.size(), want.size());
  ASSERT_TRUE(same(all_of(z), want));

  for (int q = 0; q < 4; ++q) {
    auto member = random_member(rng);
    double s = 0;
    auto it = m.scores.find(member);
    ASSERT_EQ(z.score(member, s), it != m.scores.end());
    std::int64_t want_rank = -1;
    if (it != m.scores.end()) {
      EXPECT_TRUE(same_bits(s, it->second));
      want_rank = std::distance(m.order.begin(), m.order.find({it->second, member}));
    }
    EXPECT_EQ(z.rank(member), want_rank);
    EXPECT_EQ(z.rank(member, true),
              want_rank < 0 ? -1 : static_cast<std::int64_t>(want.size()) - 1 - want_rank);
  }

  for (int q = 0; q < 3; ++q) {
    auto r = static_cast<std::size_t>(rng() % (want.size() + 2));
    std::string_view member;
    double s = 0;
    ASSERT_EQ(z.at_rank(r, member, s), r < want.size());
    if (r < want.size()) {
      EXPECT_EQ(member, want[r].first);
      EXPECT_TRUE(same_bits(s, want[r].second));
    }
  }

  if (!want.empty()) {
    for (int q = 0; q < 3; ++q) {
      auto a = static_cast<std::size_t>(rng() % want.size());
      auto b = static_cast<std::size_t>(rng() % want.size());
      auto start = std::min(a, b);
      auto stop = std::max(a, b);
      bool reverse = rng() % 2 == 0;
      elements got;
      z.range_by_rank(start, stop, reverse,
                      [&](std::string_view mm, double s) { got.emplace_back(std::string{mm}, s); });
      auto ordered = want;
      if (reverse)
        std::reverse(ordered.begin(), ordered.end());
      elements expected(ordered.begin() + start, ordered.begin() + stop + 1);
      EXPECT_TRUE(same(got, expected)) << start << ".." << stop << " reverse " << reverse;
    }
  }

  for (int q = 0; q < 4; ++q) {
    auto min = random_score_bound(rng);
    auto max = random_score_bound(rng);
    bool reverse = rng() % 2 == 0;
    std::int64_t offset = rng() % 4 == 0 ? 0 : static_cast<std::int64_t>(rng() % 8) - 1;
    std::int64_t limit = static_cast<std::int64_t>(rng() % 8) - 2;
    elements in;
    for (const auto& e : want)
      if (in_score(e.second, min, max))
        in.push_back(e);
    EXPECT_EQ(z.count_by_score(min, max), in.size());
    auto expected = page(in, reverse, offset, limit);
    elements got;
    auto visited = z.range_by_score(min, max, reverse, offset, limit, [&](std::string_view mm, double s) {
      got.emplace_back(std::string{mm}, s);
    });
    EXPECT_EQ(visited, got.size());
    EXPECT_TRUE(same(got, expected))
      << (min.exclusive ? "(" : "") << min.value << " " << (max.exclusive ? "(" : "") << max.value
      << " reverse " << reverse << " offset " << offset << " limit " << limit;
  }

  if (lex) {
    std::vector<std::unique_ptr<std::string>> keep;
    for (int q = 0; q < 4; ++q) {
      auto min = random_lex_bound(rng, keep);
      auto max = random_lex_bound(rng, keep);
      bool reverse = rng() % 2 == 0;
      std::int64_t offset = rng() % 4 == 0 ? 0 : static_cast<std::int64_t>(rng() % 8) - 1;
      std::int64_t limit = static_cast<std::int64_t>(rng() % 8) - 2;
      elements in;
      for (const auto& e : want)
        if (in_lex(e.first, min, max))
          in.push_back(e);
      EXPECT_EQ(z.count_by_lex(min, max), in.size());
      auto expected = page(in, reverse, offset, limit);
      elements got;
      auto visited = z.range_by_lex(min, max, reverse, offset, limit, [&](std::string_view mm, double s) {
        got.emplace_back(std::string{mm}, s);
      });
      EXPECT_EQ(visited, got.size());
      EXPECT_TRUE(same(got, expected));
    }
  }
}

// One step that changes the set, the same on the model.
void random_change(sorted_set& z, model& m, std::mt19937_64& rng, bool lex) {
  auto pick = rng() % 100;
  if (pick < 50) {
    auto member = random_member(rng);
    double score = lex ? (rng() % 2 == 0 ? 0.0 : -0.0) : random_score(rng);
    ASSERT_EQ(z.set(member, score), m.set(member, score));
  } else if (pick < 68) {
    auto member = random_member(rng);
    ASSERT_EQ(z.erase(member), m.erase(member));
  } else if (pick < 74) {
    if (m.scores.empty())
      return;
    auto want = m.list();
    auto a = static_cast<std::size_t>(rng() % want.size());
    auto b = std::min(want.size() - 1, a + static_cast<std::size_t>(rng() % 4));
    std::vector<std::string> removed;
    ASSERT_EQ(z.erase_by_rank(a, b, [&](std::string_view mm) { removed.emplace_back(mm); }),
              b - a + 1);
    std::vector<std::string> expected;
    for (auto i = a; i <= b; ++i) {
      expected.push_back(want[i].first);
      m.erase(want[i].first);
    }
    EXPECT_EQ(removed, expected);
  } else if (pick < 80) {
    auto min = random_score_bound(rng);
    auto max = random_score_bound(rng);
    std::vector<std::string> removed;
    auto n = z.erase_by_score(min, max, [&](std::string_view mm) {
      double s = 0;
      EXPECT_TRUE(z.score(mm, s)); // still there when seen
      removed.emplace_back(mm);
    });
    std::vector<std::string> expected;
    for (const auto& e : m.list())
      if (in_score(e.second, min, max))
        expected.push_back(e.first);
    for (const auto& e : expected)
      m.erase(e);
    EXPECT_EQ(n, expected.size());
    EXPECT_EQ(removed, expected);
  } else if (pick < 86 && lex) {
    std::vector<std::unique_ptr<std::string>> keep;
    auto min = random_lex_bound(rng, keep);
    auto max = random_lex_bound(rng, keep);
    std::vector<std::string> removed;
    auto n = z.erase_by_lex(min, max, [&](std::string_view mm) { removed.emplace_back(mm); });
    std::vector<std::string> expected;
    for (const auto& e : m.list())
      if (in_lex(e.first, min, max))
        expected.push_back(e.first);
    for (const auto& e : expected)
      m.erase(e);
    EXPECT_EQ(n, expected.size());
    EXPECT_EQ(removed, expected);
  } else if (pick < 94) {
    bool highest = rng() % 2 == 0;
    auto count = static_cast<std::size_t>(rng() % 4);
    auto want = m.list();
    if (highest)
      std::reverse(want.begin(), want.end());
    if (want.size() > count)
      want.resize(count);
    elements got;
    auto before = z.size();
    auto n = z.pop(count, highest, [&](std::string_view mm, double s) {
      EXPECT_EQ(z.size(), before - got.size()); // not gone yet
      got.emplace_back(std::string{mm}, s);
    });
    EXPECT_EQ(n, want.size());
    EXPECT_TRUE(same(got, want));
    for (const auto& e : want)
      m.erase(e.first);
  }
}

void random_run(std::uint64_t seed, int steps, bool lex, bool check_every_step) {
  std::mt19937_64 rng{seed};
  sorted_set z;
  model m;
  for (int step = 0; step < steps; ++step) {
    random_change(z, m, rng, lex);
    if (::testing::Test::HasFatalFailure())
      return;
    if (check_every_step || step % 97 == 0) {
      ASSERT_TRUE(z.check_invariants()) << "step " << step;
      check_queries(z, m, rng, lex);
      if (::testing::Test::HasFailure())
        FAIL() << "seed " << seed << " step " << step;
    }
  }
  ASSERT_TRUE(z.check_invariants());
  check_queries(z, m, rng, lex);
}

std::string packed_element(std::string_view member, double score) {
  std::string out;
  append_item(out, member);
  std::uint64_t bits = 0;
  std::memcpy(&bits, &score, sizeof bits);
  for (int b = 0; b < 8; ++b)
    out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  return out;
}

std::string packed(std::uint64_t count, const std::vector<std::string>& items) {
  std::string out;
  append_varint(out, count);
  for (const auto& i : items)
    out += i;
  return out;
}

} // namespace

TEST(SortedSet, EqualScoresOrderByMemberBytes) {
  sorted_set z;
  std::vector<std::string> members = {"ab", "a", "", std::string("a\0", 2), "\x80", "\xff",
                                      "b", std::string("\0", 1), "\x80\x01", "ba"};
  for (const auto& m : members)
    EXPECT_TRUE(z.set(m, 1));
  std::vector<std::string> want = {"", std::string("\0", 1), "a", std::string("a\0", 2), "ab",
                                   "b", "ba", "\x80", "\x80\x01", "\xff"};
  std::vector<std::string> got;
  z.for_each([&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(got, want);
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(z.rank(want[i]), static_cast<std::int64_t>(i));
    EXPECT_EQ(z.rank(want[i], true), static_cast<std::int64_t>(want.size() - 1 - i));
  }
  EXPECT_EQ(z.rank("c"), -1);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, UpdatesMoveMembersOrKeepTheirPlace) {
  sorted_set z;
  EXPECT_TRUE(z.set("a", 1));
  EXPECT_TRUE(z.set("b", 2));
  EXPECT_TRUE(z.set("c", 3));
  EXPECT_FALSE(z.set("a", 5)); // to the end
  EXPECT_EQ(z.rank("a"), 2);
  EXPECT_EQ(z.rank("b"), 0);
  EXPECT_FALSE(z.set("b", 2.5)); // stays first
  EXPECT_EQ(z.rank("b"), 0);
  EXPECT_FALSE(z.set("c", 2.5)); // equal score: members decide, b before c
  EXPECT_EQ(z.rank("c"), 1);
  EXPECT_FALSE(z.set("a", -inf)); // to the front
  EXPECT_EQ(z.rank("a"), 0);
  EXPECT_TRUE(z.check_invariants());
  double s = 0;
  ASSERT_TRUE(z.score("a", s));
  EXPECT_EQ(s, -inf);
  EXPECT_EQ(z.size(), 3u);
  EXPECT_TRUE(z.erase("b"));
  EXPECT_FALSE(z.erase("b"));
  EXPECT_FALSE(z.score("b", s));
  EXPECT_EQ(z.size(), 2u);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, NegativeZeroIsZero) {
  sorted_set z;
  z.set("b", 0.0);
  z.set("a", -0.0);
  z.set("c", 0.0);
  std::vector<std::string> got;
  z.for_each([&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(z.count_by_score({0.0}, {0.0}), 3u);
  EXPECT_EQ(z.count_by_score({-0.0}, {-0.0}), 3u);
  EXPECT_EQ(z.count_by_score({0.0, true}, {inf}), 0u);
  EXPECT_EQ(z.count_by_score({-inf}, {-0.0, true}), 0u);
  // An equal score leaves the stored one, as Redis's ZADD does.
  EXPECT_FALSE(z.set("b", -0.0));
  double s = 1;
  ASSERT_TRUE(z.score("b", s));
  EXPECT_FALSE(std::signbit(s));
  ASSERT_TRUE(z.score("a", s));
  EXPECT_TRUE(std::signbit(s));
  std::string bytes;
  z.write_packed(bytes);
  std::unique_ptr<sorted_set> back{sorted_set::from_packed(bytes)};
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->score("a", s));
  EXPECT_TRUE(std::signbit(s)); // the bits travel
}

TEST(SortedSet, InfinitiesAndExclusiveBounds) {
  sorted_set z;
  z.set("lo", -inf);
  z.set("mid", 1);
  z.set("hi", inf);
  EXPECT_EQ(z.count_by_score({-inf}, {inf}), 3u);
  EXPECT_EQ(z.count_by_score({-inf, true}, {inf, true}), 1u);
  EXPECT_EQ(z.count_by_score({inf}, {inf}), 1u);
  EXPECT_EQ(z.count_by_score({inf, true}, {inf}), 0u);
  EXPECT_EQ(z.count_by_score({2}, {1}), 0u);
  EXPECT_EQ(z.count_by_score({1}, {1}), 1u);
  EXPECT_EQ(z.count_by_score({1, true}, {1}), 0u);
  std::vector<std::string> got;
  auto n = z.range_by_score({-inf}, {inf}, true, 1, -1,
                            [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(got, (std::vector<std::string>{"mid", "lo"}));
  got.clear();
  n = z.range_by_score({-inf}, {inf}, false, 0, 0,
                       [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(n, 0u);
  n = z.range_by_score({-inf}, {inf}, false, 3, -1,
                       [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(n, 0u);
  n = z.range_by_score({-inf}, {inf}, false, -1, -1,
                       [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(n, 0u);
  n = z.range_by_score({-inf}, {inf}, false, std::numeric_limits<std::int64_t>::max(), -1,
                       [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(got.empty());
}

TEST(SortedSet, LexBoundsAtTheEdges) {
  sorted_set z;
  for (const char* m : {"a", "b", "c", "d"})
    z.set(m, 0);
  lex_bound minus{{}, true, lex_bound::minus_infinity};
  lex_bound plus{{}, true, lex_bound::plus_infinity};
  EXPECT_EQ(z.count_by_lex(minus, plus), 4u);
  EXPECT_EQ(z.count_by_lex(minus, minus), 0u);
  EXPECT_EQ(z.count_by_lex(plus, plus), 0u);
  EXPECT_EQ(z.count_by_lex(plus, minus), 0u);
  EXPECT_EQ(z.count_by_lex({"b"}, {"c"}), 2u);
  EXPECT_EQ(z.count_by_lex({"b", true}, {"c"}), 1u);
  EXPECT_EQ(z.count_by_lex({"b"}, {"b"}), 1u);
  EXPECT_EQ(z.count_by_lex({"b", true}, {"b"}), 0u);
  EXPECT_EQ(z.count_by_lex({"c"}, {"b"}), 0u);
  EXPECT_EQ(z.count_by_lex({""}, {"a", true}), 0u);
  std::vector<std::string> got;
  z.range_by_lex(minus, {"c", true}, true, 0, -1,
                 [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(got, (std::vector<std::string>{"b", "a"}));
  got.clear();
  z.range_by_lex({"a", true}, plus, false, 1, 1,
                 [&](std::string_view m, double) { got.emplace_back(m); });
  EXPECT_EQ(got, (std::vector<std::string>{"c"}));
  std::vector<std::string> removed;
  EXPECT_EQ(z.erase_by_lex({"b"}, {"c"}, [&](std::string_view m) { removed.emplace_back(m); }),
            2u);
  EXPECT_EQ(removed, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(z.size(), 2u);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, PopsFromBothEnds) {
  sorted_set z;
  for (int i = 0; i < 10; ++i)
    z.set("m" + std::to_string(i), i);
  std::vector<std::string> got;
  EXPECT_EQ(z.pop(3, false, [&](std::string_view m, double s) {
    double stored = -1;
    EXPECT_TRUE(z.score(m, stored)); // not freed yet
    EXPECT_EQ(stored, s);
    got.emplace_back(m);
  }),
            3u);
  EXPECT_EQ(got, (std::vector<std::string>{"m0", "m1", "m2"}));
  got.clear();
  EXPECT_EQ(z.pop(2, true, [&](std::string_view m, double) { got.emplace_back(m); }), 2u);
  EXPECT_EQ(got, (std::vector<std::string>{"m9", "m8"}));
  EXPECT_EQ(z.pop(0, true, [&](std::string_view, double) { ADD_FAILURE(); }), 0u);
  EXPECT_EQ(z.pop(100, true, [](std::string_view, double) {}), 5u);
  EXPECT_EQ(z.size(), 0u);
  EXPECT_EQ(z.pop(1, false, [&](std::string_view, double) { ADD_FAILURE(); }), 0u);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, ByteCounts) {
  sorted_set z;
  auto empty = z.bytes();
  EXPECT_GT(empty, static_cast<std::int64_t>(sizeof(sorted_set)));
  for (int i = 0; i < 1000; ++i)
    z.set("member:" + std::to_string(i) + std::string(20, 'x'), i);
  EXPECT_TRUE(z.check_invariants());
  // Each block: at least the fields, a link and the member.
  EXPECT_GT(z.bytes(), empty + 1000 * (24 + 16 + 28));
  auto full = z.bytes();
  for (int i = 0; i < 1000; i += 2)
    z.erase("member:" + std::to_string(i) + std::string(20, 'x'));
  EXPECT_LT(z.bytes(), full);
  EXPECT_TRUE(z.check_invariants());
  z.erase_by_rank(0, z.size() - 1, [](std::string_view) {});
  EXPECT_EQ(z.size(), 0u);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, RandomAgainstAModelCheckedEveryStep) {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    random_run(seed, 1500, false, true);
    if (HasFatalFailure())
      return;
  }
}

TEST(SortedSet, RandomLexAgainstAModelCheckedEveryStep) {
  for (std::uint64_t seed = 11; seed <= 14; ++seed) {
    random_run(seed, 1500, true, true);
    if (HasFatalFailure())
      return;
  }
}

TEST(SortedSet, RandomLongRun) {
  random_run(99, 40000, false, false);
}

TEST(SortedSet, LargeSetRanksAndUpdates) {
  std::mt19937_64 rng{7};
  sorted_set z;
  model m;
  for (int i = 0; i < 60000; ++i) {
    auto member = "k" + std::to_string(rng() % 20000);
    auto pick = rng() % 10;
    if (pick < 7) {
      double score = static_cast<double>(rng() % 1000);
      ASSERT_EQ(z.set(member, score), m.set(member, score));
    } else {
      ASSERT_EQ(z.erase(member), m.erase(member));
    }
  }
  ASSERT_TRUE(z.check_invariants());
  auto want = m.list();
  ASSERT_TRUE(same(all_of(z), want));
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(z.rank(want[i].first), static_cast<std::int64_t>(i));
    std::string_view member;
    double s = 0;
    ASSERT_TRUE(z.at_rank(i, member, s));
    ASSERT_EQ(member, want[i].first);
  }
  std::size_t in = 0;
  for (const auto& e : want)
    in += in_score(e.second, {100, true}, {900}) ? 1 : 0;
  EXPECT_EQ(z.count_by_score({100, true}, {900}), in);
  EXPECT_EQ(z.erase_by_score({100, true}, {900}, [](std::string_view) {}), in);
  EXPECT_EQ(z.size(), want.size() - in);
  EXPECT_TRUE(z.check_invariants());
}

TEST(SortedSet, ParsesScoreBoundsAsRedisDoes) {
  score_bound b{};
  struct valid {
    std::string text;
    double value;
    bool exclusive;
  };
  for (const auto& v : std::vector<valid>{{"1.5", 1.5, false},
                                          {"(1.5", 1.5, true},
                                          {"-2", -2, false},
                                          {"+inf", inf, false},
                                          {"inf", inf, false},
                                          {"-inf", -inf, false},
                                          {"(-inf", -inf, true},
                                          {"(inf", inf, true},
                                          {"(+inf", inf, true},
                                          {"1e400", inf, false}, // strtod's overflow, unchecked
                                          {" 1", 1, false},      // strtod skips leading spaces
                                          {"0x10", 16, false},
                                          {"(", 0, true}, // strtod of nothing: zero, all read
                                          {"", 0, false},
                                          {std::string("2\0x", 3), 2, false}}) {
    b = score_bound{-7, false};
    ASSERT_TRUE(parse_score_bound(v.text, b)) << v.text;
    EXPECT_EQ(b.value, v.value) << v.text;
    EXPECT_EQ(b.exclusive, v.exclusive) << v.text;
  }
  for (const char* text : {"abc", "1.5x", "nan", "(nan", "-nan", "((1", "[", "[1", "a", "(a",
                           "[a", "1 ", " ", "( 1x", "+", "-"})
    EXPECT_FALSE(parse_score_bound(text, b)) << text;
}

TEST(SortedSet, ParsesLexBoundsAsRedisDoes) {
  lex_bound b;
  ASSERT_TRUE(parse_lex_bound("-", b));
  EXPECT_EQ(b.kind, lex_bound::minus_infinity);
  ASSERT_TRUE(parse_lex_bound("+", b));
  EXPECT_EQ(b.kind, lex_bound::plus_infinity);
  ASSERT_TRUE(parse_lex_bound(std::string_view("+\0z", 3), b));
  EXPECT_EQ(b.kind, lex_bound::plus_infinity);
  ASSERT_TRUE(parse_lex_bound("[a", b));
  EXPECT_EQ(b.kind, lex_bound::finite);
  EXPECT_EQ(b.value, "a");
  EXPECT_FALSE(b.exclusive);
  ASSERT_TRUE(parse_lex_bound("(a", b));
  EXPECT_EQ(b.value, "a");
  EXPECT_TRUE(b.exclusive);
  ASSERT_TRUE(parse_lex_bound("[", b));
  EXPECT_EQ(b.value, "");
  EXPECT_FALSE(b.exclusive);
  ASSERT_TRUE(parse_lex_bound("(", b));
  EXPECT_EQ(b.value, "");
  EXPECT_TRUE(b.exclusive);
  ASSERT_TRUE(parse_lex_bound("(nan", b));
  EXPECT_EQ(b.value, "nan");
  ASSERT_TRUE(parse_lex_bound("(-inf", b));
  EXPECT_EQ(b.value, "-inf");
  ASSERT_TRUE(parse_lex_bound(std::string_view("[\0\xff", 3), b));
  EXPECT_EQ(b.value, std::string_view("\0\xff", 2));
  for (const char* text : {"", "a", "abc", "1.5x", "nan", "+inf", "-inf", "++", "--", "-a", " -"})
    EXPECT_FALSE(parse_lex_bound(text, b)) << text;
}

TEST(SortedSet, PackedFormRoundTrips) {
  std::mt19937_64 rng{3};
  sorted_set z;
  for (int i = 0; i < 500; ++i)
    z.set(random_member(rng) + random_member(rng), random_score(rng));
  std::string bytes;
  z.write_packed(bytes);
  std::unique_ptr<sorted_set> back{sorted_set::from_packed(bytes)};
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->check_invariants());
  EXPECT_TRUE(same(all_of(*back), all_of(z)));
  std::string again = "old bytes";
  back->write_packed(again);
  EXPECT_EQ(again, bytes);

  sorted_set none;
  none.write_packed(bytes);
  EXPECT_EQ(bytes, std::string(1, '\0'));
  back.reset(sorted_set::from_packed(bytes));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), 0u);

  // Elements out of order still make a set, in order.
  back.reset(sorted_set::from_packed(packed(2, {packed_element("b", 2), packed_element("a", 1)})));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(all_of(*back), {{"a", 1}, {"b", 2}}));
}

TEST(SortedSet, MalformedPackedFormsAreRefused) {
  auto good = packed(3, {packed_element("a", 1), packed_element(std::string("\0b", 2), -inf),
                         packed_element("", 2)});
  std::unique_ptr<sorted_set> z{sorted_set::from_packed(good)};
  ASSERT_TRUE(z);
  EXPECT_EQ(z->size(), 3u);
  for (std::size_t n = 0; n < good.size(); ++n) {
    z.reset(sorted_set::from_packed(std::string_view(good).substr(0, n)));
    EXPECT_FALSE(z) << "truncated to " << n;
  }
  z.reset(sorted_set::from_packed(good + "x"));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(packed(4, {packed_element("a", 1), packed_element("b", 1),
                                             packed_element("c", 2)})));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(packed(2, {packed_element("a", 1), packed_element("b", 1),
                                             packed_element("c", 2)})));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(packed(1000000000000ULL, {packed_element("a", 1)})));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(
    packed(2, {packed_element("a", 1), packed_element("b", std::nan(""))})));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(packed(2, {packed_element("a", 1), packed_element("a", 2)})));
  EXPECT_FALSE(z);
  z.reset(sorted_set::from_packed(std::string("\x01\xff\xff", 3))); // a member size unended
  EXPECT_FALSE(z);
}
