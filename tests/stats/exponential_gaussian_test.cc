#include "lib/stats/exponential_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/window_gaussian.h"
#include "tests/stats/reference.h"
#include "tests/stats/summary_expect.h"
#include "tests/stats/timed_samples.h"

namespace mled::stats {
namespace {

using reference::ExponentialWeights;
using reference::RelativeError;
using reference::WeightedTwoPass;

// The reference of samples [0, n) weighed relative to `reference_time`.
reference::WeightedMoments Reference(const Timed& t, size_t n, int64_t reference_time,
                                     int64_t half_life_ns) {
  return WeightedTwoPass(t.RowsUpTo(n), t.dim,
                         ExponentialWeights(t.TimesUpTo(n), reference_time, half_life_ns));
}

TEST(ExponentialGaussianTest, MatchesWeightedReference) {
  for (int dim : {1, 4}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " seed " << seed);
      const int64_t half_life = 2 * kSecond;
      // 3000 samples ~10 ms apart over ~30 s = 15 half-lives, some up to 3 s late.
      const Timed t = RandomTimed(seed, dim, 3000, 1'700'000'000 * kSecond, kSecond / 100,
                                  3 * kSecond, 100.0 * seed);
      ExponentialGaussian g(dim, half_life);
      size_t done = 0;
      for (size_t checkpoint : {size_t{40}, size_t{500}, size_t{1777}, size_t{3000}}) {
        Feed(g, t, done, checkpoint);
        done = checkpoint;
        const int64_t latest = t.LatestOf(done);
        EXPECT_EQ(g.reference_time(), latest);
        Summary s;
        g.Summarize(&s);
        ExpectSummaryMatches(s, done, Reference(t, done, latest, half_life), 1e-9);
        Summary m;
        g.Moments(&m);
        EXPECT_EQ(m.mean, s.mean);
        EXPECT_EQ(m.covariance, s.covariance);
        EXPECT_EQ(m.effective_count, s.effective_count);
        EXPECT_FALSE(m.nll.has_value());
      }
      // AdvanceTo decays without moving the mean or covariance (up to rounding).
      Summary before;
      g.Summarize(&before);
      const int64_t later = g.reference_time() + 3 * half_life;
      g.AdvanceTo(later);
      Summary after;
      g.Summarize(&after);
      ExpectSummaryMatches(after, 3000, Reference(t, 3000, later, half_life), 1e-9);
      EXPECT_LE(RelativeError(after.weight_sum, before.weight_sum / 8), 1e-12);
      EXPECT_LE(RelativeError(after.effective_count, before.effective_count), 1e-12);
      for (size_t i = 0; i < before.mean.size(); ++i) EXPECT_EQ(after.mean[i], before.mean[i]);
    }
  }
}

TEST(ExponentialGaussianTest, OutOfOrderSampleKeepsReferenceTimeAndWeighsLess) {
  const int64_t h = kSecond;
  ExponentialGaussian g(1, h);
  const double xs[] = {1.0, 3.0};
  const int64_t times[] = {10 * kSecond, 12 * kSecond};
  g.AddRows(xs, RowTimes{times});
  EXPECT_EQ(g.reference_time(), 12 * kSecond);
  EXPECT_DOUBLE_EQ(g.weight_sum(), 1.25);  // 1 + 2^-2
  const double late = 5.0;
  const int64_t late_time = 11 * kSecond;
  g.AddRows({&late, 1}, RowTimes{{&late_time, 1}});
  EXPECT_EQ(g.reference_time(), 12 * kSecond);
  EXPECT_DOUBLE_EQ(g.weight_sum(), 1.75);  // + 2^-1
  EXPECT_EQ(g.count(), 3u);
  Summary s;
  g.Summarize(&s);
  EXPECT_NEAR(s.mean[0], (0.25 * 1 + 3 + 0.5 * 5) / 1.75, 1e-15);
}

