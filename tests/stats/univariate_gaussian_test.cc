#include "lib/stats/univariate_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "tests/stats/reference.h"

namespace mled::stats {
namespace {

using reference::NormalSamples;
using reference::RelativeError;
using reference::TwoPass;

UnivariateGaussian AddOneByOne(absl::Span<const double> xs) {
  UnivariateGaussian g;
  for (double x : xs) g.Add(x);
  return g;
}

UnivariateGaussian AddInBlocks(absl::Span<const double> xs, size_t block) {
  UnivariateGaussian g;
  for (size_t i = 0; i < xs.size(); i += block) {
    g.AddBlock(xs.subspan(i, std::min(block, xs.size() - i)));
  }
  return g;
}

void ExpectMatchesReference(const UnivariateGaussian& g, const std::vector<double>& xs,
                            double tolerance) {
  const reference::Moments ref = TwoPass(xs, 1);
  ASSERT_EQ(g.count(), xs.size());
  const long double sd = std::sqrt(ref.covariance[0]);
  EXPECT_LE(reference::MeanError(g.Mean(), ref.mean[0], sd), tolerance);
  EXPECT_LE(RelativeError(g.Variance(), ref.covariance[0]), tolerance);
  EXPECT_LE(RelativeError(g.UnbiasedVariance(), ref.covariance[0] * xs.size() / (xs.size() - 1.0L)),
            tolerance);
}

TEST(UnivariateGaussianTest, MatchesTwoPassReferenceOnRandomData) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    SCOPED_TRACE(seed);
    const std::vector<double> xs = NormalSamples(seed, 5000, 3.0 * seed - 7, 0.5 * seed);
    ExpectMatchesReference(AddOneByOne(xs), xs, 1e-13);
    ExpectMatchesReference(AddInBlocks(xs, xs.size()), xs, 1e-13);
    ExpectMatchesReference(AddInBlocks(xs, 7), xs, 1e-13);  // many tiny blocks, odd tails
    ExpectMatchesReference(AddInBlocks(xs, 1000), xs, 1e-13);
    UnivariateGaussian rows;  // the Accumulator entry point: single rows and blocks, mixed
    for (size_t i = 0, step = 0; i < xs.size(); ++step) {
      const size_t k = std::min<size_t>(step % 3 == 0 ? 1 : 97, xs.size() - i);
      rows.AddRows(absl::MakeConstSpan(xs).subspan(i, k), RowTimes{});
      i += k;
    }
    ExpectMatchesReference(rows, xs, 1e-13);
  }
}

TEST(UnivariateGaussianTest, AddRowsTakesOneByOneAndBlockPaths) {
  const std::vector<double> xs = NormalSamples(9, 1001, 1.0, 2.0);
  UnivariateGaussian g;
  g.AddRows(absl::MakeConstSpan(xs).subspan(0, 1), RowTimes{});
  g.AddRows(absl::MakeConstSpan(xs).subspan(1), RowTimes{});
  ExpectMatchesReference(g, xs, 1e-13);
}

// A million samples around 1e9 with unit variance: the case DESIGN.md's bounds are written for.
const std::vector<double>& LargeOffsetSamples() {
  static const std::vector<double>* const kSamples =
      new std::vector<double>(NormalSamples(42, 1'000'000, 1e9, 1.0));
  return *kSamples;
}

long double LargeOffsetReferenceVariance() {
  static const long double kVariance = TwoPass(LargeOffsetSamples(), 1).covariance[0];
  return kVariance;
}

TEST(UnivariateGaussianTest, LargeOffsetOneByOneWithin1e8) {
  const UnivariateGaussian g = AddOneByOne(LargeOffsetSamples());
  const double err = RelativeError(g.Variance(), LargeOffsetReferenceVariance());
  EXPECT_LE(err, 1e-8) << "relative variance error " << err;
  EXPECT_LE(std::fabs(g.Mean() - 1e9), 0.01);
}

