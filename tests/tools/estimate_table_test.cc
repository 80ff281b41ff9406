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
  e.set_estimator(mled::v1::ESTIMATOR_CUMULATIVE);
  e.set_effective_count(4);
  const std::vector<std::string> lines = Lines(FormatEstimateTable(estimates));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[0],
      "STREAM    EST  N  N_EFF  D  MEAN  VAR(MLE)  VAR(N-1)  NLL  MEAN_NLL  ANOMALIES  LAST_P");
  // Unbiased variance: 4/3 * 1.25.
  EXPECT_EQ(lines[1],
            "cpu.load  cum  4      4  1  2.5   1.25      1.66667   5.5  1.375             0  -");
}

TEST(EstimateTableTest, EstimatorEffectiveCountAnomaliesAndLastPValue) {
  mled::v1::Estimates estimates;
  mled::v1::Estimate& cum = *estimates.add_estimates() = Univariate("cum", 1000, 0.5, 0.08);
  cum.set_estimator(mled::v1::ESTIMATOR_CUMULATIVE);
  cum.set_effective_count(1000);
  cum.set_anomalies(2);
  cum.set_last_score(0.7);
  cum.set_last_p_value(0.41321);
  mled::v1::Estimate& exp = *estimates.add_estimates() = Univariate("exp", 52310, 1, 2);
  exp.set_estimator(mled::v1::ESTIMATOR_EXPONENTIAL);
  exp.set_effective_count(137.46);
  exp.set_anomalies(12345);
  exp.set_last_p_value(3.1234e-9);
  mled::v1::Estimate& win = *estimates.add_estimates() = Univariate("win", 7, 3, 1);
  win.set_estimator(mled::v1::ESTIMATOR_WINDOW);
  win.set_effective_count(7);
  // A heavily forgotten stream stands on less than two samples: no unbiased variance.
  mled::v1::Estimate& thin = *estimates.add_estimates() = Univariate("thin", 90, 1, 2);
  thin.set_estimator(mled::v1::ESTIMATOR_EXPONENTIAL);
  thin.set_effective_count(0.75);
  const std::vector<std::string> lines = Lines(FormatEstimateTable(estimates));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "STREAM  EST      N  N_EFF  D  MEAN  VAR(MLE)  VAR(N-1)   NLL         MEAN_NLL  "
            "ANOMALIES  LAST_P");
  EXPECT_EQ(
      lines[1],
      "cum     cum   1000   1000  1  0.5   0.08      0.0800801  degenerate  -                 2  "
      "0.413");
  // The unbiased variance of the exponential estimator uses N_EFF: 2 * 137.46 / 136.46.
  EXPECT_EQ(
      lines[2],
      "exp     exp  52310  137.5  1  1     2         2.01466    degenerate  -             12345  "
      "3.12e-09");
  EXPECT_EQ(
      lines[3],
      "win     win      7      7  1  3     1         1.16667    degenerate  -                 0  "
      "-");
  EXPECT_EQ(
      lines[4],
      "thin    exp     90    0.8  1  1     2         -          degenerate  -                 0  "
      "-");
}

TEST(EstimateTableTest, DegenerateModelShowsNoNaN) {
  mled::v1::Estimates estimates;
  *estimates.add_estimates() = Univariate("constant", 10, 3, 0);
  *estimates.add_estimates() = Univariate("single", 1, 7, 0);
  // Defensive: even a non-finite number from a faulty peer is not printed as such.
  mled::v1::Estimate& broken = *estimates.add_estimates() =
      Univariate("broken", 5, std::numeric_limits<double>::quiet_NaN(),
                 std::numeric_limits<double>::infinity());
  broken.set_estimator(mled::v1::ESTIMATOR_EXPONENTIAL);
  broken.set_effective_count(std::numeric_limits<double>::quiet_NaN());
  broken.set_last_p_value(std::numeric_limits<double>::quiet_NaN());
  const std::string table = FormatEstimateTable(estimates);
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], HasSubstr("degenerate"));
  EXPECT_THAT(lines[2], HasSubstr("degenerate"));
  EXPECT_THAT(lines[3], HasSubstr("degenerate"));
  // n = 1: no unbiased variance. A daemon that predates estimators shows no N_EFF.
  EXPECT_THAT(lines[2],
              HasSubstr("single    -     1      -  1  7     0         -         degenerate"));
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
