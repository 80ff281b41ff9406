#include "lib/stats/multivariate_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "tests/stats/reference.h"

namespace mled::stats {
namespace {

using reference::CorrelatedRows;
using reference::RelativeError;
using reference::TwoPass;

MultivariateGaussian AddOneByOne(absl::Span<const double> rows, int dim) {
  MultivariateGaussian g(dim);
  for (size_t i = 0; i < rows.size(); i += static_cast<size_t>(dim)) {
    g.Add(rows.subspan(i, static_cast<size_t>(dim)));
  }
  return g;
}

MultivariateGaussian AddInBlocks(absl::Span<const double> rows, int dim, size_t block_rows) {
  MultivariateGaussian g(dim);
  const size_t step = block_rows * static_cast<size_t>(dim);
  for (size_t i = 0; i < rows.size(); i += step) {
    g.AddBlock(rows.subspan(i, std::min(step, rows.size() - i)));
  }
  return g;
}

// Largest error of the mean in units of the reference standard deviations, and the relative
// Frobenius error of the covariance.
struct Errors {
  double mean = 0;
  double covariance = 0;
};
Errors ErrorsAgainst(const MultivariateGaussian& g, const reference::Moments& ref) {
  const int d = g.dim();
  const Eigen::VectorXd mean = g.Mean();
  const Eigen::MatrixXd cov = g.Covariance();
  Errors e;
  long double diff2 = 0;
  long double ref2 = 0;
  for (int i = 0; i < d; ++i) {
    const long double sd = std::sqrt(ref.covariance[static_cast<size_t>(i * d + i)]);
    e.mean = std::max(e.mean, reference::MeanError(mean(i), ref.mean[i], sd));
    for (int j = 0; j < d; ++j) {
      const long double r = ref.covariance[static_cast<size_t>(i * d + j)];
      diff2 += (cov(i, j) - r) * (cov(i, j) - r);
      ref2 += r * r;
    }
  }
  e.covariance = static_cast<double>(std::sqrt(diff2 / ref2));
  return e;
}

void ExpectMatches(const MultivariateGaussian& g, const reference::Moments& ref, double tolerance) {
  ASSERT_EQ(g.count(), ref.count);
  const Errors e = ErrorsAgainst(g, ref);
  EXPECT_LE(e.mean, tolerance);
  EXPECT_LE(e.covariance, tolerance);
  const Eigen::MatrixXd cov = g.Covariance();
  EXPECT_TRUE(cov.isApprox(cov.transpose(), 0)) << "covariance must read back symmetric";
}

TEST(MultivariateGaussianTest, MatchesTwoPassReferenceOnRandomData) {
  for (int dim : {2, 5}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " seed " << seed);
      const std::vector<double> rows = CorrelatedRows(seed, 3000, dim, 2.0 * seed);
      const reference::Moments ref = TwoPass(rows, dim);
      ExpectMatches(AddOneByOne(rows, dim), ref, 1e-12);
      ExpectMatches(AddInBlocks(rows, dim, 3000), ref, 1e-12);
      ExpectMatches(AddInBlocks(rows, dim, 7), ref, 1e-12);
      ExpectMatches(AddInBlocks(rows, dim, 1000), ref, 1e-12);
      MultivariateGaussian mixed(dim);  // the Accumulator entry point: single rows and blocks
      const auto span = absl::MakeConstSpan(rows);
      const size_t d = static_cast<size_t>(dim);
      for (size_t r = 0, step = 0; r < ref.count; ++step) {
        const size_t k = std::min<size_t>(step % 3 == 0 ? 1 : 61, ref.count - r);
        mixed.AddRows(span.subspan(r * d, k * d), RowTimes{});
        r += k;
      }
      ExpectMatches(mixed, ref, 1e-12);
    }
  }
}

