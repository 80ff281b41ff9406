#include "lib/engine/stream_matcher.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mled::engine {
namespace {

StreamMatcher Make(std::vector<std::string> patterns) { return StreamMatcher(patterns); }

TEST(StreamMatcherTest, EmptyMatchesEverything) {
  const StreamMatcher matcher;
  EXPECT_TRUE(matcher.matches_all());
  EXPECT_TRUE(matcher.Matches("anything/at/all"));
  EXPECT_TRUE(Make({}).Matches(""));
}

TEST(StreamMatcherTest, ExactNamesAreLookedUp) {
  const StreamMatcher matcher = Make({"boiler", "plant7/a/temp"});
  EXPECT_TRUE(matcher.exact_only());
  EXPECT_TRUE(matcher.Matches("boiler"));
  EXPECT_TRUE(matcher.Matches("plant7/a/temp"));
  EXPECT_FALSE(matcher.Matches("boiler2"));
  EXPECT_FALSE(matcher.Matches("plant7/a"));
}

TEST(StreamMatcherTest, StarMatchesSlashes) {
  const StreamMatcher matcher = Make({"plant7/*"});
  EXPECT_FALSE(matcher.exact_only());
  EXPECT_TRUE(matcher.Matches("plant7/a"));
  EXPECT_TRUE(matcher.Matches("plant7/a/b/temp"));
  EXPECT_FALSE(matcher.Matches("plant8/a"));
}

TEST(StreamMatcherTest, QuestionMarkAndClasses) {
  const StreamMatcher matcher = Make({"s?", "t[ab]", "u[!x]"});
  EXPECT_TRUE(matcher.Matches("s1"));
  EXPECT_FALSE(matcher.Matches("s12"));
  EXPECT_TRUE(matcher.Matches("ta"));
  EXPECT_TRUE(matcher.Matches("tb"));
  EXPECT_FALSE(matcher.Matches("tc"));
  EXPECT_TRUE(matcher.Matches("uy"));
  EXPECT_FALSE(matcher.Matches("ux"));
}

TEST(StreamMatcherTest, MixesNamesAndGlobs) {
  const StreamMatcher matcher = Make({"exact", "glob/*"});
  EXPECT_TRUE(matcher.Matches("exact"));
  EXPECT_TRUE(matcher.Matches("glob/x"));
  EXPECT_FALSE(matcher.Matches("other"));
}

TEST(StreamMatcherTest, IsGlob) {
  EXPECT_FALSE(StreamMatcher::IsGlob("a/b.c-d_e"));
  EXPECT_TRUE(StreamMatcher::IsGlob("a*"));
  EXPECT_TRUE(StreamMatcher::IsGlob("a?"));
  EXPECT_TRUE(StreamMatcher::IsGlob("[a]"));
  EXPECT_TRUE(StreamMatcher::IsGlob("a\\*"));
}

}  // namespace
}  // namespace mled::engine
