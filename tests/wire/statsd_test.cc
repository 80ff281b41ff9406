#include "lib/wire/statsd.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mled::wire {
namespace {

struct Parsed {
  std::string stream;
  double value;
  StatsdType type;
  bool gauge_delta;
  double sample_rate;
  bool operator==(const Parsed&) const = default;
};

std::vector<Parsed> Parse(absl::string_view datagram, StatsdCounts* counts = nullptr) {
  std::vector<Parsed> out;
  const StatsdCounts c = ParseStatsdDatagram(datagram, [&](const StatsdSample& s) {
    out.push_back(Parsed{std::string(s.stream), s.value, s.type, s.gauge_delta, s.sample_rate});
  });
  if (counts != nullptr) *counts = c;
  return out;
}

TEST(StatsdTest, EveryNumericTypeOneLineOneSample) {
  StatsdCounts counts;
  const std::vector<Parsed> parsed =
      Parse("a:1|g\nb:2.5|ms\nc:3|h\nd:4|d\ne:5|c", &counts);
  EXPECT_THAT(parsed, testing::ElementsAre(
                          Parsed{"a", 1, StatsdType::kGauge, false, 1},
                          Parsed{"b", 2.5, StatsdType::kTimer, false, 1},
                          Parsed{"c", 3, StatsdType::kHistogram, false, 1},
                          Parsed{"d", 4, StatsdType::kDistribution, false, 1},
                          Parsed{"e", 5, StatsdType::kCounter, false, 1}));
  EXPECT_EQ(counts.lines, 5u);
  EXPECT_EQ(counts.samples, 5u);
  EXPECT_EQ(counts.malformed, 0u);
}

TEST(StatsdTest, TrailingNewlineAndCrlfAreFine) {
  StatsdCounts counts;
  EXPECT_EQ(Parse("a:1|g\r\nb:2|g\n", &counts).size(), 2u);
  EXPECT_EQ(counts.malformed, 0u);
}

TEST(StatsdTest, NumbersInJavaScriptAndCForms) {
  const std::vector<Parsed> parsed = Parse("a:1e-7|ms\na:1e+21|ms\na:.5|ms\na:-0|ms\na:5.|ms");
  ASSERT_EQ(parsed.size(), 5u);
  EXPECT_EQ(parsed[0].value, 1e-7);
  EXPECT_EQ(parsed[1].value, 1e21);
  EXPECT_EQ(parsed[2].value, 0.5);
  EXPECT_EQ(parsed[3].value, 0.0);
  EXPECT_EQ(parsed[4].value, 5.0);
}

TEST(StatsdTest, SignedGaugeIsADelta) {
  const std::vector<Parsed> parsed = Parse("g:+3|g\ng:-5|g\ng:7|g\nt:-5|ms");
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_TRUE(parsed[0].gauge_delta);
  EXPECT_EQ(parsed[0].value, 3);
  EXPECT_TRUE(parsed[1].gauge_delta);
  EXPECT_EQ(parsed[1].value, -5);
  EXPECT_FALSE(parsed[2].gauge_delta);
  EXPECT_FALSE(parsed[3].gauge_delta) << "only gauges take deltas";
}

TEST(StatsdTest, SampleRateOnAnyType) {
  const std::vector<Parsed> parsed = Parse("c:1|c|@0.1\nt:2|ms|@0.5\ng:3|g|@1");
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0].sample_rate, 0.1);
  EXPECT_EQ(parsed[1].sample_rate, 0.5);
  EXPECT_EQ(parsed[2].sample_rate, 1);
}

TEST(StatsdTest, TagsAreFoldedInAStableOrder) {
  const std::vector<Parsed> parsed =
      Parse("x:1|g|#b:2,a:1,key_only\nx:2|g|#key_only,a:1,b:2,a:1\nx:3|g|@0.5|#a:1");
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0].stream, "x;a:1;b:2;key_only");
  EXPECT_EQ(parsed[1].stream, parsed[0].stream) << "order and duplicates do not matter";
  EXPECT_EQ(parsed[2].stream, "x;a:1");
  EXPECT_EQ(parsed[2].sample_rate, 0.5);
}

TEST(StatsdTest, UnknownTrailingFieldsAreSkipped) {
  StatsdCounts counts;
  const std::vector<Parsed> parsed =
      Parse("a:1|c|c:abc123\nb:2|d|T1656581400\nc:3|g|card:high|e:x|#t:1", &counts);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[2].stream, "c;t:1");
  EXPECT_EQ(counts.malformed, 0u);
}

TEST(StatsdTest, PackedValuesAreSeveralSamples) {
  const std::vector<Parsed> parsed = Parse("lat:1:2.5:3|d|#svc:a");
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[1].value, 2.5);
  EXPECT_EQ(parsed[2].stream, "lat;svc:a");
}

TEST(StatsdTest, EachPackedGaugeValueIsADeltaByItsOwnSign) {
  EXPECT_THAT(Parse("g:5:+1:-2|g"),
              testing::ElementsAre(Parsed{"g", 5, StatsdType::kGauge, false, 1},
                                   Parsed{"g", 1, StatsdType::kGauge, true, 1},
                                   Parsed{"g", -2, StatsdType::kGauge, true, 1}));
  EXPECT_THAT(Parse("g:+1:5|g"),
              testing::ElementsAre(Parsed{"g", 1, StatsdType::kGauge, true, 1},
                                   Parsed{"g", 5, StatsdType::kGauge, false, 1}));
}

TEST(StatsdTest, SetsAreCountedAndSkipped) {
  StatsdCounts counts;
  EXPECT_TRUE(Parse("users:alice|s\nusers:bob|s", &counts).empty());
  EXPECT_EQ(counts.sets, 2u);
  EXPECT_EQ(counts.lines, 2u);
  EXPECT_EQ(counts.malformed, 0u);
}

TEST(StatsdTest, MalformedLinesAreCountedAndTheRestApplied) {
  StatsdCounts counts;
  const std::vector<Parsed> parsed = Parse(
      "ok:1|g\n"
      "novalue|g\n"      // no ':'
      ":1|g\n"           // no name
      "a:|g\n"           // empty value
      "a:1\n"            // no type
      "a:1|x\n"          // unknown type
      "a:nan|g\n"        // not finite
      "a:inf|ms\n"
      "a:0x10|ms\n"      // hex is not a StatsD number
      "a:1|c|@0\n"       // rate out of (0, 1]
      "a:1|c|@1.5\n"
      "a:1:x|d\n"        // one bad packed value spoils the line
      "a:+-5|g\n"        // two signs
      "a:++5|g\n"
      "a:+|g\n"
      "a:1e|ms\n"        // no exponent digits
      "a:1e999|ms\n"     // overflows to inf
      "ok2:2|ms",
      &counts);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].stream, "ok");
  EXPECT_EQ(parsed[1].stream, "ok2");
  EXPECT_EQ(counts.malformed, 16u);
  EXPECT_EQ(counts.lines, 2u);
}

TEST(StatsdTest, GarbageNeverCrashes) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes.push_back(static_cast<char>((i * 131 + 7) % 256));
  StatsdCounts counts = ParseStatsdDatagram(bytes, [](const StatsdSample&) {});
  EXPECT_EQ(counts.samples, 0u);
  EXPECT_EQ(ParseStatsdDatagram("", [](const StatsdSample&) {}).lines, 0u);
  EXPECT_EQ(ParseStatsdDatagram("\n\n\n", [](const StatsdSample&) {}).malformed, 0u);
}

}  // namespace
}  // namespace mled::wire