// DESIGN.md's large-offset bounds, multivariate: rows around 1e9 with O(1) covariance.
TEST(MultivariateGaussianTest, LargeOffsetWithinBounds) {
  constexpr int kDim = 3;
  const std::vector<double> rows = CorrelatedRows(5, 200'000, kDim, 1e9);
  const reference::Moments ref = TwoPass(rows, kDim);
  const Errors one_by_one = ErrorsAgainst(AddOneByOne(rows, kDim), ref);
  EXPECT_LE(one_by_one.covariance, 1e-8) << one_by_one.covariance;
  for (size_t block : {1000, 10000}) {
    const Errors blocks = ErrorsAgainst(AddInBlocks(rows, kDim, block), ref);
    EXPECT_LE(blocks.covariance, 1e-9) << "block " << block << ": " << blocks.covariance;
    EXPECT_LE(blocks.mean, 1e-9);
  }
}

TEST(MultivariateGaussianTest, MergeIsExactAndOrderIndependent) {
  constexpr int kDim = 4;
  const std::vector<double> rows = CorrelatedRows(8, 2000, kDim, 1e6);
  const auto span = absl::MakeConstSpan(rows);
  const MultivariateGaussian whole = AddOneByOne(rows, kDim);
  const MultivariateGaussian a = AddOneByOne(span.subspan(0, 700 * kDim), kDim);
  const MultivariateGaussian b = AddInBlocks(span.subspan(700 * kDim), kDim, 128);
  MultivariateGaussian ab = a;
  ab.Merge(b);
  MultivariateGaussian ba = b;
  ba.Merge(a);
  for (const MultivariateGaussian* g : {&ab, &ba}) {
    EXPECT_EQ(g->count(), whole.count());
    EXPECT_LE((g->Mean() - whole.Mean()).norm() / whole.Mean().norm(), 1e-15);
    EXPECT_LE((g->Covariance() - whole.Covariance()).norm() / whole.Covariance().norm(), 1e-12);
  }
  EXPECT_LE((ab.Covariance() - ba.Covariance()).norm() / ab.Covariance().norm(), 1e-13);
  ExpectMatches(ab, TwoPass(rows, kDim), 1e-12);
}

TEST(MultivariateGaussianTest, MergeOverRandomSplits) {
  constexpr int kDim = 3;
  const std::vector<double> rows = CorrelatedRows(13, 1500, kDim, -40.0);
  const reference::Moments ref = TwoPass(rows, kDim);
  const size_t n = ref.count;
  std::mt19937_64 rng(14);
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<size_t> cuts = {0, n};
    const int pieces = 1 + static_cast<int>(rng() % 8);
    for (int i = 1; i < pieces; ++i) cuts.push_back(rng() % n);
    std::sort(cuts.begin(), cuts.end());
    std::vector<MultivariateGaussian> parts;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const auto piece =
          absl::MakeConstSpan(rows).subspan(cuts[i] * kDim, (cuts[i + 1] - cuts[i]) * kDim);
      parts.push_back(rng() % 2 ? AddOneByOne(piece, kDim)
                                : AddInBlocks(piece, kDim, 1 + rng() % 300));
    }
    std::shuffle(parts.begin(), parts.end(), rng);
    MultivariateGaussian merged(kDim);
    for (const MultivariateGaussian& p : parts) merged.Merge(p);
    ExpectMatches(merged, ref, 1e-12);
  }
}

TEST(MultivariateGaussianTest, MergeWithEmptyAndSelf) {
  const std::vector<double> rows = CorrelatedRows(3, 50, 2, 1.0);
  MultivariateGaussian g = AddOneByOne(rows, 2);
  const Eigen::MatrixXd cov = g.Covariance();
  g.Merge(MultivariateGaussian(2));
  EXPECT_EQ(g.Covariance(), cov);
  MultivariateGaussian empty(2);
  empty.Merge(g);
  EXPECT_EQ(empty.Covariance(), cov);
  g.Merge(g);
  EXPECT_EQ(g.count(), 100u);
  EXPECT_LE((g.Covariance() - cov).norm() / cov.norm(), 1e-14);
}

// J = (N/2)(D log 2pi + log|Sigma| + D) equals the direct long double sum of
// -log N(x_n; mu_hat, Sigma_hat) (Gaussian elimination, no shared code).
TEST(MultivariateGaussianTest, NllClosedFormEqualsDirectSum) {
  constexpr int kDim = 3;
  const std::vector<double> rows = CorrelatedRows(17, 1000, kDim, 5.0);
  const MultivariateGaussian g = AddInBlocks(rows, kDim, 100);
  const Eigen::VectorXd mean = g.Mean();
  const Eigen::MatrixXd cov = g.Covariance();
  const std::vector<long double> mu(mean.data(), mean.data() + kDim);
  std::vector<long double> sigma(kDim * kDim);
  for (int i = 0; i < kDim; ++i) {
    for (int j = 0; j < kDim; ++j) sigma[i * kDim + j] = cov(i, j);
  }
  long double direct = 0;
  for (size_t r = 0; r < g.count(); ++r) {
    direct += reference::GaussianNll(&rows[r * kDim], mu, sigma).nll;
  }
  ASSERT_TRUE(g.Nll().has_value());
  EXPECT_LE(RelativeError(*g.Nll(), direct), 1e-12);
}

