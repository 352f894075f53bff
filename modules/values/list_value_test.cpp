#include "modules/values/list_value.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "modules/values/compact_items.hpp"
#include "modules/values/packed.hpp"

namespace stairkv::values {

// The list's invariants, counted again from its blocks.
struct list_value_probe {
  static std::int64_t recount(const list_value& list, bool check_limits = true) {
    return list.recount(check_limits);
  }
};

} // namespace stairkv::values

using namespace stairkv::values;

namespace {

using model = std::deque<std::string>;

std::vector<std::string> contents(const list_value& list) {
  std::vector<std::string> out;
  list.for_each([&](std::string_view e) { out.emplace_back(e); });
  return out;
}

std::vector<std::string> as_vector(const model& m) {
  return {m.begin(), m.end()};
}

// Redis's range rules, written out the long way: the elements LRANGE gives.
std::vector<std::string> model_range(const model& m, std::int64_t start, std::int64_t stop) {
  auto n = static_cast<std::int64_t>(m.size());
  if (start < 0)
    start = n + start;
  if (stop < 0)
    stop = n + stop;
  if (start < 0)
    start = 0;
  std::vector<std::string> out;
  for (std::int64_t i = start; i <= stop && i < n; ++i)
    out.push_back(m[static_cast<std::size_t>(i)]);
  return out;
}

std::vector<std::int64_t> model_positions(const model& m, const std::string& element,
                                          std::int64_t rank, std::int64_t count,
                                          std::int64_t maxlen) {
  std::vector<std::int64_t> out;
  auto n = static_cast<std::int64_t>(m.size());
  std::int64_t skip = rank > 0 ? rank - 1 : rank < 0 ? -rank - 1 : 0;
  std::int64_t compared = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    if (maxlen > 0 && compared == maxlen)
      break;
    ++compared;
    auto i = rank < 0 ? n - 1 - k : k;
    if (m[static_cast<std::size_t>(i)] != element)
      continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    out.push_back(i);
    if (count > 0 && static_cast<std::int64_t>(out.size()) == count)
      break;
  }
  return out;
}

void expect_same(const list_value& list, const model& m, bool check_limits = true) {
  ASSERT_EQ(list.size(), m.size());
  ASSERT_EQ(list_value_probe::recount(list, check_limits), list.bytes());
  ASSERT_EQ(contents(list), as_vector(m));
}

// Short values from a few letters (so pivots and removals find matches),
// sometimes one of the sizes around the varint and chunk boundaries.
std::string random_element(std::mt19937_64& rng) {
  static const std::size_t sizes[] = {0, 1, 127, 128, 300, 70000};
  auto pick = rng() % 100;
  if (pick < 80)
    return std::string(1 + rng() % 2, static_cast<char>('a' + rng() % 4));
  if (pick < 99)
    return std::string(sizes[rng() % 5], static_cast<char>('p' + rng() % 3));
  return std::string(sizes[5], 'z');
}

std::unique_ptr<list_value> filled(std::int64_t max_chunk, std::size_t n, model& m) {
  auto list = std::make_unique<list_value>(list_limits{max_chunk});
  m.clear();
  for (std::size_t i = 0; i < n; ++i) {
    list->push_back(std::to_string(i));
    m.push_back(std::to_string(i));
  }
  return list;
}

const std::int64_t all_limits[] = {1, 3, 128, -1, -2, -5};

} // namespace

TEST(ListValue, AnEmptyListHoldsNothingButItself) {
  list_value list;
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.chunks(), 0u);
  EXPECT_EQ(list.bytes(), static_cast<std::int64_t>(sizeof(list_value)));
  std::string out;
  EXPECT_FALSE(list.pop_front(out));
  EXPECT_FALSE(list.pop_back(out));
  EXPECT_FALSE(list.at(0, out));
  EXPECT_FALSE(list.at(-1, out));
  EXPECT_FALSE(list.set(0, "x"));
  EXPECT_FALSE(list.insert("a", "b", true));
  EXPECT_EQ(list.remove("a", 0), 0u);
  EXPECT_EQ(list.range(0, -1, [](std::string_view) {}), 0u);
  EXPECT_EQ(list.range_reversed(0, -1, [](std::string_view) {}), 0u);
  list.trim(0, -1);
  std::vector<std::int64_t> found;
  list.positions("a", 1, 0, 0, found);
  EXPECT_TRUE(found.empty());
  EXPECT_EQ(list_value_probe::recount(list), list.bytes());
}

