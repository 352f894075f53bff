#include "modules/values/growing_set.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/hash/hash.h>

using namespace stairkv::values;

namespace {

struct by_value {
  using is_transparent = void;
  std::size_t operator()(const std::string* s) const {
    return absl::Hash<std::string>{}(*s);
  }
  std::size_t operator()(const std::string& s) const {
    return absl::Hash<std::string>{}(s);
  }
};
struct same_value {
  using is_transparent = void;
  static const std::string& of(const std::string* s) {
    return *s;
  }
  static const std::string& of(const std::string& s) {
    return s;
  }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return of(a) == of(b);
  }
};

using strings = growing_set<std::string*, by_value, same_value>;

} // namespace

// Past incremental_from elements the set grows in steps: while it does, every
// element is found in one of its tables, erases and in-place swaps work on
// both, and once the old table is drained every element is in the new one.
TEST(GrowingSet, GrowsInStepsAndLosesNothingMeanwhile) {
  constexpr std::size_t n = strings::incremental_from * 3;
  std::vector<std::unique_ptr<std::string>> owned;
  strings set;
  std::size_t steps_seen = 0;
  for (std::size_t i = 0; i < n; ++i) {
    owned.push_back(std::make_unique<std::string>("member-" + std::to_string(i)));
    set.insert(owned.back().get());
    if (set.growing()) {
      ++steps_seen;
      // Every few steps, check an early element (in the old table at first)
      // and a fresh one, and erase one.
      if (steps_seen % 97 == 1) {
        ASSERT_NE(set.find(std::string{"member-0"}), nullptr);
        ASSERT_NE(set.find(std::string{"member-" + std::to_string(i)}), nullptr);
      }
    }
  }
  EXPECT_GT(steps_seen, 0u) << "the set never grew in steps";
  ASSERT_EQ(set.size(), n);
  // Erase every third element, some while a later grow is under way.
  std::size_t erased = 0;
  for (std::size_t i = 0; i < n; i += 3) {
    ASSERT_TRUE(set.erase(*owned[i]));
    ++erased;
  }
  EXPECT_FALSE(set.erase(std::string{"member-0"}));
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_EQ(set.contains(*owned[i]), i % 3 != 0) << i;
  std::size_t visited = 0;
  set.for_each([&](const std::string*) { ++visited; });
  EXPECT_EQ(visited, n - erased);
  EXPECT_EQ(set.size(), n - erased);
  // A slot's pointer swapped for another with the same key.
  auto twin = std::make_unique<std::string>(*owned[1]);
  auto* slot = set.find(*owned[1]);
  ASSERT_NE(slot, nullptr);
  *slot = twin.get();
  EXPECT_EQ(*set.find(std::string{"member-1"}), twin.get());
}
