#include "lib/stats/gaussian_scorer.h"

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_model.h"
#include "lib/stats/sample_score.h"
#include "tests/stats/reference.h"

// Counts the heap allocations made while `g_count_mallocs` is set, by interposing malloc (which
// operator new and Eigen's aligned_malloc both call) in front of glibc's. Sanitizer runtimes
// interpose malloc themselves, so under them the allocation test is skipped.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MLED_COUNT_MALLOCS 0
#else
#define MLED_COUNT_MALLOCS 1
namespace {
std::atomic<bool> g_count_mallocs{false};
std::atomic<int64_t> g_mallocs{0};
}  // namespace
extern "C" void* __libc_malloc(size_t size);  // NOLINT: glibc's own malloc
extern "C" void* malloc(size_t size) noexcept {
  if (g_count_mallocs.load(std::memory_order_relaxed)) {
    g_mallocs.fetch_add(1, std::memory_order_relaxed);
  }
  return __libc_malloc(size);
}
#endif

namespace mled::stats {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Summary Moments(int dim, double effective_count, std::vector<double> mean,
                std::vector<double> covariance) {
  Summary s;
  s.count = static_cast<uint64_t>(effective_count);
  s.effective_count = effective_count;
  s.weight_sum = effective_count;
  s.dim = dim;
  s.mean = std::move(mean);
  s.covariance = std::move(covariance);
  return s;
}

// The MLE moments of `rows` (two-pass, long double), rounded to double as a Summary carries them.
Summary MomentsOf(const std::vector<double>& rows, int dim) {
  const reference::Moments m = reference::TwoPass(rows, dim);
  return Moments(dim, static_cast<double>(m.count),
                 std::vector<double>(m.mean.begin(), m.mean.end()),
                 std::vector<double>(m.covariance.begin(), m.covariance.end()));
}

std::vector<long double> Widen(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// d2 and log|Sigma| against the long double reference (Gaussian elimination, no Cholesky) on the
// moments of correlated data, for samples near and far from the mean.
TEST(GaussianScorerTest, MatchesLongDoubleReference) {
  for (const int dim : {1, 2, 4, 16}) {
    const size_t d = static_cast<size_t>(dim);
    const std::vector<double> rows =
        reference::CorrelatedRows(100 + static_cast<uint64_t>(dim), 500, dim, 1e3);
    const Summary moments = MomentsOf(rows, dim);
    GaussianScorer scorer;
    ASSERT_TRUE(scorer.Fit(moments).ok()) << dim;
    EXPECT_TRUE(scorer.fitted());
    EXPECT_EQ(scorer.dim(), dim);
    EXPECT_EQ(scorer.effective_count(), 500.0);
    const std::vector<long double> mean = Widen(moments.mean);
    const std::vector<long double> cov = Widen(moments.covariance);
    for (size_t row = 0; row < 20; ++row) {
      std::vector<double> x(rows.begin() + static_cast<std::ptrdiff_t>(row * d),
                            rows.begin() + static_cast<std::ptrdiff_t>((row + 1) * d));
      x[d - 1] += 2.0 * static_cast<double>(row);
      const reference::Density want = reference::GaussianNll(x.data(), mean, cov);
      EXPECT_LT(reference::RelativeError(scorer.Mahalanobis2(x), want.mahalanobis2), 1e-11)
          << dim << " " << row;
      EXPECT_LT(reference::RelativeError(scorer.log_det(), want.log_det), 1e-13) << dim;
      // The plug-in NLL through sample_score is -log N(x; mu, Sigma).
      EXPECT_LT(
          reference::RelativeError(ScoreNll(scorer.model(false), scorer.Mahalanobis2(x)), want.nll),
          1e-12)
          << dim << " " << row;
    }
  }
}

// A random SPD covariance Sigma = B B^T / D + 0.1 I (B standard normal), a random mean far
// from 0, and random samples, against the long double reference.
TEST(GaussianScorerTest, RandomSpdMatchesLongDoubleReference) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const int dim : {1, 4, 16}) {
    const size_t d = static_cast<size_t>(dim);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> b(d * d);
      for (double& v : b) v = normal(rng);
      std::vector<double> cov(d * d);
      for (size_t i = 0; i < d; ++i) {
        for (size_t j = 0; j < d; ++j) {
          double sum = 0;
          for (size_t k = 0; k < d; ++k) sum += b[i * d + k] * b[j * d + k];
          cov[i * d + j] = sum / dim + (i == j ? 0.1 : 0.0);
        }
      }
      std::vector<double> mean(d);
      for (double& v : mean) v = 1e3 * normal(rng);
      std::vector<double> x(d);
      for (size_t i = 0; i < d; ++i) x[i] = mean[i] + 3 * normal(rng);
      GaussianScorer scorer;
      ASSERT_TRUE(scorer.Fit(Moments(dim, 100, mean, cov)).ok()) << dim << " " << trial;
      const reference::Density want = reference::GaussianNll(x.data(), Widen(mean), Widen(cov));
      EXPECT_LT(reference::RelativeError(scorer.Mahalanobis2(x), want.mahalanobis2), 1e-11)
          << dim << " " << trial;
      // log|Sigma| may be near 0: compare it absolutely, in units of its terms' size.
      EXPECT_NEAR(scorer.log_det(), static_cast<double>(want.log_det), 1e-13 * dim)
          << dim << " " << trial;
    }
  }
}

