#include "modules/commands/glob.hpp"

#include <gtest/gtest.h>

#include <string>

using stairkv::commands::glob_match;

TEST(Glob, StarMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("max*", "maxmemory-policy"));
  EXPECT_TRUE(glob_match("*policy", "maxmemory-policy"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
}

TEST(Glob, QuestionMarkMatchesExactlyOneByte) {
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_FALSE(glob_match("h?llo", "hllo"));
}

TEST(Glob, ClassesRangesAndNegation) {
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-c]llo", "hbllo"));
  EXPECT_FALSE(glob_match("h[a-c]llo", "hdllo"));
}

TEST(Glob, BackslashEscapesAMetaCharacter) {
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
}

TEST(Glob, IgnoreCaseFoldsBothSides) {
  EXPECT_TRUE(glob_match("MAXMEM*", "maxmemory", true));
  EXPECT_FALSE(glob_match("MAXMEM*", "maxmemory", false));
}

TEST(Glob, PathologicalPatternsFinish) {
  std::string text(5000, 'a');
  std::string pattern;
  for (int i = 0; i < 30; ++i)
    pattern += "a*";
  pattern += "b";
  EXPECT_FALSE(glob_match(pattern, text));
}