TEST(ExponentialGaussianTest, RowTimesZeroMeansReceipt) {
  ExponentialGaussian g(1, kSecond);
  const double xs[] = {1.0, 2.0, 4.0};
  const int64_t times[] = {0, 5 * kSecond, 0};
  g.AddRows(xs, RowTimes{times, /*receipt=*/6 * kSecond});
  EXPECT_EQ(g.reference_time(), 6 * kSecond);
  // Rows 0 and 2 at 6 s (weight 1), row 1 at 5 s (weight 1/2).
  EXPECT_DOUBLE_EQ(g.weight_sum(), 2.5);
  // No times at all: every row at the receipt time.
  ExponentialGaussian h(1, kSecond);
  h.AddRows(xs, RowTimes{{}, 7 * kSecond});
  EXPECT_EQ(h.reference_time(), 7 * kSecond);
  EXPECT_DOUBLE_EQ(h.weight_sum(), 3);
  EXPECT_DOUBLE_EQ(h.effective_count(), 3);
}

TEST(ExponentialGaussianTest, EffectiveCountIsKishAndReachesTheSteadyState) {
  // One sample every dt: W -> 1 / (1 - lambda), W2 -> 1 / (1 - lambda^2), so
  // n_eff -> (1 + lambda) / (1 - lambda), about 2h / (dt ln 2).
  const int64_t dt = kSecond / 1000;
  const int64_t h = 50 * dt;
  ExponentialGaussian g(1, h);
  const std::vector<double> xs = reference::NormalSamples(3, 5000, 0.0, 1.0);
  std::vector<int64_t> times;
  for (size_t i = 0; i < xs.size(); ++i) {
    times.push_back(static_cast<int64_t>(i) * dt);
    g.AddRows({&xs[i], 1}, RowTimes{{&times.back(), 1}});
    if (i == 10 || i == 100) {
      const reference::WeightedMoments ref =
          WeightedTwoPass({xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(i + 1)}, 1,
                          ExponentialWeights(times, times.back(), h));
      EXPECT_LE(RelativeError(g.effective_count(), ref.effective_count()), 1e-12);
    }
  }
  const double lambda = std::exp2(-static_cast<double>(dt) / static_cast<double>(h));
  EXPECT_LE(RelativeError(g.effective_count(), (1 + lambda) / (1 - lambda)), 1e-9);
  EXPECT_NEAR(g.effective_count(), 2.0 * 50 / std::log(2.0), 0.1);
}

// A 3 sigma step in the mean at a steady rate. The old level's share of the weight after k
// half-lives is 2^-k, so the mean sits 3 sigma 2^-k below the new level, plus noise of about
// sigma / sqrt(n_eff) (n_eff ~ 28,900 here, so ~0.006 sigma).
TEST(ExponentialGaussianTest, TracksAStepChangeInMean) {
  const int64_t dt = kSecond / 1000;
  const int64_t h = 10'000 * dt;
  const double sigma = 2.0;
  const double old_level = 10.0;
  const double new_level = old_level + 3 * sigma;
  ExponentialGaussian g(1, h);
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> noise(0.0, sigma);
  int64_t time = 0;
  const auto run = [&](double level, int half_lives) {
    for (int i = 0; i < half_lives * 10'000; ++i) {
      const double x = level + noise(rng);
      time += dt;
      g.AddRows({&x, 1}, RowTimes{{&time, 1}});
    }
  };
  run(old_level, 20);
  Summary s;
  g.Summarize(&s);
  EXPECT_NEAR(s.mean[0], old_level, 0.05 * sigma);
  run(new_level, 5);
  g.Summarize(&s);
  const double lag = 3 * sigma * std::exp2(-5);  // 0.094 sigma
  EXPECT_NEAR(s.mean[0], new_level - lag, 0.03 * sigma);
  run(new_level, 3);
  g.Summarize(&s);
  EXPECT_NEAR(s.mean[0], new_level, 0.05 * sigma);  // 8 half-lives: lag 0.012 sigma
  // The variance forgets the step too: sigma^2 plus the residual mixture term 9 sigma^2 p(1-p).
  EXPECT_NEAR(s.covariance[0], sigma * sigma, 0.1 * sigma * sigma);
}