TEST(ListValue, PushesAndPopsAtBothEndsComeBackInOrder) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    for (int i = 0; i < 2000; ++i) {
      auto e = std::to_string(i);
      if (i % 3 == 0) {
        list.push_front(e);
        m.push_front(e);
      } else {
        list.push_back(e);
        m.push_back(e);
      }
    }
    expect_same(list, m);
    std::string out;
    while (!m.empty()) {
      bool front = m.size() % 2 == 0;
      ASSERT_TRUE(front ? list.pop_front(out) : list.pop_back(out));
      ASSERT_EQ(out, front ? m.front() : m.back());
      front ? m.pop_front() : m.pop_back();
      ASSERT_EQ(list_value_probe::recount(list), list.bytes());
    }
    EXPECT_EQ(list.chunks(), 0u);
    EXPECT_EQ(list.bytes(), static_cast<std::int64_t>(sizeof(list_value)));
  }
}

TEST(ListValue, ChunksFollowTheLimits) {
  {
    list_value list{{3}};
    for (int i = 0; i < 10; ++i)
      list.push_back("x");
    EXPECT_EQ(list.chunks(), 4u); // 3 + 3 + 3 + 1
  }
  {
    list_value list{{1}};
    for (int i = 0; i < 10; ++i)
      list.push_front("x");
    EXPECT_EQ(list.chunks(), 10u);
  }
  {
    // -1: 4096 bytes of entries; an entry of 100 bytes takes 102.
    list_value list{{-1}};
    for (int i = 0; i < 40; ++i)
      list.push_back(std::string(100, 'x'));
    EXPECT_EQ(list.chunks(), 1u);
    list.push_back(std::string(100, 'x'));
    EXPECT_EQ(list.chunks(), 2u);
  }
  {
    // A count limit still keeps a chunk within 8 KiB, as Redis does.
    list_value list{{128}};
    for (int i = 0; i < 100; ++i)
      list.push_back(std::string(300, 'x'));
    EXPECT_GE(list.chunks(), 4u);
    EXPECT_EQ(list_value_probe::recount(list), list.bytes());
  }
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    // An element bigger than any chunk limit has a chunk of its own, and
    // nothing joins it.
    list_value list{{limit}};
    list.push_back("a");
    list.push_back(std::string(70000, 'b'));
    list.push_back("c");
    list.push_front("d");
    EXPECT_GE(list.chunks(), 3u);
    EXPECT_EQ(list_value_probe::recount(list), list.bytes());
    std::string out;
    ASSERT_TRUE(list.at(2, out));
    EXPECT_EQ(out, std::string(70000, 'b'));
  }
}

TEST(ListValue, OutOfRangeLimitsAreClamped) {
  for (std::int64_t limit : {std::int64_t{0}, std::int64_t{-6}, std::int64_t{-1000},
                             std::int64_t{1} << 40, std::numeric_limits<std::int64_t>::min()}) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    for (int i = 0; i < 500; ++i) {
      list.push_back(std::to_string(i));
      m.push_back(std::to_string(i));
    }
    expect_same(list, m);
  }
  list_value zero{{0}}; // as 1
  zero.push_back("a");
  zero.push_back("b");
  EXPECT_EQ(zero.chunks(), 2u);
}