TEST(GaussianScorerTest, UnivariateIsTheClosedForm) {
  GaussianScorer scorer;
  ASSERT_TRUE(scorer.Fit(Moments(1, 10, {3.0}, {4.0})).ok());
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{3.0}), 0.0);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{7.0}), 4.0);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{-1.0}), 4.0);
  EXPECT_EQ(scorer.log_det(), std::log(4.0));
  const ScoreModel m = scorer.model(true);
  EXPECT_EQ(m.dim, 1);
  EXPECT_EQ(m.effective_count, 10.0);
  EXPECT_EQ(m.log_det, std::log(4.0));
  EXPECT_TRUE(m.posterior_predictive);
  EXPECT_FALSE(scorer.model(false).posterior_predictive);
  // Far samples: (x - mu)² would overflow before dividing, d2 does not.
  ASSERT_TRUE(scorer.Fit(Moments(1, 10, {0.0}, {1e300})).ok());
  EXPECT_DOUBLE_EQ(scorer.Mahalanobis2(std::vector<double>{1e200}), 1e100);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{kMaxFinite}), kMaxFinite);  // 3e316
}

// GaussianScorer and GaussianModel are two routes to the same plug-in score.
TEST(GaussianScorerTest, AgreesWithGaussianModel) {
  for (const int dim : {1, 3, 8}) {
    const size_t d = static_cast<size_t>(dim);
    const std::vector<double> rows = reference::CorrelatedRows(7, 300, dim, -50.0);
    const Summary moments = MomentsOf(rows, dim);
    GaussianScorer scorer;
    ASSERT_TRUE(scorer.Fit(moments).ok());
    const absl::StatusOr<GaussianModel> model =
        GaussianModel::Create(moments.mean, moments.covariance);
    ASSERT_TRUE(model.ok());
    EXPECT_NEAR(scorer.log_det(), model->log_det(), 1e-13);
    for (size_t row = 0; row < 10; ++row) {
      const absl::Span<const double> x = absl::MakeConstSpan(rows).subspan(row * d, d);
      const SampleScore want = model->Score(x);
      const double d2 = scorer.Mahalanobis2(x);
      EXPECT_NEAR(d2, want.mahalanobis2, 1e-12 * want.mahalanobis2) << dim;
      EXPECT_NEAR(ScoreNll(scorer.model(false), d2), want.nll, 1e-12 * std::fabs(want.nll));
      EXPECT_NEAR(ScorePValue(scorer.model(false), d2), want.p_value, 1e-12);
    }
  }
}

