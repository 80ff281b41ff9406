#include "tools/mlectl/value_text.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ValueTextTest, NumbersHaveSixSignificantDigits) {
  EXPECT_EQ(FormatNumber(0.0831612345), "0.0831612");
  EXPECT_EQ(FormatNumber(-175.1), "-175.1");
  EXPECT_EQ(FormatNumber(1234567.89), "1.23457e+06");
}

TEST(ValueTextTest, ValuesAreExact) {
  EXPECT_EQ(FormatValue(1234567.89), "1234567.89");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(1e-7), "1e-07");
}

TEST(ValueTextTest, PValuesHaveThreeSignificantDigits) {
  EXPECT_EQ(FormatPValue(1.2345e-7), "1.23e-07");
  EXPECT_EQ(FormatPValue(0.5), "0.5");
}

TEST(ValueTextTest, NothingIsEverNaNOrInf) {
  for (double bad : {kNaN, kInf, -kInf}) {
    EXPECT_EQ(FormatNumber(bad), "-");
    EXPECT_EQ(FormatValue(bad), "-");
    EXPECT_EQ(FormatPValue(bad), "-");
  }
}

TEST(ValueTextTest, ListsAreOneWord) {
  EXPECT_EQ(FormatList(std::vector<double>{}, FormatValue), "-");
  EXPECT_EQ(FormatList(std::vector<double>{2.5}, FormatValue), "2.5");
  EXPECT_EQ(FormatList(std::vector<double>{1, 2.5, kNaN}, FormatValue), "[1,2.5,-]");
  EXPECT_EQ(FormatList(std::vector<double>{1.0 / 3, 2}, FormatNumber), "[0.333333,2]");
}

TEST(ValueTextTest, TimeToTheMillisecond) {
  // 2024-05-01 12:00:00.123456789 UTC
  EXPECT_EQ(FormatLocalTime(int64_t{1714564800123456789}, absl::UTCTimeZone()),
            "2024-05-01 12:00:00.123");
}

}  // namespace
}  // namespace mled::mlectl