TEST(ListValue, RandomOperationsMatchADeque) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    std::mt19937_64 rng(static_cast<std::uint64_t>(limit + 1000));
    list_value list{{limit}};
    model m;
    std::string out;
    for (int step = 0; step < 4000; ++step) {
      SCOPED_TRACE(step);
      auto n = static_cast<std::int64_t>(m.size());
      auto op = rng() % 100;
      if (m.size() > 400)
        op = 50 + op % 15; // pops and trims to keep it small
      if (op < 20) {
        auto e = random_element(rng);
        list.push_back(e);
        m.push_back(e);
      } else if (op < 40) {
        auto e = random_element(rng);
        list.push_front(e);
        m.push_front(e);
      } else if (op < 50) {
        // LSET, in range or out
        auto index = static_cast<std::int64_t>(rng() % (2 * n + 3)) - n - 1;
        auto e = random_element(rng);
        bool in = index >= -n && index < n;
        ASSERT_EQ(list.set(index, e), in);
        if (in)
          m[static_cast<std::size_t>(index < 0 ? index + n : index)] = e;
      } else if (op < 57) {
        bool front = rng() % 2 == 0;
        bool got = front ? list.pop_front(out) : list.pop_back(out);
        ASSERT_EQ(got, !m.empty());
        if (got) {
          ASSERT_EQ(out, front ? m.front() : m.back());
          front ? m.pop_front() : m.pop_back();
        }
      } else if (op < 65) {
        // LTRIM, cutting a little from one end or both
        std::int64_t start = static_cast<std::int64_t>(rng() % 4);
        std::int64_t stop = -1 - static_cast<std::int64_t>(rng() % 4);
        if (rng() % 10 == 0)
          start = static_cast<std::int64_t>(rng() % (n + 2)) - 1;
        list.trim(start, stop);
        auto kept = model_range(m, start, stop);
        m.assign(kept.begin(), kept.end());
      } else if (op < 80) {
        // LINSERT
        auto pivot = random_element(rng);
        if (!m.empty() && rng() % 2 == 0)
          pivot = m[rng() % m.size()];
        auto e = random_element(rng);
        bool before = rng() % 2 == 0;
        auto it = std::find(m.begin(), m.end(), pivot);
        ASSERT_EQ(list.insert(pivot, e, before), it != m.end());
        if (it != m.end())
          m.insert(before ? it : it + 1, e);
      } else if (op < 90) {
        // LREM
        auto e = m.empty() || rng() % 4 == 0 ? random_element(rng) : m[rng() % m.size()];
        auto count = static_cast<std::int64_t>(rng() % 7) - 3;
        std::size_t expected = 0;
        if (count >= 0) {
          for (auto it = m.begin(); it != m.end();)
            if (*it == e && (count == 0 || expected < static_cast<std::size_t>(count))) {
              it = m.erase(it);
              ++expected;
            } else {
              ++it;
            }
        } else {
          for (auto i = m.size(); i > 0; --i)
            if (m[i - 1] == e && expected < static_cast<std::size_t>(-count)) {
              m.erase(m.begin() + static_cast<std::ptrdiff_t>(i - 1));
              ++expected;
            }
        }
        ASSERT_EQ(list.remove(e, count), expected);
      } else {
        // LINDEX and LRANGE, forwards and back
        auto index = static_cast<std::int64_t>(rng() % (2 * n + 3)) - n - 1;
        bool in = index >= -n && index < n;
        ASSERT_EQ(list.at(index, out), in);
        if (in) {
          ASSERT_EQ(out, m[static_cast<std::size_t>(index < 0 ? index + n : index)]);
        }
        auto start = static_cast<std::int64_t>(rng() % (2 * n + 3)) - n - 1;
        auto stop = static_cast<std::int64_t>(rng() % (2 * n + 3)) - n - 1;
        std::vector<std::string> got;
        auto called = list.range(start, stop, [&](std::string_view e) { got.emplace_back(e); });
        auto want = model_range(m, start, stop);
        ASSERT_EQ(got, want);
        ASSERT_EQ(called, want.size());
        got.clear();
        list.range_reversed(start, stop, [&](std::string_view e) { got.emplace_back(e); });
        std::reverse(want.begin(), want.end());
        ASSERT_EQ(got, want);
      }
      ASSERT_EQ(list.size(), m.size());
      ASSERT_EQ(list_value_probe::recount(list), list.bytes());
      if (step % 16 == 0 || m.size() < 20) {
        ASSERT_EQ(contents(list), as_vector(m));
      }
    }
    expect_same(list, m);
  }
}

TEST(ListValue, ElementsOfEverySizeRoundTrip) {
  const std::size_t sizes[] = {0, 1, 127, 128, 300, 16383, 16384, 70000};
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    for (int round = 0; round < 3; ++round)
      for (auto size : sizes) {
        std::string e(size, static_cast<char>('a' + round));
        if (!e.empty())
          e[0] = '<', e.back() = '>';
        list.push_back(e);
        m.push_back(e);
        list.push_front(e);
        m.push_front(e);
      }
    expect_same(list, m);
    // LSET each to another size, then LINSERT big ones inside full chunks.
    for (std::size_t i = 0; i < m.size(); ++i) {
      std::string e(sizes[(i * 5) % 8], 'q');
      ASSERT_TRUE(list.set(static_cast<std::int64_t>(i), e));
      m[i] = e;
    }
    expect_same(list, m);
    std::string big(70000, 'B');
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(list.insert(m[m.size() / 2], big, i % 2 == 0));
      auto it = std::find(m.begin(), m.end(), m[m.size() / 2]);
      m.insert(i % 2 == 0 ? it : it + 1, big);
    }
    expect_same(list, m);
    std::string out;
    while (list.pop_back(out)) {
      ASSERT_EQ(out, m.back());
      m.pop_back();
    }
    EXPECT_TRUE(m.empty());
  }
}