// DESIGN.md's accuracy case: a million samples around 1e9 with unit variance.
TEST(ExponentialGaussianTest, LargeOffsetsStayAccurate) {
  const size_t n = 1'000'000;
  const std::vector<double> xs = reference::NormalSamples(42, n, 1e9, 1.0);
  const int64_t dt = kSecond / 1000;
  const int64_t h = 100'000 * dt;  // 10 half-lives over the run
  for (size_t rows_per_time : {size_t{1}, size_t{100}}) {
    SCOPED_TRACE(rows_per_time);
    std::vector<int64_t> times(n);
    for (size_t i = 0; i < n; ++i) times[i] = static_cast<int64_t>(i / rows_per_time) * dt;
    ExponentialGaussian g(1, h);
    for (size_t i = 0; i < n; i += rows_per_time) {
      g.AddRows(absl::MakeConstSpan(xs).subspan(i, rows_per_time),
                RowTimes{absl::MakeConstSpan(times).subspan(i, rows_per_time)});
    }
    const reference::WeightedMoments ref =
        WeightedTwoPass(xs, 1, ExponentialWeights(times, times.back(), h));
    Summary s;
    g.Summarize(&s);
    const double err = RelativeError(s.covariance[0], ref.covariance[0]);
    EXPECT_LE(err, rows_per_time == 1 ? 1e-8 : 1e-9) << "relative variance error " << err;
    EXPECT_LE(reference::MeanError(s.mean[0], ref.mean[0], 1.0L), 1e-8);
    EXPECT_LE(RelativeError(s.effective_count, ref.effective_count()), 1e-9);
  }
}

TEST(ExponentialGaussianTest, GapsThatUnderflowEveryWeightRestartCleanly) {
  for (int dim : {1, 4}) {
    SCOPED_TRACE(dim);
    const int64_t h = kSecond;
    const Timed before = RandomTimed(5, dim, 300, 0, kSecond / 10, kSecond);
    ExponentialGaussian g(dim, h);
    Feed(g, before, 0, before.size());
    // A long silence: 2000 half-lives, far past kMinWeightSum (~332).
    const int64_t resume = before.LatestOf(before.size()) + 2000 * h;
    g.AdvanceTo(resume);
    EXPECT_EQ(g.count(), 300u);
    EXPECT_EQ(g.weight_sum(), 0);
    EXPECT_EQ(g.weight_square_sum(), 0);
    ExpectEmptyModel(g);
    // A sample from before the gap weighs nothing either.
    g.AddRows(before.Row(0), RowTimes{{&before.times[0], 1}});
    ExpectEmptyModel(g);

    // From the next sample on it is a fresh model (bit for bit the same as one that never saw
    // the old samples), and it still matches the reference over everything.
    const Timed after = RandomTimed(6, dim, 500, resume + kSecond, kSecond / 10, kSecond, 50.0);
    ExponentialGaussian fresh(dim, h);
    fresh.AdvanceTo(resume);
    Feed(g, after, 0, after.size());
    Feed(fresh, after, 0, after.size());
    Summary a;
    Summary b;
    g.Summarize(&a);
    fresh.Summarize(&b);
    EXPECT_EQ(a.count, 801u);
    EXPECT_EQ(a.mean, b.mean);
    EXPECT_EQ(a.covariance, b.covariance);
    EXPECT_EQ(a.weight_sum, b.weight_sum);
    EXPECT_EQ(a.nll, b.nll);
    ExpectSummaryMatches(
        a, 801,
        [&] {
          Timed all = before;
          all.rows.insert(all.rows.end(), before.Row(0).begin(), before.Row(0).end());
          all.times.push_back(before.times[0]);
          all.Append(after);
          return Reference(all, all.size(), after.LatestOf(after.size()), h);
        }(),
        1e-9);
  }
}

