#include "tools/mlectl/sample_reader.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ParsedSample Parse(absl::string_view line, SampleFormat format = SampleFormat::kAuto) {
  ParsedSample sample;
  absl::StatusOr<bool> parsed = ParseSampleLine(line, format, &sample);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed.ok() && *parsed) << "skipped: " << line;
  return sample;
}

absl::Status ParseError(absl::string_view line, SampleFormat format = SampleFormat::kAuto) {
  ParsedSample sample;
  absl::StatusOr<bool> parsed = ParseSampleLine(line, format, &sample);
  EXPECT_FALSE(parsed.ok()) << line;
  return parsed.status();
}

TEST(ParseSampleLineTest, WhitespaceSeparated) {
  ParsedSample sample = Parse("cpu.load 0.75");
  EXPECT_EQ(sample.stream, "cpu.load");
  EXPECT_THAT(sample.values, ElementsAre(0.75));

  sample = Parse("  pos/robot1\t1.5   -2 \t 3  ");
  EXPECT_EQ(sample.stream, "pos/robot1");
  EXPECT_THAT(sample.values, ElementsAre(1.5, -2, 3));
}

TEST(ParseSampleLineTest, Csv) {
  ParsedSample sample = Parse("cpu.load,0.75");
  EXPECT_EQ(sample.stream, "cpu.load");
  EXPECT_THAT(sample.values, ElementsAre(0.75));

  sample = Parse(" pos/robot 1 , 1.5, -2 ,3\r", SampleFormat::kCsv);
  EXPECT_EQ(sample.stream, "pos/robot 1");  // CSV names may hold spaces
  EXPECT_THAT(sample.values, ElementsAre(1.5, -2, 3));
}

TEST(ParseSampleLineTest, FormatIsDetectedPerLine) {
  EXPECT_EQ(Parse("a,1").stream, "a");
  EXPECT_EQ(Parse("a 1").stream, "a");
}

TEST(ParseSampleLineTest, ForcedFormatDoesNotGuess) {
  // In the lines format a comma is part of the name, which then has no values.
  EXPECT_THAT(ParseError("a,1", SampleFormat::kLines).message(), HasSubstr("has no values"));
  EXPECT_THAT(ParseError("a 1", SampleFormat::kCsv).message(), HasSubstr("has no values"));
}

TEST(ParseSampleLineTest, SkipsBlankAndCommentLines) {
  for (absl::string_view line : {"", "   ", "\t\r", "# comment", "   # indented, with, commas"}) {
    ParsedSample sample;
    absl::StatusOr<bool> parsed = ParseSampleLine(line, SampleFormat::kAuto, &sample);
    ASSERT_TRUE(parsed.ok()) << line;
    EXPECT_FALSE(*parsed) << line;
  }
}

TEST(ParseSampleLineTest, AcceptsEveryStrtodForm) {
  EXPECT_THAT(Parse("s 1e3 -2.5E-1 +.5 0x1p-2 -0X10 1.").values,
              ElementsAre(1000, -0.25, 0.5, 0.25, -16, 1));
}

TEST(ParseSampleLineTest, PassesNanAndInfToTheDaemon) {
  const ParsedSample sample = Parse("s nan inf -Infinity NaN 1e999");
  ASSERT_EQ(sample.values.size(), 5u);
  EXPECT_TRUE(std::isnan(sample.values[0]));
  EXPECT_EQ(sample.values[1], std::numeric_limits<double>::infinity());
  EXPECT_EQ(sample.values[2], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(sample.values[3]));
  EXPECT_EQ(sample.values[4], std::numeric_limits<double>::infinity());  // out of range
}

TEST(ParseSampleLineTest, RejectsWhatIsNotANumber) {
  EXPECT_THAT(ParseError("s 1.2.3").message(), HasSubstr("field 2 \"1.2.3\" is not a number"));
  EXPECT_THAT(ParseError("s 1 2x").message(), HasSubstr("field 3 \"2x\""));
  EXPECT_THAT(ParseError("s 1 -").message(), HasSubstr("field 3"));
  EXPECT_THAT(ParseError("s,1,,2").message(), HasSubstr("field 3 is empty"));
  EXPECT_THAT(ParseError("s,1,").message(), HasSubstr("field 3 is empty"));
  EXPECT_THAT(ParseError("s,1 2").message(), HasSubstr("field 2 \"1 2\""));
  EXPECT_THAT(ParseError("s").message(), HasSubstr("\"s\" has no values"));
  EXPECT_THAT(ParseError(",1").message(), HasSubstr("empty stream name"));
  EXPECT_EQ(ParseError("s x").code(), absl::StatusCode::kInvalidArgument);
}

TEST(SampleReaderTest, ReadsSamplesAndCountsLines) {
  std::istringstream in("# header\n\na 1\nb,2,3\r\n  # note\nc 4");
  SampleReader reader(&in, "in.txt", SampleFormat::kAuto);
  ParsedSample sample;

  ASSERT_TRUE(*reader.Next(&sample));
  EXPECT_EQ(sample.stream, "a");
  EXPECT_EQ(reader.line(), 3);
  ASSERT_TRUE(*reader.Next(&sample));
  EXPECT_EQ(sample.stream, "b");
  EXPECT_THAT(sample.values, ElementsAre(2, 3));
  EXPECT_EQ(reader.line(), 4);
  ASSERT_TRUE(*reader.Next(&sample));
  EXPECT_EQ(sample.stream, "c");
  EXPECT_EQ(reader.line(), 6);  // the last line has no newline
  absl::StatusOr<bool> end = reader.Next(&sample);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
}

TEST(SampleReaderTest, ErrorsNameTheInputAndLine) {
  std::istringstream in("a 1\n\nb 2\nc oops\nd 5\n");
  SampleReader reader(&in, "data.txt", SampleFormat::kAuto);
  ParsedSample sample;
  ASSERT_TRUE(*reader.Next(&sample));
  ASSERT_TRUE(*reader.Next(&sample));
  const absl::StatusOr<bool> bad = reader.Next(&sample);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "data.txt:4: field 2 \"oops\" is not a number");
  EXPECT_EQ(reader.line(), 4);
}

TEST(SampleReaderTest, InputAtHandUntilTheEnd) {
  std::istringstream in("a 1\nb 2\n");
  SampleReader reader(&in, "in", SampleFormat::kAuto);
  ParsedSample sample;
  EXPECT_TRUE(reader.InputAtHand());
  ASSERT_TRUE(*reader.Next(&sample));
  EXPECT_TRUE(reader.InputAtHand());
  ASSERT_TRUE(*reader.Next(&sample));
  EXPECT_FALSE(reader.InputAtHand());
  EXPECT_FALSE(*reader.Next(&sample));
  EXPECT_FALSE(reader.InputAtHand());
}

TEST(ParseSampleFormatTest, Names) {
  EXPECT_EQ(*ParseSampleFormat("auto"), SampleFormat::kAuto);
  EXPECT_EQ(*ParseSampleFormat("lines"), SampleFormat::kLines);
  EXPECT_EQ(*ParseSampleFormat("csv"), SampleFormat::kCsv);
  EXPECT_FALSE(ParseSampleFormat("tsv").ok());
}

}  // namespace
}  // namespace mled::mlectl
