#include "modules/gateway/settings.hpp"

#include <gtest/gtest.h>

namespace stairkv::gateway {
namespace {

// A table of two changeable settings (one refuses "bad") and one fixed one.
node_settings make_table(std::string& a, std::string& b) {
  node_settings s;
  auto any = [](const std::string&) { return std::string{}; };
  auto no_bad = [](const std::string& v) {
    return v == "bad" ? std::string{"argument must be good"} : std::string{};
  };
  s.entries.push_back({"alpha-one", [&a] { return a; }, any,
                       [&a](const std::string& v) { a = v; }});
  s.entries.push_back({"alpha-two", [&b] { return b; }, no_bad,
                       [&b](const std::string& v) { b = v; }});
  s.entries.push_back({"port", [] { return std::string{"6379"}; }, {}, {}});
  return s;
}

TEST(NodeSettings, GetMatchesGlobsInAnyCaseInTableOrder) {
  std::string a = "1", b = "2";
  auto s = make_table(a, b);
  auto hits = s.matching({"ALPHA-*", "port", "alpha-one"});
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0]->name, "alpha-one");
  EXPECT_EQ(hits[1]->name, "alpha-two");
  EXPECT_EQ(hits[2]->name, "port");
  EXPECT_TRUE(s.matching({"nothing*"}).empty());
}

TEST(NodeSettings, SetChangesEverythingOrNothing) {
  std::string a = "1", b = "2";
  auto s = make_table(a, b);
  EXPECT_EQ(s.set_all({{"alpha-one", "10"}, {"ALPHA-TWO", "20"}}), "");
  EXPECT_EQ(a, "10");
  EXPECT_EQ(b, "20");
  EXPECT_EQ(s.set_all({{"alpha-one", "11"}, {"alpha-two", "bad"}}),
            "ERR CONFIG SET failed (possibly related to argument 'alpha-two') - "
            "argument must be good");
  EXPECT_EQ(a, "10"); // the good pair was not applied either
  EXPECT_EQ(s.set_all({{"alpha-one", "12"}, {"alpha-one", "13"}}),
            "ERR CONFIG SET failed (possibly related to argument 'alpha-one') - "
            "duplicate parameter");
  EXPECT_EQ(s.set_all({{"port", "1"}}),
            "ERR CONFIG SET failed (possibly related to argument 'port') - "
            "can't set immutable config");
  // A fixed setting takes the value it has, as a no-op, alone or with others.
  EXPECT_EQ(s.set_all({{"port", "6379"}, {"alpha-one", "14"}}), "");
  EXPECT_EQ(a, "14");
  EXPECT_EQ(s.set_all({{"alpha-one", "15"}, {"port", "6380"}}),
            "ERR CONFIG SET failed (possibly related to argument 'port') - "
            "can't set immutable config");
  EXPECT_EQ(a, "14");
  EXPECT_EQ(s.set_all({{"nosuch", "1"}}),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
}

} // namespace
} // namespace stairkv::gateway