TEST(ExponentialGaussianTest, ModerateGapsDecayWithoutRestart) {
  // 100 half-lives: old weights ~1e-30 stay in the model (no restart), as the reference says.
  const int64_t h = kSecond;
  Timed t = RandomTimed(8, 1, 200, 0, kSecond / 10, kSecond);
  const Timed later =
      RandomTimed(9, 1, 200, t.LatestOf(t.size()) + 100 * h, kSecond / 10, kSecond, 3.0);
  t.Append(later);
  ExponentialGaussian g(1, h);
  Feed(g, t, 0, t.size());
  Summary s;
  g.Summarize(&s);
  ExpectSummaryMatches(s, 400, Reference(t, t.size(), t.LatestOf(t.size()), h), 1e-9);
}

TEST(ExponentialGaussianTest, OneSampleAfterAGapIsTheWholeModel) {
  ExponentialGaussian g(1, kSecond);
  const Timed t = RandomTimed(10, 1, 100, 0, kSecond / 10, 0);
  Feed(g, t, 0, t.size());
  const double x = 42.0;
  const int64_t time = t.LatestOf(t.size()) + 5000 * kSecond;
  g.AddRows({&x, 1}, RowTimes{{&time, 1}});
  Summary s;
  g.Summarize(&s);
  ExpectFiniteSummary(s);
  EXPECT_EQ(s.count, 101u);
  EXPECT_EQ(s.weight_sum, 1);
  EXPECT_EQ(s.effective_count, 1);
  EXPECT_EQ(s.mean[0], 42.0);
  EXPECT_EQ(s.covariance[0], 0);
  EXPECT_FALSE(s.nll.has_value());
}

ExponentialGaussian Filled(const Timed& t, size_t first, size_t last, int64_t h) {
  ExponentialGaussian g(t.dim, h);
  Feed(g, t, first, last);
  return g;
}

TEST(ExponentialGaussianTest, MergeOfTwoHalvesEqualsTheWhole) {
  for (int dim : {1, 4}) {
    SCOPED_TRACE(dim);
    const int64_t h = kSecond;
    const Timed t = RandomTimed(11, dim, 2000, 0, kSecond / 100, kSecond / 2, 1e6);
    const ExponentialGaussian whole = Filled(t, 0, t.size(), h);
    // Split by position: the halves have different shifts and reference times.
    const ExponentialGaussian a = Filled(t, 0, 1200, h);
    const ExponentialGaussian b = Filled(t, 1200, t.size(), h);
    Summary expected;
    whole.Summarize(&expected);
    for (const auto& [first, second] : {std::pair(&a, &b), std::pair(&b, &a)}) {
      std::unique_ptr<Accumulator> merged = first->Clone();
      ASSERT_TRUE(merged->Merge(*second).ok());
      Summary s;
      merged->Summarize(&s);
      ExpectSummaryMatches(s, 2000, Reference(t, t.size(), t.LatestOf(t.size()), h), 1e-9);
      EXPECT_EQ(s.count, expected.count);
      EXPECT_LE(RelativeError(s.weight_sum, expected.weight_sum), 1e-13);
      EXPECT_LE(RelativeError(s.effective_count, expected.effective_count), 1e-13);
      for (size_t i = 0; i < s.mean.size(); ++i) {
        EXPECT_LE(RelativeError(s.mean[i], expected.mean[i]), 1e-14);
      }
      for (size_t i = 0; i < s.covariance.size(); ++i) {
        EXPECT_NEAR(s.covariance[i], expected.covariance[i],
                    1e-11 * std::fabs(expected.covariance[0]));
      }
    }
  }
}