TEST(ListValue, SetAndInsertSplitFullChunks) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    model m;
    auto list = filled(limit, 3000, m);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 300; ++i) {
      auto index = rng() % m.size();
      auto e = std::string(rng() % 2 ? 1 : 200, 'y');
      if (i % 2) {
        ASSERT_TRUE(list->set(static_cast<std::int64_t>(index), e));
        m[index] = e;
      } else {
        auto pivot = m[index];
        auto it = std::find(m.begin(), m.end(), pivot);
        ASSERT_TRUE(list->insert(pivot, e, i % 4 == 0));
        m.insert(i % 4 == 0 ? it : it + 1, e);
      }
      ASSERT_EQ(list_value_probe::recount(*list), list->bytes());
    }
    expect_same(*list, m);
  }
}

TEST(ListValue, RemoveFromEitherEndAndMergesWhatIsLeft) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    for (int i = 0; i < 3000; ++i) {
      auto e = i % 10 == 0 ? std::string("keep") : std::string("drop");
      list.push_back(e);
      m.push_back(e);
    }
    auto before = list.chunks();
    // Two from the tail, three from the head, then all.
    EXPECT_EQ(list.remove("drop", -2), 2u);
    m.erase(m.end() - 2, m.end()); // the last two are drops
    EXPECT_EQ(list.remove("drop", 3), 3u);
    m.erase(m.begin() + 1, m.begin() + 4);
    expect_same(list, m);
    EXPECT_EQ(list.remove("drop", 0), 2695u);
    m.erase(std::remove(m.begin(), m.end(), "drop"), m.end());
    expect_same(list, m);
    EXPECT_EQ(list.size(), 300u);
    if (before > 1 && limit != 1) { // small chunks were merged
      EXPECT_LT(list.chunks(), before);
    }
    EXPECT_EQ(list.remove("nothing", 0), 0u);
    EXPECT_EQ(list.remove("keep", std::numeric_limits<std::int64_t>::min()), 300u);
    EXPECT_EQ(list.size(), 0u);
    EXPECT_EQ(list.chunks(), 0u);
    EXPECT_EQ(list.bytes(), static_cast<std::int64_t>(sizeof(list_value)));
  }
}

TEST(ListValue, RangeTrimAndIndexFollowRedisRules) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::int64_t small = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> indices{small, -1000, big, 1000};
  for (std::int64_t i = -13; i <= 13; ++i)
    indices.push_back(i);
  for (auto limit : {std::int64_t{1}, std::int64_t{3}, std::int64_t{-2}}) {
    SCOPED_TRACE(limit);
    model m;
    auto list = filled(limit, 10, m);
    std::string out;
    for (auto index : indices) {
      bool in = index >= -10 && index < 10;
      ASSERT_EQ(list->at(index, out), in) << index;
      if (in) {
        EXPECT_EQ(out, m[static_cast<std::size_t>(index < 0 ? index + 10 : index)]);
      }
    }
    for (auto start : indices)
      for (auto stop : indices) {
        auto want = model_range(m, start, stop);
        std::vector<std::string> got;
        EXPECT_EQ(list->range(start, stop, [&](std::string_view e) { got.emplace_back(e); }),
                  want.size());
        ASSERT_EQ(got, want) << start << " " << stop;
        std::size_t first = 0, last = 0;
        bool some = list_value::normalize_range(start, stop, 10, first, last);
        ASSERT_EQ(some, !want.empty());
        if (some) {
          EXPECT_EQ(last - first + 1, want.size());
        }
        model kept;
        auto trimmed = filled(limit, 10, kept);
        trimmed->trim(start, stop);
        kept.assign(want.begin(), want.end());
        expect_same(*trimmed, kept);
      }
  }
  // Redis's examples: LRANGE 0 0, -3 2, -100 100, 5 10 on [one two three].
  list_value list;
  for (auto e : {"one", "two", "three"})
    list.push_back(e);
  auto range = [&](std::int64_t a, std::int64_t b) {
    std::vector<std::string> got;
    list.range(a, b, [&](std::string_view e) { got.emplace_back(e); });
    return got;
  };
  EXPECT_EQ(range(0, 0), (std::vector<std::string>{"one"}));
  EXPECT_EQ(range(-3, 2), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(range(-100, 100), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(range(5, 10).empty());
  list.trim(1, -1);
  EXPECT_EQ(range(0, -1), (std::vector<std::string>{"two", "three"}));
  list.trim(5, 10);
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.bytes(), static_cast<std::int64_t>(sizeof(list_value)));
}