void ExpectDegenerate(const MultivariateGaussian& g) {
  EXPECT_FALSE(g.Nll().has_value());
  EXPECT_EQ(g.Fit().status().code(), absl::StatusCode::kFailedPrecondition);
  Summary s;
  g.Summarize(&s);
  EXPECT_EQ(s.count, g.count());
  EXPECT_FALSE(s.nll.has_value());
  for (double v : s.mean) EXPECT_TRUE(std::isfinite(v));
  for (double v : s.covariance) EXPECT_TRUE(std::isfinite(v));
}

TEST(MultivariateGaussianTest, EmptyReadsAsZeros) {
  const MultivariateGaussian g(3);
  EXPECT_EQ(g.count(), 0u);
  EXPECT_TRUE(g.Mean().isZero(0));
  EXPECT_TRUE(g.Covariance().isZero(0));
  EXPECT_TRUE(g.UnbiasedCovariance().isZero(0));
  ExpectDegenerate(g);
}

TEST(MultivariateGaussianTest, NoMoreSamplesThanDimensionsIsDegenerate) {
  constexpr int kDim = 4;
  const std::vector<double> rows = CorrelatedRows(2, kDim, kDim, 0.0);
  for (size_t n = 1; n <= kDim; ++n) {
    SCOPED_TRACE(n);
    const auto span = absl::MakeConstSpan(rows).subspan(0, n * kDim);
    ExpectDegenerate(AddOneByOne(span, kDim));
    ExpectDegenerate(AddInBlocks(span, kDim, n));
  }
}

TEST(MultivariateGaussianTest, ConstantStreamIsDegenerate) {
  for (double offset : {0.0, 1e9}) {
    std::vector<double> rows;
    for (int r = 0; r < 1000; ++r) rows.insert(rows.end(), {offset + 1, offset - 2, offset});
    for (const MultivariateGaussian& g : {AddOneByOne(rows, 3), AddInBlocks(rows, 3, 100)}) {
      EXPECT_TRUE(g.Covariance().isZero(0));
      EXPECT_EQ(g.Mean()(0), offset + 1);
      ExpectDegenerate(g);
    }
  }
}

TEST(MultivariateGaussianTest, CollinearDataIsDegenerate) {
  for (double offset : {0.0, 1e9}) {
    SCOPED_TRACE(offset);
    // x2 = 2 x1 exactly (collinear) and x3 constant.
    const std::vector<double> base = reference::NormalSamples(4, 5000, 0.0, 1.0);
    std::vector<double> rows;
    for (double z : base) rows.insert(rows.end(), {offset + z, 2 * (offset + z), 7.0});
    ExpectDegenerate(AddOneByOne(rows, 3));
    ExpectDegenerate(AddInBlocks(rows, 3, 1000));
    // Collinear up to rounding: x2 = 3 x1 - 5 computed in double.
    rows.clear();
    for (double z : base) rows.insert(rows.end(), {offset + z, 3 * (offset + z) - 5});
    ExpectDegenerate(AddOneByOne(rows, 2));
    ExpectDegenerate(AddInBlocks(rows, 2, 1000));
  }
}

TEST(MultivariateGaussianTest, HugeValuesSaturateInsteadOfOverflowing) {
  const std::vector<double> rows = {1e200, 1.7e308, -1e200, -1.7e308, 3e200, 1.7e308};
  for (const MultivariateGaussian& g : {AddOneByOne(rows, 2), AddInBlocks(rows, 2, 3)}) {
    EXPECT_TRUE(g.Mean().allFinite());
    EXPECT_TRUE(g.Covariance().allFinite());
    EXPECT_TRUE(g.UnbiasedCovariance().allFinite());
    const std::optional<double> nll = g.Nll();
    if (nll.has_value()) {
      EXPECT_TRUE(std::isfinite(*nll));
    }
  }
}

}  // namespace
}  // namespace mled::stats
