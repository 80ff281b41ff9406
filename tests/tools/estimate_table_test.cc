#include "tools/mlectl/estimate_table.h"

#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

mled::v1::Estimate Univariate(const std::string& stream, uint64_t count, double mean,
                              double variance) {
  mled::v1::Estimate estimate;
  estimate.set_stream(stream);
  estimate.set_count(count);
  estimate.set_dim(1);
  estimate.add_mean(mean);
  estimate.add_covariance(variance);
  return estimate;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(EstimateTableTest, UnivariateRowShowsMleAndUnbiasedVariance) {
  mled::v1::Estimates estimates;
  mled::v1::Estimate& e = *estimates.add_estimates() = Univariate("cpu.load", 4, 2.5, 1.25);
  e.set_nll(5.5);
  e.set_mean_nll(1.375);
  const std::vector<std::string> lines = Lines(FormatEstimateTable(estimates));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "STREAM    N  D  MEAN  VAR(MLE)  VAR(N-1)  NLL  MEAN_NLL");
  // Unbiased variance: 4/3 * 1.25.
  EXPECT_EQ(lines[1], "cpu.load  4  1  2.5   1.25      1.66667   5.5  1.375");
}

TEST(EstimateTableTest, DegenerateModelShowsNoNaN) {
  mled::v1::Estimates estimates;
  *estimates.add_estimates() = Univariate("constant", 10, 3, 0);
  *estimates.add_estimates() = Univariate("single", 1, 7, 0);
  // Defensive: even a non-finite number from a faulty peer is not printed as such.
  *estimates.add_estimates() = Univariate("broken", 5, std::numeric_limits<double>::quiet_NaN(),
                                          std::numeric_limits<double>::infinity());
  const std::string table = FormatEstimateTable(estimates);
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], HasSubstr("degenerate"));
  EXPECT_THAT(lines[2], HasSubstr("degenerate"));
  EXPECT_THAT(lines[3], HasSubstr("degenerate"));
  // n = 1: no unbiased variance.
  EXPECT_THAT(lines[2], HasSubstr("single     1  1  7     0         -  "));
  for (absl::string_view bad : {"nan", "NaN", "inf", "Inf"}) {
    EXPECT_THAT(table, Not(HasSubstr(bad)));
  }
}

TEST(EstimateTableTest, MultivariateShowsMeanVectorAndCovarianceDiagonal) {
  mled::v1::Estimate estimate;
  estimate.set_stream("pos");
  estimate.set_count(11);
  estimate.set_dim(3);
  for (double m : {1.0, 2.0, 3.0}) estimate.add_mean(m);
  // Row-major 3x3 with diagonal 10, 20, 30.
  for (double c : {10.0, 1.0, 2.0, 1.0, 20.0, 3.0, 2.0, 3.0, 30.0}) estimate.add_covariance(c);
  estimate.set_nll(-1.5);
  estimate.set_mean_nll(-0.136364);
  const mled::v1::Estimate* rows[] = {&estimate};
  const std::vector<std::string> lines = Lines(FormatEstimateTable(rows));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("[1, 2, 3]"));
  EXPECT_THAT(lines[1], HasSubstr("[10, 20, 30]"));
  EXPECT_THAT(lines[1], HasSubstr("[11, 22, 33]"));  // 11/10 of the diagonal
  EXPECT_THAT(lines[1], HasSubstr("-1.5"));
}

TEST(EstimateTableTest, LongVectorsAreCut) {
  mled::v1::Estimate estimate;
  estimate.set_stream("wide");
  estimate.set_count(100);
  estimate.set_dim(6);
  for (int i = 0; i < 6; ++i) estimate.add_mean(i);
  for (int i = 0; i < 36; ++i) estimate.add_covariance(i % 7 == 0 ? 1 : 0);
  const mled::v1::Estimate* rows[] = {&estimate};
  EXPECT_THAT(FormatEstimateTable(rows), HasSubstr("[0, 1, 2, 3, ...]"));
}

TEST(EstimateTableTest, MaxRowsSaysHowManyAreLeftOut) {
  mled::v1::Estimates estimates;
  for (int i = 0; i < 5; ++i)
    *estimates.add_estimates() = Univariate(absl::StrCat("s", i), 3, 1, 1);
  const std::vector<std::string> lines = Lines(FormatEstimateTable(estimates, 3));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4], "... and 2 more streams");
}

TEST(EstimateTableTest, EmptyTableHasHeaderOnly) {
  EXPECT_EQ(Lines(FormatEstimateTable(mled::v1::Estimates())).size(), 1u);
}

}  // namespace
}  // namespace mled::mlectl