TEST(ListValue, TrimAcrossManyChunks) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    std::mt19937_64 rng(static_cast<std::uint64_t>(limit + 50));
    for (int round = 0; round < 20; ++round) {
      model m;
      auto list = filled(limit, 1 + rng() % 3000, m);
      auto n = static_cast<std::int64_t>(m.size());
      auto start = static_cast<std::int64_t>(rng() % (n + 1));
      auto stop = static_cast<std::int64_t>(rng() % (n + 1)) - (rng() % 2 ? n : 0);
      list->trim(start, stop);
      auto kept = model_range(m, start, stop);
      m.assign(kept.begin(), kept.end());
      expect_same(*list, m);
    }
  }
}

TEST(ListValue, PositionsMatchABruteForceScan) {
  std::mt19937_64 rng(11);
  for (auto limit : {std::int64_t{1}, std::int64_t{3}, std::int64_t{-1}}) {
    SCOPED_TRACE(limit);
    for (int round = 0; round < 5; ++round) {
      list_value list{{limit}};
      model m;
      auto n = rng() % 200;
      for (std::size_t i = 0; i < n; ++i) {
        std::string e(1, static_cast<char>('a' + rng() % 3));
        list.push_back(e);
        m.push_back(e);
      }
      for (auto element : {"a", "b", "z"})
        for (std::int64_t rank : {-5, -2, -1, 1, 2, 3, 7})
          for (std::int64_t count : {0, 1, 2, 5})
            for (std::int64_t maxlen : {0, 1, 3, 10, 1000}) {
              std::vector<std::int64_t> got{-7}; // appended to, not replaced
              list.positions(element, rank, count, maxlen, got);
              auto want = model_positions(m, element, rank, count, maxlen);
              want.insert(want.begin(), -7);
              ASSERT_EQ(got, want) << element << " " << rank << " " << count << " " << maxlen;
            }
    }
  }
  // LPOS mylist c RANK -1 on [a b c 1 2 3 c c]: 7; COUNT 2: 2 6; RANK -1 COUNT 2: 7 6.
  list_value list;
  for (auto e : {"a", "b", "c", "1", "2", "3", "c", "c"})
    list.push_back(e);
  std::vector<std::int64_t> got;
  list.positions("c", -1, 1, 0, got);
  EXPECT_EQ(got, (std::vector<std::int64_t>{7}));
  got.clear();
  list.positions("c", 1, 2, 0, got);
  EXPECT_EQ(got, (std::vector<std::int64_t>{2, 6}));
  got.clear();
  list.positions("c", -1, 2, 0, got);
  EXPECT_EQ(got, (std::vector<std::int64_t>{7, 6}));
  got.clear();
  list.positions("c", 1, 0, 2, got); // MAXLEN 2 sees a, b
  EXPECT_TRUE(got.empty());
  got.clear();
  list.positions("a", std::numeric_limits<std::int64_t>::min(), 0, 0, got);
  EXPECT_TRUE(got.empty());
}

TEST(ListValue, PackedFormRoundTrips) {
  for (auto limit : all_limits) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    for (std::size_t size : {0, 1, 127, 128, 300, 70000, 0, 1, 1})
      for (int i = 0; i < 3; ++i) {
        std::string e(size, static_cast<char>('a' + i));
        list.push_back(e);
        m.push_back(e);
      }
    std::string bytes = "prefix";
    list.write_packed(bytes); // appended
    ASSERT_EQ(bytes.substr(0, 6), "prefix");
    std::string_view packed{bytes};
    packed.remove_prefix(6);
    compact_items items{packed};
    EXPECT_EQ(items.count(), m.size());
    auto reader = items.items();
    std::string_view item;
    std::vector<std::string> read;
    while (reader.next(item))
      read.emplace_back(item);
    EXPECT_EQ(read, as_vector(m));
    std::unique_ptr<list_value> back{list_value::from_packed(packed, {limit})};
    ASSERT_NE(back, nullptr);
    expect_same(*back, m);
  }
  std::string empty;
  list_value{}.write_packed(empty);
  EXPECT_EQ(empty, std::string(1, '\0'));
  std::unique_ptr<list_value> none{list_value::from_packed(empty)};
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->size(), 0u);
}