TEST(ExponentialGaussianTest, MergeWithEmptyAndWithItself) {
  const int64_t h = kSecond;
  const Timed t = RandomTimed(12, 2, 300, 0, kSecond / 100, 0);
  ExponentialGaussian g = Filled(t, 0, t.size(), h);
  Summary before;
  g.Summarize(&before);
  ExponentialGaussian empty(2, h);
  ASSERT_TRUE(g.Merge(empty).ok());
  Summary s;
  g.Summarize(&s);
  EXPECT_EQ(s.mean, before.mean);
  EXPECT_EQ(s.covariance, before.covariance);
  ASSERT_TRUE(empty.Merge(g).ok());
  empty.Summarize(&s);
  EXPECT_EQ(s.mean, before.mean);
  EXPECT_EQ(s.covariance, before.covariance);
  EXPECT_EQ(empty.reference_time(), g.reference_time());
  // Itself: every sample twice, so W, W2 and the count double and the moments stay.
  ASSERT_TRUE(g.Merge(g).ok());
  g.Summarize(&s);
  EXPECT_EQ(s.count, 600u);
  EXPECT_DOUBLE_EQ(s.weight_sum, 2 * before.weight_sum);
  EXPECT_DOUBLE_EQ(s.effective_count, 2 * before.effective_count);
  for (size_t i = 0; i < s.mean.size(); ++i) EXPECT_DOUBLE_EQ(s.mean[i], before.mean[i]);
  for (size_t i = 0; i < s.covariance.size(); ++i) {
    EXPECT_NEAR(s.covariance[i], before.covariance[i], 1e-14);
  }
}