TEST(UnivariateGaussianTest, LargeOffsetBlocksWithin1e9) {
  for (size_t block : {1000, 10000}) {
    const UnivariateGaussian g = AddInBlocks(LargeOffsetSamples(), block);
    const double err = RelativeError(g.Variance(), LargeOffsetReferenceVariance());
    EXPECT_LE(err, 1e-9) << "block " << block << ": relative variance error " << err;
  }
}

// Why the state is (n, shift, mean, M2) and not raw power sums: sum x and sum x² in double
// lose everything. sum x² is ~1e24, whose ulp is ~1.3e8, so E[x²] - E[x]² cancels to noise of
// hundreds, often negative, where the true variance is 1.
TEST(UnivariateGaussianTest, RawPowerSumsGiveAWrongVariance) {
  double sum = 0;
  double sum_squares = 0;
  for (double x : LargeOffsetSamples()) {
    sum += x;
    sum_squares += x * x;
  }
  const double n = static_cast<double>(LargeOffsetSamples().size());
  const double naive = sum_squares / n - (sum / n) * (sum / n);
  EXPECT_GT(RelativeError(naive, LargeOffsetReferenceVariance()), 1.0)
      << "naive power-sum variance " << naive;
}

TEST(UnivariateGaussianTest, MergeIsExact) {
  const std::vector<double> xs = NormalSamples(7, 4000, 1e6, 3.0);
  const UnivariateGaussian whole = AddOneByOne(xs);
  const auto span = absl::MakeConstSpan(xs);
  // Each half through a different path; the halves have different shifts.
  UnivariateGaussian a = AddOneByOne(span.subspan(0, 1500));
  const UnivariateGaussian b = AddInBlocks(span.subspan(1500), 256);
  UnivariateGaussian ab = a;
  ab.Merge(b);
  UnivariateGaussian ba = b;
  ba.Merge(a);
  for (const UnivariateGaussian* g : {&ab, &ba}) {
    EXPECT_EQ(g->count(), whole.count());
    EXPECT_LE(RelativeError(g->Mean(), whole.Mean()), 1e-15);
    EXPECT_LE(RelativeError(g->Variance(), whole.Variance()), 1e-12);
  }
  EXPECT_LE(RelativeError(ab.Variance(), ba.Variance()), 1e-13);
  ExpectMatchesReference(ab, xs, 1e-12);
}

TEST(UnivariateGaussianTest, MergeIsOrderIndependentOverRandomSplits) {
  const std::vector<double> xs = NormalSamples(11, 3000, -50.0, 0.25);
  const reference::Moments ref = TwoPass(xs, 1);
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    // Cut into 1..8 random pieces, accumulate each one way or the other, merge in random order.
    std::vector<size_t> cuts = {0, xs.size()};
    const int pieces = 1 + static_cast<int>(rng() % 8);
    for (int i = 1; i < pieces; ++i) cuts.push_back(rng() % xs.size());
    std::sort(cuts.begin(), cuts.end());
    std::vector<UnivariateGaussian> parts;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const auto piece = absl::MakeConstSpan(xs).subspan(cuts[i], cuts[i + 1] - cuts[i]);
      parts.push_back(rng() % 2 ? AddOneByOne(piece) : AddInBlocks(piece, 1 + rng() % 500));
    }
    std::shuffle(parts.begin(), parts.end(), rng);
    UnivariateGaussian merged;
    for (const UnivariateGaussian& p : parts) merged.Merge(p);
    ASSERT_EQ(merged.count(), xs.size());
    EXPECT_LE(reference::MeanError(merged.Mean(), ref.mean[0], std::sqrt(ref.covariance[0])),
              1e-12);
    EXPECT_LE(RelativeError(merged.Variance(), ref.covariance[0]), 1e-12);
  }
}

TEST(UnivariateGaussianTest, MergeWithEmptyAndSelf) {
  const std::vector<double> xs = NormalSamples(3, 100, 5.0, 1.0);
  UnivariateGaussian g = AddOneByOne(xs);
  const double variance = g.Variance();
  g.Merge(UnivariateGaussian());
  EXPECT_EQ(g.Variance(), variance);
  UnivariateGaussian empty;
  empty.Merge(g);
  EXPECT_EQ(empty.Variance(), variance);
  EXPECT_EQ(empty.Mean(), g.Mean());
  g.Merge(g);  // the same samples twice: same mean and variance, twice the count
  EXPECT_EQ(g.count(), 200u);
  EXPECT_LE(RelativeError(g.Variance(), variance), 1e-14);
}