// Only the lower triangle of the covariance is read, as GaussianModel::Create promises.
TEST(GaussianScorerTest, ReadsOnlyTheLowerTriangle) {
  const std::vector<double> rows = reference::CorrelatedRows(3, 100, 4, 0.0);
  Summary moments = MomentsOf(rows, 4);
  GaussianScorer scorer;
  ASSERT_TRUE(scorer.Fit(moments).ok());
  const std::vector<double> x = {1, 2, 3, 4};
  const double d2 = scorer.Mahalanobis2(x);
  const double log_det = scorer.log_det();
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) moments.covariance[static_cast<size_t>(i * 4 + j)] = 1e6;
  }
  ASSERT_TRUE(scorer.Fit(moments).ok());
  EXPECT_EQ(scorer.Mahalanobis2(x), d2);
  EXPECT_EQ(scorer.log_det(), log_det);
}

// The degenerate models are exactly GaussianModel's (one shared definition), plus too few
// effective samples; after a failed fit the scorer is unfitted.
TEST(GaussianScorerTest, DegenerateFitsAreFailedPrecondition) {
  const std::vector<double> mean2 = {0, 0};
  for (const std::vector<double>& cov : std::vector<std::vector<double>>{
           {0, 0, 0, 0},                     // constant data
           {-1, 0, 0, -1},                   // no positive variance
           {1, 1, 1, 1},                     // exactly collinear
           {1, 2, 2, 1},                     // indefinite
           {1, 0, 0, 0},                     // one constant component
           {1, 1 - 1e-14, 1 - 1e-14, 1}}) {  // collinear up to rounding
    GaussianScorer scorer;
    ASSERT_TRUE(scorer.Fit(Moments(2, 10, mean2, {1, 0, 0, 1})).ok());
    const absl::Status status = scorer.Fit(Moments(2, 10, mean2, cov));
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << cov[0] << " " << cov[1];
    EXPECT_EQ(GaussianModel::Create(mean2, cov).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(status.message().empty());
    EXPECT_FALSE(scorer.fitted());
    EXPECT_EQ(scorer.dim(), 0);
    EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{0, 0}), kMaxFinite);
  }
  // Just inside the tolerance on either side, as GaussianModel.
  GaussianScorer scorer;
  EXPECT_TRUE(scorer.Fit(Moments(2, 10, mean2, {1, 0, 0, 1e-11})).ok());
  EXPECT_TRUE(scorer.Fit(Moments(2, 10, mean2, {1e12, 0.5, 0.5, 1e-12})).ok());

  for (const double variance : {0.0, -1.0}) {
    EXPECT_EQ(scorer.Fit(Moments(1, 10, {5.0}, {variance})).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(scorer.fitted());
    EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{5.0}), kMaxFinite);
    EXPECT_EQ(scorer.log_det(), 0.0);
    EXPECT_EQ(scorer.effective_count(), 0.0);
  }
  EXPECT_TRUE(scorer.Fit(Moments(1, 10, {5.0}, {1e-300})).ok());

  // Too few samples: n <= D.
  for (const double n : {0.0, 0.5, 1.0}) {
    EXPECT_EQ(scorer.Fit(Moments(1, n, {5.0}, {1.0})).code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(scorer.Fit(Moments(1, 1.01, {5.0}, {1.0})).ok());
  EXPECT_EQ(scorer.Fit(Moments(3, 3, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1})).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(scorer.Fit(Moments(3, 3.5, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1})).ok());
}

TEST(GaussianScorerTest, MalformedMomentsAreInvalidArgument) {
  GaussianScorer scorer;
  for (const Summary& s : {
           Moments(0, 10, {}, {}),
           Moments(-1, 10, {}, {}),
           Moments(1, 10, {}, {1.0}),
           Moments(1, 10, {0.0}, {}),
           Moments(2, 10, {0.0, 0.0}, {1, 0, 0}),
           Moments(2, 10, {0.0}, {1, 0, 0, 1}),
           Moments(1, 10, {kNaN}, {1.0}),
           Moments(1, 10, {0.0}, {kInf}),
           Moments(1, kInf, {0.0}, {1.0}),
           Moments(1, kNaN, {0.0}, {1.0}),
           Moments(2, 10, {0.0, kInf}, {1, 0, 0, 1}),
           Moments(2, 10, {0.0, 0.0}, {1, kNaN, 0, 1}),
           Moments(2, kNaN, {0.0, 0.0}, {1, 0, 0, 1}),
       }) {
    EXPECT_EQ(scorer.Fit(s).code(), absl::StatusCode::kInvalidArgument) << s.dim;
    EXPECT_FALSE(scorer.fitted());
  }
}