TEST(ExponentialGaussianTest, MergeRejectsMismatches) {
  ExponentialGaussian g(2, kSecond);
  EXPECT_EQ(g.Merge(ExponentialGaussian(3, kSecond)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(ExponentialGaussian(2, 2 * kSecond)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(*NewGaussianAccumulator(2)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(WindowGaussian(2, kSecond, 10)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewGaussianAccumulator(2)->Merge(g).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(g.Merge(ExponentialGaussian(2, kSecond)).ok());
}

bool BitwiseEqual(const Summary& a, const Summary& b) {
  const auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x.size() == y.size() &&
           std::equal(x.begin(), x.end(), y.begin(),
                      [](double u, double v) { return std::memcmp(&u, &v, sizeof(double)) == 0; });
  };
  return a.count == b.count && a.effective_count == b.effective_count &&
         a.weight_sum == b.weight_sum && same(a.mean, b.mean) && same(a.covariance, b.covariance) &&
         a.nll == b.nll;
}

TEST(ExponentialGaussianTest, StateRoundTripIsBitExact) {
  for (int dim : {1, 3}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{500}}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " n " << n);
      const int64_t h = 3 * kSecond;
      const Timed t = RandomTimed(13, dim, n + 100, 0, kSecond / 10, kSecond, 1e9);
      ExponentialGaussian original = Filled(t, 0, n, h);
      mled::v1::StreamState state;
      state.set_stream("temp/1");
      original.ToState(&state);
      EXPECT_EQ(state.version(), 1u);
      EXPECT_EQ(state.stream(), "temp/1");
      ASSERT_TRUE(state.has_exponential());
      mled::v1::StreamState parsed;
      ASSERT_TRUE(parsed.ParseFromString(state.SerializeAsString()));
      absl::StatusOr<std::unique_ptr<Accumulator>> restored = AccumulatorFromState(parsed);
      ASSERT_TRUE(restored.ok()) << restored.status();
      EXPECT_EQ((*restored)->kind(), mled::v1::ESTIMATOR_EXPONENTIAL);
      mled::v1::StreamState again;
      again.set_stream("temp/1");
      (*restored)->ToState(&again);
      EXPECT_EQ(again.SerializeAsString(), state.SerializeAsString());
      // Both go on exactly alike.
      Feed(original, t, n, n + 100);
      Feed(**restored, t, n, n + 100);
      Summary a;
      Summary b;
      original.Summarize(&a);
      (*restored)->Summarize(&b);
      EXPECT_TRUE(BitwiseEqual(a, b));
    }
  }
}

TEST(ExponentialGaussianTest, FromStateRejectsBadRecords) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto valid = [] {
    mled::v1::StreamState state;
    Filled(RandomTimed(14, 2, 50, 0, kSecond / 10, 0), 0, 50, kSecond).ToState(&state);
    return state;
  };
  using Edit = std::function<void(mled::v1::ExponentialState&)>;
  const std::vector<std::pair<std::string, Edit>> cases = {
      {"dim 0", [](auto& e) { e.set_dim(0); }},
      {"dim too large", [](auto& e) { e.set_dim(3); }},
      {"huge dim", [](auto& e) { e.set_dim(0xffffffffu); }},
      {"short shift", [](auto& e) { e.mutable_shift()->RemoveLast(); }},
      {"long mean", [](auto& e) { e.add_mean(0); }},
      {"short comoment", [](auto& e) { e.mutable_comoment()->RemoveLast(); }},
      {"nan mean", [nan](auto& e) { e.set_mean(0, nan); }},
      {"nan weight", [nan](auto& e) { e.set_weight_sum(nan); }},
      {"inf weight square", [](auto& e) { e.set_weight_square_sum(HUGE_VAL); }},
      {"negative weight", [](auto& e) { e.set_weight_sum(-1); }},
      {"negative weight square", [](auto& e) { e.set_weight_square_sum(-1); }},
      {"weight without square", [](auto& e) { e.set_weight_square_sum(0); }},
      {"subnormal weight", [](auto& e) { e.set_weight_sum(1e-310); }},
      {"zero half-life", [](auto& e) { e.set_half_life_ns(0); }},
      {"negative half-life", [](auto& e) { e.set_half_life_ns(-5); }},
      {"empty with mean",
       [](auto& e) {
         e.set_weight_sum(0);
         e.set_weight_square_sum(0);
         for (int i = 0; i < 4; ++i) e.set_comoment(i, 0);
         e.set_mean(1, 0.5);
       }},
      {"asymmetric", [](auto& e) { e.set_comoment(1, e.comoment(2) + 1e-3); }},
      {"negative variance", [](auto& e) { e.set_comoment(3, -1); }},
  };
  ASSERT_TRUE(AccumulatorFromState(valid()).ok());
  for (const auto& [name, edit] : cases) {
    mled::v1::StreamState state = valid();
    edit(*state.mutable_exponential());
    const absl::Status status = AccumulatorFromState(state).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_FALSE(status.message().empty()) << name;
  }
}

