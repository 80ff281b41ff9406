// Anomaly detection end to end through IngestApplier and StreamTable: false-alarm rates on
// stationary Gaussians, injected outliers found exactly, the model kept clean, and no scoring
// during the warm-up. Every statistical bound below holds for the fixed seeds with a wide margin
// (explained at each assertion), so the tests are deterministic and not flaky.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_table.h"
#include "tests/engine/anomaly_test_util.h"

namespace mled::engine {
namespace {

using anomaly_test::AddBatch;
using anomaly_test::AddSample;
using anomaly_test::EstimateOf;
using anomaly_test::EvenTimes;
using anomaly_test::EventIndices;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::NormalSamples;
using anomaly_test::RulesFromText;
using anomaly_test::TwoPassReference;

constexpr int64_t kStep = kMillisecond;  // sample i is at kEpoch + i ms

// What feeding a run of rows found.
struct Fed {
  uint64_t anomalies = 0;             // IngestCounts.anomalies summed
  std::vector<mled::v1::Anomaly> events;  // applier.anomalies() of every Apply
  std::vector<mled::v1::RowScore> scores;  // Ack.scores (return_scores only), rows renumbered
                                           // to sample indices in `row`
};

enum class Feed { kSamples, kBatches, kScoredBatches };

// Feeds rows [first, last) of `values` (dim per row) to `stream`: as Ingests of `chunk` single
// Samples, or of one StreamBatch of `chunk` rows (with return_scores for kScoredBatches).
void FeedRows(IngestApplier& applier, const std::string& stream, uint32_t dim,
              const std::vector<double>& values, const std::vector<int64_t>& times, size_t first,
              size_t last, size_t chunk, Feed feed, Fed* fed) {
  mled::v1::Ingest ingest;
  mled::v1::Ack ack;
  for (size_t begin = first; begin < last; begin += chunk) {
    const size_t count = std::min(chunk, last - begin);
    ingest.Clear();
    if (feed == Feed::kSamples) {
      for (size_t i = begin; i < begin + count; ++i) {
        AddSample(&ingest, stream, absl::MakeConstSpan(values).subspan(i * dim, dim), times[i]);
      }
    } else {
      AddBatch(&ingest, stream, dim, values, times, begin, count);
      ingest.set_return_scores(feed == Feed::kScoredBatches);
    }
    const IngestCounts counts = applier.Apply(ingest, /*receipt_time_unix_nano=*/times[begin], &ack);
    ASSERT_EQ(counts.accepted, count);
    ASSERT_EQ(counts.rejected, 0u);
    fed->anomalies += counts.anomalies;
    for (mled::v1::Anomaly& event : applier.anomalies()) fed->events.push_back(std::move(event));
    if (feed == Feed::kScoredBatches) {
      ASSERT_EQ(static_cast<size_t>(ack.scores_size()), count);
      for (mled::v1::RowScore& score : *ack.mutable_scores()) {
        score.set_row(static_cast<uint32_t>(begin) + score.row());
        fed->scores.push_back(std::move(score));
      }
    }
  }
}

std::vector<size_t> FlaggedRows(const std::vector<mled::v1::RowScore>& scores) {
  std::vector<size_t> rows;
  for (const mled::v1::RowScore& score : scores) {
    if (score.anomaly()) rows.push_back(score.row());
  }
  return rows;
}

// Acceptance criterion 1 (D = 1): on 1,000,000 samples of a stationary N(20, 3²), a rule with
// p_value 1e-3 raises false alarms at a rate within a factor of 2 of 1e-3 after the warm-up.
// The rows arrive three ways, so every scoring path is measured: 100,000 as single Samples (the
// univariate fast path, one row at a time), 100,000 in scored StreamBatches (return_scores: the
// per-row path) and 800,000 in StreamBatches of 1000 (the fast path's block screen).
//
// update_on_anomaly is left at its default (false): the 0.1% of samples flagged stay out of the
// model, which truncates its tails and shrinks sd by ~0.6%, lifting the expected rate to ~1.07e-3
// (P(|Z| > 3.29 * 0.994)). The plug-in score's excess at small n adds well under one event. The
// binomial sd of the count is ~33 (~10 per 100,000 phase) against bounds 500 and 2000 overall
// (50 and 200 per phase): at least 5 sd from either, for any seed.
TEST(AnomalyDetectionTest, FalseAlarmRateWithinFactorTwoOfPValueUnivariate) {
  StreamTable table(EngineLimits(), 4, RulesFromText(R"pb(
    rules { name: "p1e-3" match: "fa/*" anomaly { p_value: 1e-3 } }
  )pb"));
  IngestApplier applier(&table);
  constexpr size_t kRows = 1'000'000;
  const std::vector<double> xs = NormalSamples(/*seed=*/20240601, kRows, 20.0, 3.0);
  const std::vector<int64_t> times = EvenTimes(kRows, kStep);

  Fed singles, scored, blocks;
  FeedRows(applier, "fa/one", 1, xs, times, 0, 100'000, 1000, Feed::kSamples, &singles);
  FeedRows(applier, "fa/one", 1, xs, times, 100'000, 200'000, 1000, Feed::kScoredBatches,
           &scored);
  FeedRows(applier, "fa/one", 1, xs, times, 200'000, kRows, 1000, Feed::kBatches, &blocks);

  // The per-row path's RowScores agree with its counts.
  EXPECT_EQ(FlaggedRows(scored.scores).size(), scored.anomalies);
  for (const Fed* fed : {&singles, &scored, &blocks}) {
    EXPECT_EQ(fed->events.size(), fed->anomalies);  // no cooldown: one event per anomaly
  }
  const double scored_rows = static_cast<double>(kRows - 30);  // the warm-up is never scored
  const uint64_t total = singles.anomalies + scored.anomalies + blocks.anomalies;
  const double rate = static_cast<double>(total) / scored_rows;
  EXPECT_GT(rate, 0.5e-3);
  EXPECT_LT(rate, 2e-3);
  const double single_rate = static_cast<double>(singles.anomalies) / (100'000 - 30);
  const double scored_rate = static_cast<double>(scored.anomalies) / 100'000;
  const double block_rate = static_cast<double>(blocks.anomalies) / 800'000;
  for (double phase_rate : {single_rate, scored_rate, block_rate}) {
    EXPECT_GT(phase_rate, 0.5e-3);
    EXPECT_LT(phase_rate, 2e-3);
  }
  const mled::v1::Estimate estimate = EstimateOf(table, "fa/one");
  EXPECT_EQ(estimate.anomalies(), total);
  EXPECT_EQ(estimate.count(), kRows - total);
  EXPECT_EQ(estimate.rule(), "p1e-3");
  std::cout << "D=1 false-alarm rate " << rate << " (singles " << single_rate << ", scored "
            << scored_rate << ", blocks " << block_rate << ")\n";
}

// Acceptance criterion 1 (D = 5): 1,000,000 rows of N(mu, L L^T) with a non-zero mean and a
// non-diagonal covariance; p_value 1e-3 flags within a factor of 2 of 1e-3 after the warm-up.
// 50,000 rows arrive as single Samples, the rest as StreamBatches of 1000 rows (D > 1 always
// takes the per-row path).
//
// update_on_anomaly is true here: the false alarms are genuine draws from the model, so letting
// them in keeps the model the unbiased MLE of every sample (checked against a two-pass reference
// below) and the expected rate exactly 1e-3 apart from the plug-in excess while n is small
// (about 20x at n = 30, D = 5, fading as 1/n: a few events in total). Binomial sd ~32 against
// bounds 500 and 2000.
TEST(AnomalyDetectionTest, FalseAlarmRateWithinFactorTwoOfPValueFiveDimensions) {
  StreamTable table(EngineLimits(), 4, RulesFromText(R"pb(
    rules {
      name: "p1e-3-open"
      match: "fa5/*"
      anomaly { p_value: 1e-3 update_on_anomaly: true }
    }
  )pb"));
  IngestApplier applier(&table);
  constexpr size_t kRows = 1'000'000;
  constexpr uint32_t kDim = 5;
  const double mu[kDim] = {10, -5, 0.5, 100, -3};
  const double l[kDim][kDim] = {{2.0, 0, 0, 0, 0},
                                {0.8, 1.5, 0, 0, 0},
                                {-0.6, 0.4, 1.0, 0, 0},
                                {0.3, -0.9, 0.5, 3.0, 0},
                                {1.2, 0.2, -0.7, 0.4, 0.5}};
  std::mt19937_64 rng(/*seed=*/5551212);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> rows(kRows * kDim);
  double z[kDim];
  for (size_t r = 0; r < kRows; ++r) {
    for (double& v : z) v = normal(rng);
    for (uint32_t i = 0; i < kDim; ++i) {
      double v = mu[i];
      for (uint32_t j = 0; j <= i; ++j) v += l[i][j] * z[j];
      rows[r * kDim + i] = v;
    }
  }
  const std::vector<int64_t> times = EvenTimes(kRows, kStep);

  Fed singles, blocks;
  FeedRows(applier, "fa5/x", kDim, rows, times, 0, 50'000, 500, Feed::kSamples, &singles);
  FeedRows(applier, "fa5/x", kDim, rows, times, 50'000, kRows, 1000, Feed::kBatches, &blocks);

  const uint64_t total = singles.anomalies + blocks.anomalies;
  EXPECT_EQ(singles.events.size() + blocks.events.size(), total);
  const double rate = static_cast<double>(total) / static_cast<double>(kRows - 30);
  EXPECT_GT(rate, 0.5e-3);
  EXPECT_LT(rate, 2e-3);
  // The batch phase alone (950,000 rows, expected ~950, sd ~31): same bounds.
  const double block_rate = static_cast<double>(blocks.anomalies) / 950'000;
  EXPECT_GT(block_rate, 0.5e-3);
  EXPECT_LT(block_rate, 2e-3);
  std::cout << "D=5 false-alarm rate " << rate << " (blocks " << block_rate << ")\n";

  // Anomalies updated the model: it is the MLE of every row (1e-8 relative, DESIGN.md's bound
  // for one-by-one updates).
  const mled::v1::Estimate estimate = EstimateOf(table, "fa5/x");
  EXPECT_EQ(estimate.count(), kRows);
  EXPECT_EQ(estimate.anomalies(), total);
  anomaly_test::ExpectMomentsNear(estimate, TwoPassReference(rows, kDim), 1e-8);
}

// Acceptance criterion 2: with the default policy (p_value 1e-6, warm-up 30, anomalies kept out
// of the model), 200,000 N(0,1) samples with 10 values injected at 10 sigma (known positions
// after the warm-up, both signs) give exactly those 10 anomalies and at most 3 others; positions
// are checked in Ack.scores (return_scores), in the Anomaly events and in Estimate.anomalies; the
// model equals the two-pass estimate of the clean samples.
//
// Why the bounds hold: the threshold is |z| > 4.89; at n >= 100 the model's sd is within 30% of
// 1 and its mean within 0.5 of 0 (both > 5 sd of their estimates), so a 10 sigma value always
// scores |z| > 7. Clean samples exceed 4.89 sigma with probability 1e-6: 0.2 expected in 200,000
// (plus a small-n plug-in excess of ~0.01), so 4 or more has probability ~1e-4 for a random seed.
TEST(AnomalyDetectionTest, DefaultPolicyFlagsExactlyTheTenInjectedTenSigmaValues) {
  StreamTable table(EngineLimits(), 4);  // no rules: the default policy
  IngestApplier applier(&table);
  constexpr size_t kRows = 200'000;
  std::vector<double> xs = NormalSamples(/*seed=*/42, kRows, 0.0, 1.0);
  const std::vector<int64_t> times = EvenTimes(kRows, kStep);
  // Seven positive, three negative, so that letting them in would move the mean too.
  const std::vector<size_t> injected = {100,    5'000,   20'000,  40'001,  77'777,
                                        100'000, 123'456, 150'000, 180'000, 199'999};
  const std::vector<double> signs = {1, -1, 1, 1, -1, 1, 1, -1, 1, 1};
  for (size_t k = 0; k < injected.size(); ++k) xs[injected[k]] = 10.0 * signs[k];

  Fed scored, fast;
  FeedRows(applier, "plant/boiler", 1, xs, times, 0, kRows, 1000, Feed::kScoredBatches,
           &scored);
  FeedRows(applier, "plant/boiler-fast", 1, xs, times, 0, kRows, 1000, Feed::kBatches, &fast);

  const std::vector<size_t> flagged = FlaggedRows(scored.scores);
  const std::set<size_t> flagged_set(flagged.begin(), flagged.end());
  for (size_t position : injected) EXPECT_TRUE(flagged_set.count(position)) << position;
  const size_t others = flagged.size() - static_cast<size_t>(std::count_if(
                                             injected.begin(), injected.end(),
                                             [&](size_t p) { return flagged_set.count(p) > 0; }));
  EXPECT_LE(others, 3u);
  // The events name the same rows, on both paths, and carry the flagged values.
  EXPECT_EQ(EventIndices(scored.events, "plant/boiler", kEpoch, kStep), flagged);
  EXPECT_EQ(EventIndices(fast.events, "plant/boiler-fast", kEpoch, kStep), flagged);
  EXPECT_EQ(scored.anomalies, flagged.size());
  EXPECT_EQ(fast.anomalies, flagged.size());
  for (const mled::v1::Anomaly& event : scored.events) {
    const size_t row = static_cast<size_t>((event.time_unix_nano() - kEpoch) / kStep);
    ASSERT_EQ(event.x_size(), 1);
    EXPECT_EQ(event.x(0), xs[row]);
    EXPECT_EQ(event.rule(), "default");
    EXPECT_LT(event.p_value(), 1e-6);
    EXPECT_GT(event.score(), event.threshold());
    EXPECT_GT(event.mahalanobis2(), 23.9);  // chi2_1 quantile at 1e-6 is 23.93
    EXPECT_EQ(event.suppressed(), 0u);
    ASSERT_EQ(event.mean_size(), 1);
    EXPECT_NEAR(event.mean(0), 0.0, 0.5);
    // The model stood on every earlier sample except the earlier anomalies.
    const size_t earlier = static_cast<size_t>(
        std::lower_bound(flagged.begin(), flagged.end(), row) - flagged.begin());
    EXPECT_EQ(event.effective_count(), static_cast<double>(row - earlier));
  }

  for (const char* stream : {"plant/boiler", "plant/boiler-fast"}) {
    const mled::v1::Estimate estimate = EstimateOf(table, stream);
    EXPECT_EQ(estimate.anomalies(), flagged.size()) << stream;
    EXPECT_EQ(estimate.count(), kRows - flagged.size()) << stream;
    // Exactly the accepted samples (block-wise updates: 1e-9 relative, DESIGN.md).
    std::vector<bool> accepted(kRows, true);
    for (size_t row : flagged) accepted[row] = false;
    anomaly_test::ExpectMomentsNear(estimate, TwoPassReference(xs, 1, accepted), 1e-9);
    // Not poisoned: close to the clean samples' estimate. Up to 3 false alarms (|x| < ~6) could
    // move the mean by 3e-5 each and the variance by 2e-4 relative each; the 10 injections, had
    // they been let in, would move them by 2e-4 and 5e-3 (checked below), past these bounds.
    std::vector<bool> clean(kRows, true);
    for (size_t row : injected) clean[row] = false;
    const anomaly_test::Reference reference = TwoPassReference(xs, 1, clean);
    const anomaly_test::Reference poisoned = TwoPassReference(xs, 1);
    constexpr double kMeanTolerance = 1e-4;
    constexpr double kVarianceTolerance = 1e-3;
    EXPECT_NEAR(estimate.mean(0), static_cast<double>(reference.mean[0]), kMeanTolerance);
    EXPECT_NEAR(estimate.covariance(0) / static_cast<double>(reference.covariance[0]), 1.0,
                kVarianceTolerance);
    EXPECT_GT(std::fabs(static_cast<double>(poisoned.mean[0] - reference.mean[0])),
              kMeanTolerance);
    EXPECT_GT(static_cast<double>(poisoned.covariance[0] / reference.covariance[0]) - 1.0,
              kVarianceTolerance);
  }
}

// Acceptance criterion 3: 20 outliers at 6 sigma, spaced out after the warm-up, are all flagged,
// on every path (scored batches, fast-path batches, single Samples); and there is no warm-up
// leak: the first 30 samples are never scored or flagged, even the 6 sigma outliers placed at
// samples 11 and 30 (indices 10 and 29), and the first scored sample is sample 31 (index 30).
//
// Why the bounds hold: the outliers start at index 2000, where the model's sd is within 5% of 1
// (> 4 sd of its estimate, which the two warm-up outliers inflate by < 2%) and its mean within
// 0.1 of 0; so |z| > (6 - 0.1) / 1.05 = 5.6 > 4.89. Clean false alarms: 0.05 expected in 50,000.
TEST(AnomalyDetectionTest, SixSigmaOutliersAllFlaggedAndNoWarmupLeak) {
  StreamTable table(EngineLimits(), 4);
  IngestApplier applier(&table);
  constexpr size_t kRows = 50'000;
  std::vector<double> xs = NormalSamples(/*seed=*/6006, kRows, 0.0, 1.0);
  const std::vector<int64_t> times = EvenTimes(kRows, kStep);
  xs[10] = -6.0;
  xs[29] = 6.0;
  std::vector<size_t> outliers;
  for (size_t k = 0; k < 20; ++k) {
    outliers.push_back(2000 + 2500 * k);
    xs[outliers.back()] = (k % 2 == 0 ? 6.0 : -6.0);
  }

  Fed scored, fast, singles;
  FeedRows(applier, "six/scored", 1, xs, times, 0, kRows, 1000, Feed::kScoredBatches, &scored);
  FeedRows(applier, "six/fast", 1, xs, times, 0, kRows, 1000, Feed::kBatches, &fast);
  FeedRows(applier, "six/single", 1, xs, times, 0, kRows, 1000, Feed::kSamples, &singles);

  ASSERT_EQ(scored.scores.size(), kRows);
  for (size_t row = 0; row < 30; ++row) {
    const mled::v1::RowScore& score = scored.scores[row];
    EXPECT_EQ(score.row(), row);
    EXPECT_FALSE(score.scored()) << "warm-up row " << row << " was scored";
    EXPECT_FALSE(score.anomaly());
    EXPECT_EQ(score.score(), 0.0);
    EXPECT_EQ(score.p_value(), 0.0);
  }
  for (size_t row = 30; row < kRows; ++row) {
    ASSERT_TRUE(scored.scores[row].scored()) << "row " << row;
  }

  const std::vector<size_t> flagged = FlaggedRows(scored.scores);
  const std::set<size_t> flagged_set(flagged.begin(), flagged.end());
  for (size_t position : outliers) EXPECT_TRUE(flagged_set.count(position)) << position;
  EXPECT_LE(flagged.size(), outliers.size() + 3);
  ASSERT_FALSE(flagged.empty());
  EXPECT_GE(flagged.front(), 30u);
  EXPECT_EQ(EventIndices(scored.events, "six/scored", kEpoch, kStep), flagged);
  EXPECT_EQ(EventIndices(fast.events, "six/fast", kEpoch, kStep), flagged);
  EXPECT_EQ(EventIndices(singles.events, "six/single", kEpoch, kStep), flagged);
  for (const char* stream : {"six/scored", "six/fast", "six/single"}) {
    const mled::v1::Estimate estimate = EstimateOf(table, stream);
    EXPECT_EQ(estimate.anomalies(), flagged.size()) << stream;
    // The warm-up outliers went into the model (unscored), the later ones did not.
    EXPECT_EQ(estimate.count(), kRows - flagged.size()) << stream;
  }

  // The first scored sample is sample 31, seen in the estimate's last score too: after 30
  // samples (one batch) there is none; the 31st, a single Sample, is the first.
  FeedRows(applier, "six/boundary", 1, xs, times, 0, 30, 30, Feed::kBatches, &fast);
  mled::v1::Estimate estimate = EstimateOf(table, "six/boundary");
  EXPECT_EQ(estimate.count(), 30u);
  EXPECT_FALSE(estimate.has_last_score());
  EXPECT_FALSE(estimate.has_last_p_value());
  EXPECT_EQ(estimate.anomalies(), 0u);
  FeedRows(applier, "six/boundary", 1, xs, times, 30, 31, 1, Feed::kSamples, &fast);
  estimate = EstimateOf(table, "six/boundary");
  EXPECT_EQ(estimate.count(), 31u);
  EXPECT_TRUE(estimate.has_last_score());
  EXPECT_TRUE(estimate.has_last_p_value());
}

}  // namespace
}  // namespace mled::engine
