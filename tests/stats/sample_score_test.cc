#include "lib/stats/sample_score.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/complement.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_model.h"
#include "tests/stats/reference.h"

namespace mled::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ScoreModel PlugIn(int dim, double log_det) { return ScoreModel{dim, 0, log_det, false}; }
ScoreModel Predictive(int dim, double n, double log_det) {
  return ScoreModel{dim, n, log_det, true};
}

// |got - want| <= tolerance * max(1, |want|): relative for large values, absolute near 0.
::testing::AssertionResult Near(double got, long double want, double tolerance) {
  const long double scale = std::max(1.0L, std::fabs(want));
  if (std::fabs(got - want) <= tolerance * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << got << ", want " << static_cast<double>(want) << " (error "
         << static_cast<double>(std::fabs(got - want) / scale) << " > " << tolerance << ")";
}

// |got / want - 1| <= tolerance (want != 0).
::testing::AssertionResult RelNear(double got, double want, double tolerance) {
  if (got == want) return ::testing::AssertionSuccess();  // 0 == 0 included
  const double error = std::fabs(got - want) / std::fabs(want);
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (relative error "
                                       << error << " > " << tolerance << ")";
}

// --- Plug-in --------------------------------------------------------------------------------

// D = 1 plug-in against the normal distribution directly: the NLL is -log pdf, the p-value the
// two-sided tail P(|X - mu| > |x - mu|).
TEST(SampleScoreTest, PlugInUnivariateIsTheNormalDistribution) {
  for (const double mu : {0.0, -3.5, 1e6}) {
    for (const double sigma : {1e-3, 1.0, 250.0}) {
      const boost::math::normal normal(mu, sigma);
      for (const double z : {0.0, 0.1, 1.0, 2.5, 6.0, 20.0}) {
        const double x = mu + z * sigma;
        const double d2 = ((x - mu) / sigma) * ((x - mu) / sigma);
        const ScoreModel m = PlugIn(1, 2 * std::log(sigma));
        EXPECT_TRUE(Near(ScoreNll(m, d2), -std::log(boost::math::pdf(normal, x)), 1e-12))
            << mu << " " << sigma << " " << z;
        const double p = 2 * boost::math::cdf(boost::math::complement(normal, x));
        if (z == 0.0) {
          EXPECT_EQ(ScorePValue(m, d2), 1.0);
        } else {
          EXPECT_TRUE(RelNear(ScorePValue(m, d2), p, 1e-9)) << mu << " " << sigma << " " << z;
        }
      }
    }
  }
}

TEST(SampleScoreTest, PlugInIsChiSquared) {
  for (const int dim : {1, 3, 16}) {
    const ScoreModel m = PlugIn(dim, 1.25);
    for (const double d2 : {0.0, 0.5, 3.0, 40.0, 400.0}) {
      EXPECT_EQ(ScorePValue(m, d2), ChiSquaredUpperTail(d2, dim));
      EXPECT_DOUBLE_EQ(ScoreNll(m, d2), 0.5 * (dim * std::log(2 * std::numbers::pi) + 1.25 + d2));
    }
  }
}

TEST(SampleScoreTest, ChiSquaredQuantileUpper) {
  // R's qchisq(0.95, df) and qchisq(0.99, 1).
  EXPECT_NEAR(ChiSquaredQuantileUpper(1, 0.05), 3.841458820694124, 1e-13);
  EXPECT_NEAR(ChiSquaredQuantileUpper(5, 0.05), 11.070497693516351, 1e-13);
  EXPECT_NEAR(ChiSquaredQuantileUpper(1, 0.01), 6.634896601021214, 1e-13);
  // chi2_2: P(X > x) = exp(-x/2).
  EXPECT_NEAR(ChiSquaredQuantileUpper(2, 1e-3), -2 * std::log(1e-3), 1e-12);
  for (const int dof : {1, 2, 7, 64}) {
    for (const double p : {0.9, 0.5, 1e-3, 1e-12, 1e-200}) {
      EXPECT_TRUE(RelNear(ChiSquaredUpperTail(ChiSquaredQuantileUpper(dof, p), dof), p, 1e-10))
          << dof << " " << p;
    }
  }
  EXPECT_EQ(ChiSquaredQuantileUpper(3, 1.0), 0.0);
  EXPECT_EQ(ChiSquaredQuantileUpper(3, 2.0), 0.0);
  EXPECT_EQ(ChiSquaredQuantileUpper(0, 0.5), 0.0);
  EXPECT_EQ(ChiSquaredQuantileUpper(3, 0.0), kMaxFinite);
  EXPECT_EQ(ChiSquaredQuantileUpper(3, -1.0), kMaxFinite);
  EXPECT_EQ(ChiSquaredQuantileUpper(3, kNaN), kMaxFinite);
  EXPECT_TRUE(std::isfinite(ChiSquaredQuantileUpper(3, std::numeric_limits<double>::denorm_min())));
}

// --- Posterior predictive --------------------------------------------------------------------

// D = 1: the predictive of n samples with MLE (mu, sigma²) is Student's t with n - 1 dof, at
// t = (x - mu) / (s sqrt(1 + 1/n)), s² = n/(n - 1) sigma² the unbiased variance. Checked
// against boost::math::students_t (pdf and cdf), which shares no code path with ours (F
// distribution and gamma ratios). n need not be an integer (an effective count).
TEST(SampleScoreTest, PredictiveUnivariateIsStudentT) {
  for (const double n : {1.5, 2.0, 3.0, 7.3, 30.0, 1000.0, 1e6}) {
    for (const double sigma2 : {1e-4, 1.0, 3e5}) {
      const double mu = 12.0;
      const double s = std::sqrt(n / (n - 1) * sigma2);
      const double scale = s * std::sqrt(1 + 1 / n);
      const boost::math::students_t t_dist(n - 1);
      const ScoreModel m = Predictive(1, n, std::log(sigma2));
      for (const double dev : {0.0, 0.3, 1.0, 3.0, 10.0, 100.0}) {
        const double x = mu + dev * std::sqrt(sigma2);
        const double d2 = (x - mu) * (x - mu) / sigma2;
        const double t = (x - mu) / scale;
        const double log_pdf = std::log(boost::math::pdf(t_dist, t)) - std::log(scale);
        EXPECT_TRUE(Near(ScoreNll(m, d2), -log_pdf, 1e-12)) << n << " " << sigma2 << " " << dev;
        const double p = 2 * boost::math::cdf(boost::math::complement(t_dist, t));
        if (dev == 0.0) {
          EXPECT_EQ(ScorePValue(m, d2), 1.0);
        } else {
          EXPECT_TRUE(RelNear(ScorePValue(m, d2), p, 1e-11)) << n << " " << sigma2 << " " << dev;
        }
      }
    }
  }
}

// D > 1: Hotelling's T² = (n - 1)/(n + 1) d2 and (n - D)/(D (n - 1)) T² ~ F(D, n - D).
TEST(SampleScoreTest, PredictiveMultivariatePValueIsHotelling) {
  for (const int dim : {2, 5, 16}) {
    for (const double n : {dim + 0.5, dim + 1.0, 30.0, 31.7, 1000.0, 1e7}) {
      if (n <= dim) continue;
      const ScoreModel m = Predictive(dim, n, -0.7);
      // Default policy: Boost promotes to long double, unlike the library's double evaluation.
      const boost::math::fisher_f f_dist(dim, n - dim);
      for (const double d2 : {0.01, 1.0, 5.0, 25.0, 80.0, 300.0}) {
        const double t2 = (n - 1) / (n + 1) * d2;
        const double f = (n - dim) / (dim * (n - 1)) * t2;
        const double p = boost::math::cdf(boost::math::complement(f_dist, f));
        // The library evaluates in double: for even D its relative error grows about as
        // 3e-17 n (3e-10 at n = 1e7), harmless for a p-value threshold.
        EXPECT_TRUE(RelNear(ScorePValue(m, d2), p, 1e-11 + 1e-16 * n))
            << dim << " " << n << " " << d2;
      }
    }
  }
}

// -log of the multivariate t density with nu = n - D dof, location mu and scale
// Psi = Sigma (n + 1)/(n - D), straight from its textbook formula in long double:
//   Gamma((nu+D)/2) / (Gamma(nu/2) (nu pi)^(D/2) |Psi|^(1/2)) (1 + delta^T Psi^-1 delta /
//   nu)^-((nu+D)/2)
long double MultivariateTNll(const std::vector<double>& x, const std::vector<long double>& mean,
                             const std::vector<long double>& sigma, long double n) {
  const size_t d = mean.size();
  const long double dim = static_cast<long double>(d);
  const long double nu = n - dim;
  std::vector<long double> psi = sigma;
  for (long double& v : psi) v *= (n + 1) / nu;
  std::vector<long double> delta(d);
  for (size_t i = 0; i < d; ++i) delta[i] = x[i] - mean[i];
  const reference::Solved solved = reference::Solve(psi, delta);
  long double q = 0;
  for (size_t i = 0; i < d; ++i) q += delta[i] * solved.v[i];
  const long double log_density = boost::math::lgamma((nu + dim) / 2) -
                                  boost::math::lgamma(nu / 2) -
                                  dim / 2 * std::log(nu * std::numbers::pi_v<long double>) -
                                  0.5L * solved.log_abs_det - (nu + dim) / 2 * std::log1p(q / nu);
  return -log_density;
}

TEST(SampleScoreTest, PredictiveNllIsTheMultivariateTDensity) {
  for (const int dim : {1, 2, 4, 7}) {
    const std::vector<double> rows =
        reference::CorrelatedRows(static_cast<uint64_t>(dim), 200, dim, 5.0);
    const reference::Moments moments = reference::TwoPass(rows, dim);
    for (const double n : {dim + 0.25, dim + 1.0, 12.5, 200.0, 1e5}) {
      for (size_t row = 0; row < 6; ++row) {
        std::vector<double> x(rows.begin() + static_cast<std::ptrdiff_t>(row * dim),
                              rows.begin() + static_cast<std::ptrdiff_t>((row + 1) * dim));
        x[0] += 3.0 * static_cast<double>(row);  // some far from the mean
        const reference::Density plug_in =
            reference::GaussianNll(x.data(), moments.mean, moments.covariance);
        const ScoreModel m = Predictive(dim, n, static_cast<double>(plug_in.log_det));
        const long double want = MultivariateTNll(x, moments.mean, moments.covariance, n);
        EXPECT_TRUE(Near(ScoreNll(m, static_cast<double>(plug_in.mahalanobis2)), want, 1e-12))
            << dim << " " << n << " " << row;
      }
    }
  }
}

// The gamma-function ratio is computed without cancelling two lgammas, so the NLL stays accurate
// at counts where lgamma(n/2) ~ 1e13 would leave only a few digits.
TEST(SampleScoreTest, PredictiveNllIsAccurateForLargeCounts) {
  for (const int dim : {1, 2, 3, 10}) {
    for (const double n : {1e8, 1e11, 1e14}) {
      const long double nl = n;
      const long double dl = dim;
      const long double nu = nl - dl;
      // lgamma((nu+D)/2) - lgamma(nu/2) - (D/2) log(nu/2) ~ D (D - 2) / (4 nu) to first order
      // (Stirling); the next term is O(1/nu²), below 1e-16 here.
      const long double excess = dl * (dl - 2) / (4 * nu);
      const long double want_at_mode = 0.5L * (dl * std::log(2 * std::numbers::pi_v<long double>) +
                                               0.3L + dl * std::log((nl + 1) / nu)) -
                                       excess;
      const ScoreModel m = Predictive(dim, n, 0.3);
      EXPECT_TRUE(Near(ScoreNll(m, 0), want_at_mode, 1e-14)) << dim << " " << n;
      const double d2 = 9.0;
      const long double want = want_at_mode + nl / 2 * std::log1p(9.0L / (nl + 1));
      EXPECT_TRUE(Near(ScoreNll(m, d2), want, 1e-14)) << dim << " " << n;
    }
  }
}

// As n grows the predictive tends to the plug-in score; past kPredictiveAsPlugInCount it is the
// plug-in score, with no visible step at the switch.
TEST(SampleScoreTest, PredictiveTendsToPlugIn) {
  for (const int dim : {1, 4, 16}) {
    const ScoreModel plug_in = PlugIn(dim, 2.0);
    for (const double n :
         {1e4, 1e6, 1e9, 1e12, 0.999e15, 1.001e15, 1e20, 1e300, kMaxFinite, kInf}) {
      const ScoreModel m = Predictive(dim, n, 2.0);
      for (const double d2 : {0.5, 10.0, 40.0, 100.0}) {
        // The predictive differs from the plug-in by O((d2 + D)² / n), relatively (measured:
        // below 0.7 (d2 + D)² / n for n >= 1e4).
        const double tolerance = 2 * (d2 + dim) * (d2 + dim) / n + 1e-12;
        EXPECT_TRUE(RelNear(ScorePValue(m, d2), ScorePValue(plug_in, d2), tolerance))
            << dim << " " << n << " " << d2;
        EXPECT_TRUE(Near(ScoreNll(m, d2), ScoreNll(plug_in, d2), tolerance))
            << dim << " " << n << " " << d2;
      }
    }
    // Continuity at the switch to plug-in: the relative step is far below any threshold's.
    const double d2 = 30.0;
    EXPECT_TRUE(RelNear(ScorePValue(Predictive(dim, 0.999 * kPredictiveAsPlugInCount, 2.0), d2),
                        ScorePValue(Predictive(dim, 1.001 * kPredictiveAsPlugInCount, 2.0), d2),
                        1e-10));
  }
}

// The point of the predictive: at small n its tails are much heavier than the plug-in's.
TEST(SampleScoreTest, PredictiveTailsAreHeavierAtSmallCounts) {
  for (const int dim : {1, 5}) {
    const double d2 = ChiSquaredQuantileUpper(dim, 1e-3);
    const double p = ScorePValue(Predictive(dim, 30, 0.0), d2);
    EXPECT_GT(p, 3e-3) << dim;
    EXPECT_GT(Mahalanobis2AtPValue(Predictive(dim, 30, 0.0), 1e-3), d2) << dim;
  }
}

// --- Inverses --------------------------------------------------------------------------------

TEST(SampleScoreTest, InversesRoundTrip) {
  for (const bool predictive : {false, true}) {
    for (const int dim : {1, 3, 16}) {
      for (const double n : {dim + 0.5, dim + 2.0, 30.0, 1e4, 1e16}) {
        const ScoreModel m{dim, n, -1.5, predictive};
        for (const double p : {0.999, 0.5, 0.05, 1e-3, 1e-9, 1e-30, 1e-100}) {
          const double d2 = Mahalanobis2AtPValue(m, p);
          ASSERT_TRUE(std::isfinite(d2));
          if (d2 == kMaxFinite) continue;  // heavier than a double can say (n barely > D)
          EXPECT_TRUE(RelNear(ScorePValue(m, d2), p, 1e-9))
              << predictive << " " << dim << " " << n << " " << p << " d2 " << d2;
        }
        for (const double d2 : {0.0, 1e-8, 1.0, 30.0, 1e4, 1e12}) {
          const double nll = ScoreNll(m, d2);
          EXPECT_TRUE(Near(Mahalanobis2AtNll(m, nll), d2, 1e-9))
              << predictive << " " << dim << " " << n << " " << d2;
        }
        // Below the NLL at the mode there is no such distance: 0, so every sample exceeds it.
        EXPECT_EQ(Mahalanobis2AtNll(m, ScoreNll(m, 0) - 1), 0.0);
        EXPECT_EQ(Mahalanobis2AtNll(m, -kMaxFinite), 0.0);
        EXPECT_EQ(Mahalanobis2AtNll(m, kNaN), kMaxFinite);
        EXPECT_EQ(Mahalanobis2AtNll(m, kMaxFinite), kMaxFinite);
        EXPECT_EQ(Mahalanobis2AtNll(m, kInf), kMaxFinite);
        EXPECT_EQ(Mahalanobis2AtPValue(m, 1.0), 0.0);
        EXPECT_EQ(Mahalanobis2AtPValue(m, 1.5), 0.0);
        EXPECT_EQ(Mahalanobis2AtPValue(m, 0.0), kMaxFinite);
        EXPECT_EQ(Mahalanobis2AtPValue(m, -1.0), kMaxFinite);
        EXPECT_EQ(Mahalanobis2AtPValue(m, kNaN), kMaxFinite);
      }
    }
  }
}

// --- Edges -----------------------------------------------------------------------------------

// Every combination of extreme inputs gives finite values, p in [0, 1], the NLL non-decreasing
// and p non-increasing in d2.
TEST(SampleScoreTest, ExtremeInputsStayFinite) {
  const std::vector<double> d2s = {-1.0, 0.0,   1e-300, 1e-8,       1.0,  30.0,
                                   1e4,  1e100, 1e300,  kMaxFinite, kInf, kNaN};
  for (const bool predictive : {false, true}) {
    for (const int dim : {1, 2, 5, 64}) {
      for (const double n :
           {dim + 1e-300, dim + 1e-12, dim + 1e-6, dim + 1.0, 30.0, 1e8, 1e14, 1e30, kMaxFinite}) {
        for (const double log_det : {-700.0, 0.0, 700.0}) {
          const ScoreModel m{dim, n, log_det, predictive};
          double last_nll = -kInf;
          double last_p = 1.0;
          for (const double d2 : d2s) {
            const double nll = ScoreNll(m, d2);
            const double p = ScorePValue(m, d2);
            ASSERT_TRUE(std::isfinite(nll)) << predictive << " " << dim << " " << n << " " << d2;
            ASSERT_GE(p, 0.0);
            ASSERT_LE(p, 1.0);
            EXPECT_GE(nll, last_nll) << predictive << " " << dim << " " << n << " " << d2;
            EXPECT_LE(p, last_p) << predictive << " " << dim << " " << n << " " << d2;
            last_nll = nll;
            last_p = p;
          }
          EXPECT_EQ(ScorePValue(m, 0.0), 1.0);
          // (n = D + 1e-300 rounds to n = D, where the predictive gives p = 1 everywhere.)
          const bool defined = !predictive || n > dim;
          EXPECT_EQ(ScorePValue(m, kInf), defined ? 0.0 : 1.0);
          EXPECT_EQ(ScorePValue(m, kNaN), defined ? 0.0 : 1.0);
          EXPECT_EQ(ScoreNll(m, kNaN), kMaxFinite);
          EXPECT_EQ(ScoreNll(m, -1.0), ScoreNll(m, 0.0));
          for (const double p : {0.5, 1e-3, 1e-300}) {
            ASSERT_TRUE(std::isfinite(Mahalanobis2AtPValue(m, p)));
          }
          for (const double nll : {-1e300, 0.0, 1e3, 1e300}) {
            ASSERT_TRUE(std::isfinite(Mahalanobis2AtNll(m, nll)));
          }
        }
      }
    }
  }
}

// n <= D: the predictive is the limit n -> D+, spread over all of space.
TEST(SampleScoreTest, PredictiveWithoutMoreSamplesThanDimensionsIsTheLimit) {
  for (const int dim : {1, 3}) {
    for (const double n : {0.0, 1.0 * dim, dim - 0.5, -5.0, kNaN}) {
      const ScoreModel m = Predictive(dim, n, 0.0);
      EXPECT_EQ(ScoreNll(m, 0.0), kMaxFinite);
      EXPECT_EQ(ScoreNll(m, 1e6), kMaxFinite);
      EXPECT_EQ(ScorePValue(m, 1e6), 1.0);
      EXPECT_EQ(Mahalanobis2AtPValue(m, 1e-3), kMaxFinite);
      EXPECT_EQ(Mahalanobis2AtNll(m, 1e3), 0.0);
    }
    // ... which is where n barely above D is heading.
    const ScoreModel barely = Predictive(dim, dim + 1e-9, 0.0);
    EXPECT_GT(ScorePValue(barely, 1e6), 0.99);
    EXPECT_GT(ScoreNll(barely, 0.0), 20.0);
  }
}

TEST(SampleScoreTest, DimensionBelowOneIsInfinitelyFar) {
  for (const bool predictive : {false, true}) {
    const ScoreModel m{0, 30, 0.0, predictive};
    EXPECT_EQ(ScoreNll(m, 1.0), kMaxFinite);
    EXPECT_EQ(ScorePValue(m, 1.0), 0.0);
    EXPECT_EQ(ScorePValue(m, 0.0), 0.0);
    EXPECT_EQ(Mahalanobis2AtPValue(m, 1e-3), 0.0);
    EXPECT_EQ(Mahalanobis2AtNll(m, 10.0), 0.0);
  }
}

}  // namespace
}  // namespace mled::stats