TEST(GaussianScorerTest, WrongSizeOrNonFiniteSampleIsInfinitelyFar) {
  GaussianScorer scorer;
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1.0}), kMaxFinite);  // unfitted
  EXPECT_EQ(scorer.model(true).dim, 0);
  EXPECT_EQ(ScorePValue(scorer.model(true), 1.0), 0.0);
  ASSERT_TRUE(scorer.Fit(Moments(1, 10, {0.0}, {1.0})).ok());
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1.0, 2.0}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{kNaN}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{-kInf}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{-kMaxFinite}), kMaxFinite);
  ASSERT_TRUE(scorer.Fit(Moments(3, 10, {0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1})).ok());
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1.0}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1.0, 2.0, kNaN}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1e300, 0, 0}), kMaxFinite);
  EXPECT_EQ(scorer.Mahalanobis2(std::vector<double>{1.0, 2.0, 2.0}), 9.0);
}

// Refits across dimensions and back give the same answers as a fresh scorer.
TEST(GaussianScorerTest, RefitAcrossDimensions) {
  GaussianScorer reused;
  for (const int dim : {3, 1, 5, 3, 1}) {
    const size_t d = static_cast<size_t>(dim);
    const std::vector<double> rows =
        reference::CorrelatedRows(static_cast<uint64_t>(dim), 50, dim, 0.0);
    const Summary moments = MomentsOf(rows, dim);
    GaussianScorer fresh;
    ASSERT_TRUE(fresh.Fit(moments).ok());
    ASSERT_TRUE(reused.Fit(moments).ok());
    const absl::Span<const double> x = absl::MakeConstSpan(rows).subspan(0, d);
    EXPECT_EQ(reused.Mahalanobis2(x), fresh.Mahalanobis2(x));
    EXPECT_EQ(reused.log_det(), fresh.log_det());
  }
}

// The hot-path promise: after the first Fit at a dimension, Fit and Mahalanobis2 allocate
// nothing, for any D (Eigen's blocked LLT, used from D = 32, works in stack buffers).
TEST(GaussianScorerTest, RefitAndScoreAllocateNothing) {
#if !MLED_COUNT_MALLOCS
  GTEST_SKIP() << "the sanitizer runtime owns malloc";
#else
  for (const int dim : {1, 4, 16, 64}) {
    const size_t d = static_cast<size_t>(dim);
    const std::vector<double> rows = reference::CorrelatedRows(11, 400, dim, 0.0);
    // Moments of growing prefixes, as the ingest path sees them.
    std::vector<Summary> fits;
    for (size_t n : {200, 250, 300, 350, 400}) {
      fits.push_back(MomentsOf(
          std::vector<double>(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n * d)),
          dim));
    }
    GaussianScorer scorer;
    ASSERT_TRUE(scorer.Fit(fits[0]).ok());
    double sum = 0;
    g_mallocs.store(0);
    g_count_mallocs.store(true);
    for (size_t i = 0; i < 100; ++i) {
      const absl::Status status = scorer.Fit(fits[i % fits.size()]);
      if (!status.ok()) break;
      sum += scorer.Mahalanobis2(absl::MakeConstSpan(rows).subspan((i % 400) * d, d));
      sum += scorer.log_det();
    }
    g_count_mallocs.store(false);
    EXPECT_TRUE(scorer.fitted());
    EXPECT_GT(sum, 0.0);
    EXPECT_EQ(g_mallocs.load(), 0) << "dim " << dim;
    // The counter does see allocations (so 0 above means something).
    g_count_mallocs.store(true);
    GaussianScorer other;
    ASSERT_TRUE(other.Fit(fits[0]).ok());
    g_count_mallocs.store(false);
    if (dim > 1) {
      EXPECT_GT(g_mallocs.load(), 0) << "dim " << dim;
    }
  }
#endif
}

}  // namespace
}  // namespace mled::stats