TEST(ListValue, MalformedPackedBytesAreRefused) {
  list_value list;
  for (auto e : {"a", "", "bb", "a", "a"}) // duplicates are fine in a list
    list.push_back(e);
  std::string bytes;
  list.write_packed(bytes);
  std::unique_ptr<list_value> ok{list_value::from_packed(bytes)};
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->size(), 5u);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) // truncated
    EXPECT_EQ(list_value::from_packed(bytes.substr(0, cut)), nullptr) << cut;
  EXPECT_EQ(list_value::from_packed(bytes + "x"), nullptr); // trailing bytes
  std::string more = bytes, fewer = bytes;
  more[0] = 6; // the count says one more
  fewer[0] = 4; // one less: the last item is left over
  EXPECT_EQ(list_value::from_packed(more), nullptr);
  EXPECT_EQ(list_value::from_packed(fewer), nullptr);
  std::string huge;
  append_varint(huge, ~0ull);
  huge += "\x01z";
  EXPECT_EQ(list_value::from_packed(huge), nullptr);
  std::string long_item;
  append_varint(long_item, 1);
  append_varint(long_item, 100); // an item past the end
  long_item += "abc";
  EXPECT_EQ(list_value::from_packed(long_item), nullptr);
  EXPECT_EQ(list_value::from_packed(std::string("\x80", 1)), nullptr); // a broken varint
}

TEST(ListValue, NewLimitsApplyToWhatIsAdded) {
  list_value list{{1}};
  model m;
  for (int i = 0; i < 10; ++i) {
    list.push_back("x");
    m.push_back("x");
  }
  EXPECT_EQ(list.chunks(), 10u);
  list.set_limits({-2});
  for (int i = 0; i < 100; ++i) {
    list.push_back("y");
    m.push_back("y");
  }
  EXPECT_LE(list.chunks(), 11u);
  expect_same(list, m);
  list.set_limits({2});
  for (int i = 0; i < 10; ++i) {
    list.push_front("z");
    m.push_front("z");
  }
  EXPECT_EQ(list.chunks(), 15u);
  EXPECT_TRUE(list.insert("y", "w", false));
  m.insert(std::find(m.begin(), m.end(), "y") + 1, "w");
  expect_same(list, m, false); // the chunk made under -2 holds more than 2 now
}

TEST(ListValue, ManyElementsCostLittleEach) {
  list_value list;
  std::string e(10, 'e');
  for (int i = 0; i < 100000; ++i) {
    list.push_back(e);
    list.push_front(e);
  }
  EXPECT_EQ(list.size(), 200000u);
  EXPECT_EQ(list_value_probe::recount(list), list.bytes());
  // An entry is 12 bytes; the slack and the headers stay small.
  EXPECT_LT(list.bytes(), 200000 * 14);
  std::string out;
  // A queue: in at the head, out at the tail.
  for (int i = 0; i < 300000; ++i) {
    list.push_front(std::to_string(i));
    ASSERT_TRUE(list.pop_back(out));
  }
  EXPECT_EQ(list.size(), 200000u);
  ASSERT_TRUE(list.at(0, out));
  EXPECT_EQ(out, "299999");
  ASSERT_TRUE(list.at(-1, out));
  EXPECT_EQ(out, "100000");
  EXPECT_EQ(list_value_probe::recount(list), list.bytes());
  EXPECT_LT(list.bytes(), 200000 * 16);
}

TEST(ListValue, ASingleChunkUsedAsAQueueStaysCorrect) {
  for (auto limit : {std::int64_t{-1}, std::int64_t{-5}, std::int64_t{128}}) {
    SCOPED_TRACE(limit);
    list_value list{{limit}};
    model m;
    std::string out;
    for (int i = 0; i < 50; ++i) {
      list.push_back(std::to_string(i));
      m.push_back(std::to_string(i));
    }
    for (int i = 0; i < 20000; ++i) {
      auto e = std::to_string(i);
      if (i % 2) {
        list.push_front(e);
        m.push_front(e);
        ASSERT_TRUE(list.pop_back(out));
        ASSERT_EQ(out, m.back());
        m.pop_back();
      } else {
        list.push_back(e);
        m.push_back(e);
        ASSERT_TRUE(list.pop_front(out));
        ASSERT_EQ(out, m.front());
        m.pop_front();
      }
    }
    expect_same(list, m);
    EXPECT_EQ(list.chunks(), 1u);
  }
}
