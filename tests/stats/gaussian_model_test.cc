#include "lib/stats/gaussian_model.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stats/reference.h"

namespace mled::stats {
namespace {

using reference::RelativeError;

TEST(ChiSquaredUpperTailTest, KnownQuantiles) {
  // The 95% quantiles of chi2_1 and chi2_5 (tables; R's qchisq(0.95, df)).
  EXPECT_NEAR(ChiSquaredUpperTail(3.841458820694124, 1), 0.05, 1e-14);
  EXPECT_NEAR(ChiSquaredUpperTail(11.070497693516351, 5), 0.05, 1e-14);
  EXPECT_NEAR(ChiSquaredUpperTail(6.634896601021214, 1), 0.01, 1e-14);
  // chi2_2 has the closed form exp(-x/2).
  EXPECT_NEAR(ChiSquaredUpperTail(3.0, 2), std::exp(-1.5), 1e-15);
}

TEST(ChiSquaredUpperTailTest, EdgesStayInRange) {
  EXPECT_EQ(ChiSquaredUpperTail(0, 3), 1.0);
  EXPECT_EQ(ChiSquaredUpperTail(-1, 3), 1.0);
  EXPECT_EQ(ChiSquaredUpperTail(std::numeric_limits<double>::infinity(), 3), 0.0);
  EXPECT_EQ(ChiSquaredUpperTail(std::numeric_limits<double>::quiet_NaN(), 3), 0.0);
  EXPECT_EQ(ChiSquaredUpperTail(std::numeric_limits<double>::max(), 64), 0.0);
  EXPECT_EQ(ChiSquaredUpperTail(1.0, 0), 0.0);
  for (double d2 : {1e-300, 1e-10, 0.5, 10.0, 1e3, 1e6}) {
    const double p = ChiSquaredUpperTail(d2, 4);
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
  }
}

TEST(GaussianModelTest, RejectsMalformedInput) {
  EXPECT_EQ(GaussianModel::Create({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<double> mean = {0, 0};
  EXPECT_EQ(GaussianModel::Create(mean, {1, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GaussianModel::Create(mean, {1, 0, 0, std::nan("")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<double> inf_mean = {std::numeric_limits<double>::infinity(), 0};
  EXPECT_EQ(GaussianModel::Create(inf_mean, {1, 0, 0, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GaussianModelTest, DegenerateCovarianceIsFailedPrecondition) {
  const std::vector<double> mean = {0, 0};
  for (const std::vector<double>& cov : std::vector<std::vector<double>>{
           {0, 0, 0, 0},                     // constant data
           {-1, 0, 0, -1},                   // no positive variance
           {1, 1, 1, 1},                     // exactly collinear
           {1, 2, 2, 1},                     // indefinite
           {1, 0, 0, 0},                     // one constant component
           {1, 1 - 1e-14, 1 - 1e-14, 1}}) {  // collinear up to rounding
    const absl::StatusOr<GaussianModel> model = GaussianModel::Create(mean, cov);
    EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition)
        << cov[0] << " " << cov[1] << " " << cov[3];
    EXPECT_FALSE(model.status().message().empty());
  }
  EXPECT_TRUE(GaussianModel::Create(mean, {1, 0, 0, 1e-11}).ok());
}

// The tolerance is relative to each component's own variance, so units do not matter:
// components 1e12 apart in variance, and weakly correlated, are a fine model.
TEST(GaussianModelTest, ComponentsOnVeryDifferentScalesAreNotDegenerate) {
  const std::vector<double> mean = {0, 0};
  EXPECT_TRUE(GaussianModel::Create(mean, {1e12, 0, 0, 1e-12}).ok());
  EXPECT_TRUE(GaussianModel::Create(mean, {1e12, 0.5, 0.5, 1e-12}).ok());
}

TEST(GaussianModelTest, FitMleNeedsMoreSamplesThanDimensions) {
  const std::vector<double> mean = {0, 0};
  const std::vector<double> cov = {1, 0, 0, 1};
  EXPECT_EQ(FitMle(2, mean, cov).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(FitMle(3, mean, cov).ok());
  EXPECT_FALSE(NllAtMle(2, FitMle(2, mean, cov)).has_value());
}

TEST(GaussianModelTest, UnivariateScoreMatchesClosedForm) {
  const double mu = 1e3;
  const double variance = 2.5;
  const std::vector<double> mean = {mu};
  const std::vector<double> cov = {variance};
  const absl::StatusOr<GaussianModel> model = GaussianModel::Create(mean, cov);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_NEAR(model->log_det(), std::log(variance), 1e-15);
  for (double x : {mu, mu + 0.1, mu - 3.0, mu + 10.0, mu - 100.0}) {
    const SampleScore s = model->Score({&x, 1});
    const double z2 = (x - mu) * (x - mu) / variance;
    const double nll = 0.5 * std::log(2 * std::numbers::pi * variance) + 0.5 * z2;
    EXPECT_NEAR(s.mahalanobis2, z2, 1e-13 * (1 + z2));
    EXPECT_NEAR(s.nll, nll, 1e-13 * (1 + std::fabs(nll)));
    // One degree of freedom: P(chi2_1 > z²) = P(|Z| > |z|) = erfc(|z| / sqrt 2).
    const double p = std::erfc(std::sqrt(z2) / std::numbers::sqrt2);
    EXPECT_LE(std::fabs(s.p_value - p), 1e-14 + 1e-12 * p) << x;
  }
}

TEST(GaussianModelTest, MultivariateScoreMatchesGaussianElimination) {
  constexpr int kDim = 4;
  // A well-conditioned but non-diagonal covariance, and a mean far from zero.
  const std::vector<double> mean = {1e6, -3.0, 0.5, 42.0};
  const std::vector<double> cov = {4.0,  1.2,  -0.8, 0.3,   //
                                   1.2,  2.0,  0.4,  -0.1,  //
                                   -0.8, 0.4,  1.5,  0.2,   //
                                   0.3,  -0.1, 0.2,  0.9};
  const absl::StatusOr<GaussianModel> model = GaussianModel::Create(mean, cov);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<long double> mu(mean.begin(), mean.end());
  const std::vector<long double> sigma(cov.begin(), cov.end());
  const std::vector<std::vector<double>> xs = {
      mean, {1e6 + 1, -2.0, 0.0, 41.0}, {1e6 - 5, 1.0, 3.0, 40.0}, {1e6 + 30, -30.0, 9.0, 50.0}};
  for (const std::vector<double>& x : xs) {
    const reference::Density ref = reference::GaussianNll(x.data(), mu, sigma);
    const SampleScore s = model->Score(x);
    EXPECT_NEAR(model->log_det(), static_cast<double>(ref.log_det), 1e-14);
    EXPECT_NEAR(s.mahalanobis2, static_cast<double>(ref.mahalanobis2),
                1e-12 * (1 + static_cast<double>(ref.mahalanobis2)));
    EXPECT_LE(RelativeError(s.nll, ref.nll), 1e-13);
    EXPECT_NEAR(s.p_value, ChiSquaredUpperTail(s.mahalanobis2, kDim), 0);
  }
}

TEST(GaussianModelTest, PValueAtKnownQuantile) {
  // Unit covariance in 5 dimensions, x - mu = sqrt(q/5) on every axis: d2 = q, the 95% quantile
  // of chi2_5, so p = 0.05.
  constexpr int kDim = 5;
  const double q = 11.070497693516351;
  const std::vector<double> mean(kDim, 10.0);
  std::vector<double> cov(kDim * kDim, 0.0);
  for (int i = 0; i < kDim; ++i) cov[i * kDim + i] = 1.0;
  const absl::StatusOr<GaussianModel> model = GaussianModel::Create(mean, cov);
  ASSERT_TRUE(model.ok());
  const std::vector<double> x(kDim, 10.0 + std::sqrt(q / kDim));
  const SampleScore s = model->Score(x);
  EXPECT_NEAR(s.mahalanobis2, q, 1e-13);
  EXPECT_NEAR(s.p_value, 0.05, 1e-14);
}

TEST(GaussianModelTest, ScoresStayFinite) {
  const std::vector<double> mean = {0, 0};
  const std::vector<double> cov = {1e-10, 0, 0, 1e-10};
  const absl::StatusOr<GaussianModel> model = GaussianModel::Create(mean, cov);
  ASSERT_TRUE(model.ok());
  for (const std::vector<double>& x :
       std::vector<std::vector<double>>{{1e300, -1e300}, {1.7e308, 1.7e308}, {1e-300, 0}}) {
    const SampleScore s = model->Score(x);
    EXPECT_TRUE(std::isfinite(s.nll));
    EXPECT_TRUE(std::isfinite(s.mahalanobis2));
    EXPECT_GE(s.p_value, 0.0);
    EXPECT_LE(s.p_value, 1.0);
  }
  const SampleScore far = model->Score(std::vector<double>{1.7e308, -1.7e308});
  EXPECT_EQ(far.mahalanobis2, std::numeric_limits<double>::max());
  EXPECT_EQ(far.p_value, 0.0);
  // Wrong size: a caller bug, scored as infinitely far rather than read out of bounds.
  const SampleScore wrong = model->Score(std::vector<double>{1.0});
  EXPECT_EQ(wrong.p_value, 0.0);
  EXPECT_TRUE(std::isfinite(wrong.nll));
}

TEST(GaussianModelTest, NllAtMleFormula) {
  const double log_det = -1.25;
  const double expected = 0.5 * 1000 * (3 * std::log(2 * std::numbers::pi) + log_det + 3);
  EXPECT_NEAR(NllAtMle(1000, 3, log_det), expected, 1e-12 * std::fabs(expected));
  EXPECT_EQ(NllAtMle(0, 3, log_det), 0.0);
}

}  // namespace
}  // namespace mled::stats