// J(mu, sigma²) = (N/2)(log(2 pi sigma²) + 1) equals the direct sum of -log N(x_n; mu, sigma²).
TEST(UnivariateGaussianTest, NllClosedFormEqualsDirectSum) {
  const std::vector<double> xs = NormalSamples(21, 2000, 100.0, 4.0);
  const UnivariateGaussian g = AddInBlocks(xs, 300);
  const std::vector<long double> mean = {g.Mean()};
  const std::vector<long double> variance = {g.Variance()};
  long double direct = 0;
  for (const double& x : xs) direct += reference::GaussianNll(&x, mean, variance).nll;
  ASSERT_TRUE(g.Nll().has_value());
  EXPECT_LE(RelativeError(*g.Nll(), direct), 1e-13);
}

void ExpectAllFinite(const UnivariateGaussian& g) {
  EXPECT_TRUE(std::isfinite(g.Mean()));
  EXPECT_TRUE(std::isfinite(g.Variance()));
  EXPECT_TRUE(std::isfinite(g.UnbiasedVariance()));
  if (g.Nll().has_value()) {
    EXPECT_TRUE(std::isfinite(*g.Nll()));
  }
  Summary s;
  g.Summarize(&s);
  for (double v : s.mean) EXPECT_TRUE(std::isfinite(v));
  for (double v : s.covariance) EXPECT_TRUE(std::isfinite(v));
}

void ExpectDegenerate(const UnivariateGaussian& g) {
  EXPECT_FALSE(g.Nll().has_value());
  EXPECT_EQ(g.Fit().status().code(), absl::StatusCode::kFailedPrecondition);
  Summary s;
  g.Summarize(&s);
  EXPECT_FALSE(s.nll.has_value());
  ExpectAllFinite(g);
}

TEST(UnivariateGaussianTest, EmptyReadsAsZeros) {
  const UnivariateGaussian g;
  EXPECT_EQ(g.count(), 0u);
  EXPECT_EQ(g.Mean(), 0);
  EXPECT_EQ(g.Variance(), 0);
  EXPECT_EQ(g.UnbiasedVariance(), 0);
  ExpectDegenerate(g);
  UnivariateGaussian b;
  b.AddBlock({});
  EXPECT_EQ(b.count(), 0u);
}

TEST(UnivariateGaussianTest, OneSampleIsDegenerate) {
  UnivariateGaussian g;
  g.Add(3.5);
  EXPECT_EQ(g.Mean(), 3.5);
  EXPECT_EQ(g.Variance(), 0);
  EXPECT_EQ(g.UnbiasedVariance(), 0);
  ExpectDegenerate(g);
}

TEST(UnivariateGaussianTest, ConstantStreamIsDegenerate) {
  for (double c : {0.0, -2.5, 1e9, 1e9 + 0.5, 1e300}) {
    SCOPED_TRACE(c);
    const std::vector<double> xs(5000, c);
    for (const UnivariateGaussian& g : {AddOneByOne(xs), AddInBlocks(xs, 1000)}) {
      EXPECT_EQ(g.Mean(), c);
      EXPECT_EQ(g.Variance(), 0);  // exactly: every shifted value is 0
      ExpectDegenerate(g);
    }
  }
}

TEST(UnivariateGaussianTest, HugeValuesSaturateInsteadOfOverflowing) {
  for (const std::vector<double>& xs : {std::vector<double>{1e200, -1e200, 3e200},
                                        std::vector<double>{1.7e308, -1.7e308, 1.7e308}}) {
    ExpectAllFinite(AddOneByOne(xs));
    ExpectAllFinite(AddInBlocks(xs, 2));
  }
}

}  // namespace
}  // namespace mled::stats