TEST(ExponentialGaussianTest, ConstantStreamsAreDegenerate) {
  for (int dim : {1, 4}) {
    SCOPED_TRACE(dim);
    ExponentialGaussian g(dim, kSecond);
    std::vector<double> row(static_cast<size_t>(dim));
    for (int i = 0; i < dim; ++i) row[static_cast<size_t>(i)] = 1e9 + i;
    for (int64_t i = 0; i < 1000; ++i) {
      const int64_t time = i * kSecond / 50 - (i % 7 == 0 ? kSecond : 0);
      g.AddRows(row, RowTimes{{&time, 1}});
    }
    std::vector<double> block;
    for (int k = 0; k < 10; ++k) block.insert(block.end(), row.begin(), row.end());
    g.AddRows(block, RowTimes{{}, 100 * kSecond});
    Summary s;
    g.Summarize(&s);
    ExpectFiniteSummary(s);
    EXPECT_GT(s.effective_count, dim + 1);
    EXPECT_FALSE(s.nll.has_value());
    for (double v : s.covariance) EXPECT_EQ(v, 0);
    for (int i = 0; i < dim; ++i) EXPECT_EQ(s.mean[static_cast<size_t>(i)], 1e9 + i);
    EXPECT_EQ(g.Fit().status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(ExponentialGaussianTest, FewSamplesAreDegenerate) {
  ExponentialGaussian g(2, kSecond);
  const std::vector<double> rows = reference::CorrelatedRows(15, 3, 2, 0.0);
  const int64_t times[] = {kSecond, 2 * kSecond, 3 * kSecond};
  g.AddRows(absl::MakeConstSpan(rows).subspan(0, 4), RowTimes{absl::MakeConstSpan(times, 2)});
  Summary s;
  g.Summarize(&s);
  EXPECT_LT(s.effective_count, 2);  // two unequal weights: below 2
  EXPECT_FALSE(s.nll.has_value());
  g.AddRows(absl::MakeConstSpan(rows).subspan(4, 2), RowTimes{{&times[2], 1}});
  g.Summarize(&s);
  // 1 + 1/2 + 1/4 and 1 + 1/4 + 1/16: n_eff = 49/21 = 2.33 > D.
  EXPECT_NEAR(s.effective_count, 49.0 / 21.0, 1e-15);
  EXPECT_TRUE(s.nll.has_value());
  ASSERT_TRUE(g.Fit().ok());
  EXPECT_DOUBLE_EQ(*s.nll, WeightedNllAtMle(s.weight_sum, 2, g.Fit()->log_det()));
}

TEST(ExponentialGaussianTest, NeverNaNOrInf) {
  std::mt19937_64 rng(16);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int dim : {1, 3}) {
    ExponentialGaussian g(dim, 1);  // a 1 ns half-life: every step underflows something
    ExponentialGaussian slow(dim, std::numeric_limits<int64_t>::max());
    const int64_t times[] = {std::numeric_limits<int64_t>::min(),
                             -5,
                             0,
                             1,
                             2,
                             3,
                             1'000'000,
                             std::numeric_limits<int64_t>::max() - 1,
                             std::numeric_limits<int64_t>::max()};
    for (int step = 0; step < 300; ++step) {
      std::vector<double> row(static_cast<size_t>(dim));
      for (double& v : row) v = (unit(rng) < 0.5 ? -1 : 1) * std::pow(10.0, 200 * unit(rng) - 100);
      const int64_t time = times[step % std::size(times)];
      for (ExponentialGaussian* acc : {&g, &slow}) {
        acc->AddRows(row, RowTimes{{&time, 1}});
        if (step % 5 == 0) acc->AdvanceTo(time == times[std::size(times) - 1] ? time : time + 1);
        Summary s;
        acc->Summarize(&s);
        ExpectFiniteSummary(s);
        mled::v1::StreamState state;
        acc->ToState(&state);
        EXPECT_TRUE(AccumulatorFromState(state).ok());
      }
    }
  }
}

TEST(ExponentialGaussianTest, CloneIsIndependent) {
  const Timed t = RandomTimed(17, 3, 100, 0, kSecond / 10, 0);
  const ExponentialGaussian g = Filled(t, 0, t.size(), kSecond);
  const std::unique_ptr<Accumulator> clone = g.Clone();
  EXPECT_EQ(clone->kind(), mled::v1::ESTIMATOR_EXPONENTIAL);
  Summary a;
  Summary b;
  g.Summarize(&a);
  clone->Summarize(&b);
  EXPECT_TRUE(BitwiseEqual(a, b));
  clone->AdvanceTo(g.reference_time() + 10 * kSecond);
  clone->AddRows(t.Row(0), RowTimes{{}, g.reference_time() + 10 * kSecond});
  EXPECT_EQ(g.count(), 100u);
  EXPECT_EQ(clone->count(), 101u);
  Summary again;
  g.Summarize(&again);
  EXPECT_TRUE(BitwiseEqual(a, again));
}

}  // namespace
}  // namespace mled::stats
