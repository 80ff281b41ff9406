// Forgetting estimators through the engine: `exponential` and `window` rules track a step in
// the mean, the window's published estimate is exactly the samples of its live buckets, and the
// exponential decay is right with out-of-order samples and gaps. Sample times are explicit
// (injected clock); nothing sleeps.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_table.h"
#include "tests/engine/anomaly_test_util.h"

namespace mled::engine {
namespace {

using anomaly_test::AddBatch;
using anomaly_test::AddSample;
using anomaly_test::EstimateOf;
using anomaly_test::ExpectMomentsNear;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::kSecond;
using anomaly_test::Reference;
using anomaly_test::RulesFromText;
using anomaly_test::TwoPassReference;

// Feeds rows [first, last) (dim values each, one time each) to `stream`: as one StreamBatch
// with per-row times, or as single Samples when `as_samples`.
void Feed(IngestApplier& applier, const std::string& stream, uint32_t dim,
          const std::vector<double>& values, const std::vector<int64_t>& times, size_t first,
          size_t last, bool as_samples = false) {
  mled::v1::Ingest ingest;
  if (as_samples) {
    for (size_t i = first; i < last; ++i) {
      AddSample(&ingest, stream, absl::MakeConstSpan(values).subspan(i * dim, dim), times[i]);
    }
  } else {
    AddBatch(&ingest, stream, dim, values, times, first, last - first);
  }
  mled::v1::Ack ack;
  // Every row carries its own time; the daemon receives them as the latest is taken (sample
  // times may not run ahead of the receipt time by more than limits.max_time_ahead).
  const int64_t receipt = *std::max_element(times.begin() + static_cast<ptrdiff_t>(first),
                                            times.begin() + static_cast<ptrdiff_t>(last));
  const IngestCounts counts = applier.Apply(ingest, receipt, &ack);
  ASSERT_EQ(counts.accepted, last - first) << stream;
}

// Acceptance criterion 4 (exponential): after a step of +3 sigma in the mean, an `exponential`
// rule with half-life h tracks the new level within 5 half-lives: its mean is within
// 3/32 sigma (the pre-step weight left after 5 half-lives, 2^-5, times the step) plus a noise
// margin of 0.1 sigma of the new level.
//
// Why the bound holds: one sample per ms with h = 1 s gives Kish's n_eff = 2h / (dt ln 2) ~ 2885,
// so the weighted mean's noise has sd ~0.019; 0.1 is > 5 sd. The rule lets anomalies update
// the model (update_on_anomaly) so every post-step sample is accepted even when its noise takes
// it past the detection threshold relative to the old level (3 + 1.9 sigma happens ~3% of the
// time); the step itself (3 sigma) is below the threshold (4.89 sigma).
TEST(ForgettingTest, ExponentialTracksMeanStepWithinFiveHalfLives) {
  StreamTable table(EngineLimits(), 2, RulesFromText(R"pb(
    rules {
      name: "ewma"
      match: "exp/*"
      exponential { half_life: "1s" }
      anomaly { update_on_anomaly: true }
    }
  )pb"));
  IngestApplier applier(&table);
  constexpr size_t kBefore = 20'000;  // 20 half-lives at the old level: a steady state
  constexpr size_t kAfter = 5'001;    // the step at T0, then through T0 + 5 h
  std::mt19937_64 rng(/*seed=*/314159);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(kBefore + kAfter);
  std::vector<int64_t> times(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = (i < kBefore ? 0.0 : 3.0) + normal(rng);
    times[i] = kEpoch + static_cast<int64_t>(i) * kMillisecond;
  }
  for (size_t first = 0; first < kBefore; first += 1000) {
    Feed(applier, "exp/level", 1, xs, times, first, first + 1000);
  }
  mled::v1::Estimate estimate = EstimateOf(table, "exp/level");
  EXPECT_NEAR(estimate.mean(0), 0.0, 0.1);
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_NEAR(estimate.effective_count(), 2.0 / std::log(2.0) * 1000, 5);

  // One half-life after the step the mean is only halfway (1.5 +- 0.1): not yet tracked.
  Feed(applier, "exp/level", 1, xs, times, kBefore, kBefore + 1001);
  estimate = EstimateOf(table, "exp/level");
  EXPECT_NEAR(estimate.mean(0), 1.5, 0.1);
  // Five half-lives after it (the latest sample at T0 + 5 s), within 3/32 + 0.1 of 3.
  Feed(applier, "exp/level", 1, xs, times, kBefore + 1001, kBefore + kAfter);
  estimate = EstimateOf(table, "exp/level");
  EXPECT_EQ(estimate.last_time_unix_nano(), kEpoch + static_cast<int64_t>(kBefore) * kMillisecond +
                                                5 * kSecond);
  EXPECT_NEAR(estimate.mean(0), 3.0, 3.0 / 32 + 0.1);
  EXPECT_EQ(estimate.count(), kBefore + kAfter);  // every sample was accepted
}

// With the default policy anomalies stay out of the model. After a level shift far beyond the
// threshold every new sample is an anomaly, so a forgetting model must not keep judging against
// the old level forever: its weight Σw decays as sample time passes, and once it falls below the
// warm-up the model stops scoring, takes the new samples in and warms up on the new level.
//
// Numbers: half-life 1 s, one sample per ms, so Σw ≈ 1/(1 - 2^-0.001) ≈ 1443 at steady state;
// it falls below 30 after log2(1443/30) ≈ 5.6 half-lives, so about 5,600 post-step samples are
// flagged (bounds 5,000..6,500). Sixteen half-lives after the step the old level's remaining
// weight (~30 · 2^-10) no longer shows in the variance.
TEST(ForgettingTest, ExponentialRecoversFromLevelShiftWhenAnomaliesStayOut) {
  StreamTable table(EngineLimits(), 2, RulesFromText(R"pb(
    rules { name: "ewma" match: "exp/*" exponential { half_life: "1s" } }
  )pb"));
  IngestApplier applier(&table);
  constexpr size_t kBefore = 20'000;
  constexpr size_t kAfter = 16'000;
  std::mt19937_64 rng(/*seed=*/2718);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(kBefore + kAfter);
  std::vector<int64_t> times(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i] = (i < kBefore ? 0.0 : 50.0) + normal(rng);
    times[i] = kEpoch + static_cast<int64_t>(i) * kMillisecond;
  }
  for (size_t first = 0; first < xs.size(); first += 1000) {
    Feed(applier, "exp/shift", 1, xs, times, first, first + 1000);
  }
  const mled::v1::Estimate estimate = EstimateOf(table, "exp/shift");
  EXPECT_GT(estimate.anomalies(), 5'000u);
  EXPECT_LT(estimate.anomalies(), 6'500u);
  EXPECT_NEAR(estimate.mean(0), 50.0, 0.5);
  EXPECT_NEAR(estimate.covariance(0), 1.0, 0.3);
  ASSERT_TRUE(estimate.has_last_p_value()) << "the recovered model scores again";
  EXPECT_GT(estimate.last_p_value(), 1e-6);
}

// Acceptance criterion 4 (window): after the same step, a `window` rule of length L holds only
// post-step samples once its latest sample is L past the step: the oldest live bucket starts
// after latest - L >= T0 (buckets are aligned to the epoch), so its estimate is the two-pass
// estimate of exactly the post-step samples in the live buckets, close to the new level.
//
// Why the bound holds: ~900 post-step samples in the window, so the mean's noise sd is ~0.033;
// 0.2 is 6 sd. The step is deliberately not aligned to a bucket boundary.
TEST(ForgettingTest, WindowTracksMeanStepWithinOneWindowLength) {
  StreamTable table(EngineLimits(), 2, RulesFromText(R"pb(
    rules {
      name: "win"
      match: "win/*"
      window { length: "10s" buckets: 10 }
      anomaly { update_on_anomaly: true }
    }
  )pb"));
  IngestApplier applier(&table);
  constexpr int64_t kDt = 10 * kMillisecond;
  constexpr int64_t kBucket = kSecond;
  constexpr size_t kBefore = 3000;  // 30 s at the old level
  constexpr size_t kAfter = 1001;   // from T0 through T0 + 10 s
  const int64_t step_time = kEpoch + 30 * kSecond + 5 * kMillisecond;
  std::mt19937_64 rng(/*seed=*/271828);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(kBefore + kAfter);
  std::vector<int64_t> times(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const bool after = i >= kBefore;
    xs[i] = (after ? 3.0 : 0.0) + normal(rng);
    times[i] = after ? step_time + static_cast<int64_t>(i - kBefore) * kDt
                     : kEpoch + static_cast<int64_t>(i) * kDt;
  }
  // The samples in the live buckets once the latest time is `latest` (epoch-aligned buckets).
  auto live = [&](size_t fed, int64_t latest) {
    std::vector<bool> include(xs.size(), false);
    const int64_t oldest = latest / kBucket - 10 + 1;
    for (size_t i = 0; i < fed; ++i) include[i] = times[i] / kBucket >= oldest;
    return include;
  };

  Feed(applier, "win/level", 1, xs, times, 0, kBefore);
  // Half a window after the step, old samples are still in: the mean is in between.
  Feed(applier, "win/level", 1, xs, times, kBefore, kBefore + 500);
  mled::v1::Estimate estimate = EstimateOf(table, "win/level");
  EXPECT_GT(estimate.mean(0), 0.5);
  EXPECT_LT(estimate.mean(0), 2.5);

  Feed(applier, "win/level", 1, xs, times, kBefore + 500, kBefore + kAfter);
  estimate = EstimateOf(table, "win/level");
  const int64_t latest = times.back();
  ASSERT_EQ(latest, step_time + 10 * kSecond);
  const std::vector<bool> include = live(xs.size(), latest);
  for (size_t i = 0; i < kBefore; ++i) ASSERT_FALSE(include[i]) << "pre-step sample " << i;
  const Reference reference = TwoPassReference(xs, 1, include);
  EXPECT_EQ(estimate.count(), reference.count);
  EXPECT_GT(reference.count, 800u);
  ExpectMomentsNear(estimate, reference, 1e-12);
  EXPECT_NEAR(estimate.mean(0), 3.0, 0.2);
}

// Acceptance criterion 5: the window estimate (published Estimate count, mean and covariance)
// equals a long double two-pass estimate over exactly the samples in the live buckets, with
// samples arriving out of order (some still in a live bucket, some too old and dropped) and
// with gaps that expire everything. Checked after every chunk of 200 rows, chunks arriving
// alternately as one StreamBatch and as single Samples, for D = 1 and D = 2.
//
// The rule lets anomalies update the model, so every row whose bucket is live is in it whatever
// its score; the reference needs only the times.
TEST(ForgettingTest, WindowEstimateEqualsTwoPassOverLiveBuckets) {
  StreamTable table(EngineLimits(), 4, RulesFromText(R"pb(
    rules {
      name: "win"
      match: "live/*"
      window { length: "2s" buckets: 8 }
      anomaly { update_on_anomaly: true }
    }
  )pb"));
  IngestApplier applier(&table);
  constexpr int64_t kBucket = 250 * kMillisecond;
  constexpr int64_t kBuckets = 8;
  constexpr size_t kRows = 20'000;
  for (const uint32_t dim : {1u, 2u}) {
    const std::string stream = dim == 1 ? "live/one" : "live/two";
    std::mt19937_64 rng(/*seed=*/1000 + dim);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int64_t> tick(1, 20);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> xs(kRows * dim);
    std::vector<int64_t> times(kRows);
    int64_t cursor = kEpoch + 123 * kMillisecond + 456;  // not bucket-aligned
    size_t late = 0, dropped_at_arrival = 0, gaps = 0;
    int64_t latest = 0;
    for (size_t i = 0; i < kRows; ++i) {
      const double z0 = normal(rng), z1 = normal(rng);
      xs[i * dim] = 50.0 + 2.0 * z0;
      if (dim == 2) xs[i * dim + 1] = -20.0 + 0.3 * z0 + 0.5 * z1;
      const double u = unit(rng);
      if (i % 5000 == 4999) {
        cursor += 5 * kSecond;  // a gap longer than the window: everything expires
        ++gaps;
        times[i] = cursor;
      } else if (u < 0.10) {
        // Out of order by up to 1.5 s: often still in a live bucket, sometimes not.
        times[i] = cursor - static_cast<int64_t>(unit(rng) * 1.5 * kSecond);
        ++late;
      } else if (u < 0.12) {
        // Older than the whole window: always dropped.
        times[i] = cursor - 2 * kSecond - static_cast<int64_t>(unit(rng) * 8 * kSecond);
        ++late;
      } else {
        cursor += tick(rng) * kMillisecond;
        times[i] = cursor;
      }
      if (latest != 0 && times[i] / kBucket < latest / kBucket - kBuckets + 1) {
        ++dropped_at_arrival;
      }
      latest = std::max(latest, times[i]);
    }
    // The data must exercise what the test claims.
    ASSERT_GT(late, 1000u);
    ASSERT_GT(dropped_at_arrival, 300u);
    ASSERT_EQ(gaps, 4u);

    latest = 0;
    size_t checks_with_moments = 0;
    for (size_t first = 0; first < kRows; first += 200) {
      const size_t last = first + 200;
      Feed(applier, stream, dim, xs, times, first, last, /*as_samples=*/(first / 200) % 2 == 1);
      for (size_t i = first; i < last; ++i) latest = std::max(latest, times[i]);
      std::vector<bool> include(kRows, false);
      const int64_t oldest = latest / kBucket - kBuckets + 1;
      for (size_t i = 0; i < last; ++i) include[i] = times[i] / kBucket >= oldest;
      const Reference reference = TwoPassReference(xs, static_cast<int>(dim), include);
      const mled::v1::Estimate estimate = EstimateOf(table, stream);
      ASSERT_EQ(estimate.count(), reference.count) << stream << " after " << last << " rows";
      EXPECT_EQ(estimate.effective_count(), static_cast<double>(reference.count));
      EXPECT_EQ(estimate.last_time_unix_nano(), latest);
      if (reference.count >= 2) {
        ++checks_with_moments;
        ExpectMomentsNear(estimate, reference, 1e-12);
      }
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_GT(checks_with_moments, 90u);
  }
}

// Acceptance criterion 6: exponential decay is right when samples arrive out of order and with
// gaps. Through the table, the published Estimate's effective_count (Kish's W^2 / sum w^2),
// mean and covariance match a direct long double reference with weights
// w_i = 2^(-(t_ref - t_i) / h), t_ref the latest time seen, after every chunk of 100 rows.
// Rows share times now and then (the block update), 10% arrive up to 5 half-lives late, one gap
// is 30 half-lives (old weights ~1e-9, still in the estimate) and one 500 (the model empties
// and starts afresh; the old weights, < 1e-150, are invisible in the reference too).
// Two streams per dimension: one scored (per-row path; anomalies let in, so every row is in the
// model) and one with scoring off (the whole group goes to AddRows at once).
TEST(ForgettingTest, ExponentialDecayMatchesWeightedReferenceOutOfOrderAndWithGaps) {
  StreamTable table(EngineLimits(), 4, RulesFromText(R"pb(
    rules {
      name: "scored"
      match: "decay/scored/*"
      exponential { half_life: "1s" }
      anomaly { update_on_anomaly: true }
    }
    rules {
      name: "off"
      match: "decay/off/*"
      exponential { half_life: "1s" }
      anomaly { enabled: false }
    }
  )pb"));
  IngestApplier applier(&table);
  constexpr long double kHalfLife = kSecond;
  constexpr size_t kRows = 10'000;
  for (const uint32_t dim : {1u, 3u}) {
    std::mt19937_64 rng(/*seed=*/77 + dim);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int64_t> tick(1, 40);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> xs(kRows * dim);
    std::vector<int64_t> times(kRows);
    int64_t cursor = kEpoch + 777;
    for (size_t i = 0; i < kRows; ++i) {
      double z[3];
      for (double& v : z) v = normal(rng);
      xs[i * dim] = 1e3 + 5.0 * z[0];
      if (dim == 3) {
        xs[i * dim + 1] = -4.0 + z[0] - 0.5 * z[1];
        xs[i * dim + 2] = 0.01 * (z[0] + z[1] + z[2]);
      }
      const double u = unit(rng);
      if (i == 3000 || i == 6000) {
        cursor += (i == 3000 ? 30 : 500) * kSecond;  // then an in-order sample
        times[i] = cursor;
      } else if (u < 0.10 && i > 0) {
        times[i] = cursor - static_cast<int64_t>(unit(rng) * 5 * kSecond);
      } else if (u < 0.15 && i > 0) {
        times[i] = times[i - 1];  // the same time as the previous row
      } else {
        cursor += tick(rng) * kMillisecond;
        times[i] = cursor;
      }
    }
    const std::string scored = absl::StrCat("decay/scored/", dim);
    const std::string off = absl::StrCat("decay/off/", dim);
    int64_t latest = times[0];
    for (size_t first = 0; first < kRows; first += 100) {
      const size_t last = first + 100;
      const bool as_samples = (first / 100) % 3 == 2;
      Feed(applier, scored, dim, xs, times, first, last, as_samples);
      Feed(applier, off, dim, xs, times, first, last, as_samples);
      for (size_t i = first; i < last; ++i) latest = std::max(latest, times[i]);
      std::vector<bool> include(kRows, false);
      std::vector<long double> weights(kRows, 0);
      for (size_t i = 0; i < last; ++i) {
        include[i] = true;
        weights[i] = std::exp2(-static_cast<long double>(latest - times[i]) / kHalfLife);
      }
      const Reference reference = TwoPassReference(xs, static_cast<int>(dim), include, weights);
      for (const std::string& stream : {scored, off}) {
        const mled::v1::Estimate estimate = EstimateOf(table, stream);
        ASSERT_EQ(estimate.count(), last) << stream;
        EXPECT_EQ(estimate.last_time_unix_nano(), latest);
        EXPECT_NEAR(estimate.effective_count(),
                    static_cast<double>(reference.effective_count()),
                    1e-10 * static_cast<double>(reference.effective_count()))
            << stream << " after " << last << " rows";
        if (reference.effective_count() > 2) ExpectMomentsNear(estimate, reference, 1e-10);
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace mled::engine
