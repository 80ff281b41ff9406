// A rule's AnomalyPolicy through the engine: the cooldown of Anomaly events, update_on_anomaly,
// enabled = false, and the abs_z and nll threshold forms at their exact boundaries. Sample
// times are explicit or the receipt time given to Apply (injected clock).
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <tuple>
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
using anomaly_test::FreeSampleTimeLimits;
using anomaly_test::EstimateOf;
using anomaly_test::EvenTimes;
using anomaly_test::ExpectMomentsNear;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::kSecond;
using anomaly_test::NormalSamples;
using anomaly_test::PlugInNll1;
using anomaly_test::RulesFromText;
using anomaly_test::TwoPassReference;

// Applies `ingest`, returning the events; adds its anomaly count to `*anomalies`.
std::vector<mled::v1::Anomaly> ApplyAndTakeEvents(IngestApplier& applier,
                                                  const mled::v1::Ingest& ingest,
                                                  int64_t receipt_time, uint64_t* anomalies,
                                                  mled::v1::Ack* ack) {
  const IngestCounts counts = applier.Apply(ingest, receipt_time, ack);
  EXPECT_EQ(counts.rejected, 0u);
  *anomalies += counts.anomalies;
  return std::move(applier.anomalies());
}

// 1000 N(0,1) samples at 1 ms from kEpoch: a model to judge against.
void WarmUp(IngestApplier& applier, const std::string& stream, uint64_t seed) {
  const std::vector<double> xs = NormalSamples(seed, 1000, 0.0, 1.0);
  const std::vector<int64_t> times = EvenTimes(1000, kMillisecond);
  mled::v1::Ingest ingest;
  AddBatch(&ingest, stream, 1, xs, times, 0, xs.size());
  mled::v1::Ack ack;
  ASSERT_EQ(applier.Apply(ingest, kEpoch, &ack).anomalies, 0u) << stream;
}

// Acceptance criterion 8 (cooldown): with cooldown "10s", a burst of anomalies within 10 s of
// sample time gives one Anomaly event; Estimate.anomalies counts them all; the next event after
// the cooldown carries `suppressed`, the number swallowed since the previous event. The cooldown
// is a distance in sample time from the last event, either way (an out-of-order anomaly before
// it is swallowed too), exactly 10 s is outside it, and it is per stream.
TEST(AnomalyPolicyEngineTest, CooldownSendsOneEventPerBurstAndCountsTheSuppressed) {
  StreamTable table(FreeSampleTimeLimits(), 4, RulesFromText(R"pb(
    rules { name: "cool" match: "cool/*" anomaly { cooldown: "10s" } }
  )pb"));
  IngestApplier applier(&table);
  WarmUp(applier, "cool/a", 1);
  WarmUp(applier, "cool/b", 2);
  WarmUp(applier, "cool/batch", 3);
  const int64_t t0 = kEpoch + 2 * kSecond;
  uint64_t anomalies = 0;
  mled::v1::Ack ack;
  // One anomaly (x = +-50 sigma) as a Sample at `time` (0: the receipt time).
  auto anomaly_at = [&](const std::string& stream, int64_t time, int64_t receipt = 1) {
    mled::v1::Ingest ingest;
    AddSample(&ingest, stream, {(time / kSecond) % 2 == 0 ? 50.0 : -50.0}, time);
    AddSample(&ingest, stream, {0.25}, time == 0 ? 0 : time + 1);  // a normal sample between
    return ApplyAndTakeEvents(applier, ingest, receipt, &anomalies, &ack);
  };

  // The burst: 10 anomalies at t0, t0 + 1 s, ..., t0 + 9 s: one event, at t0.
  std::vector<mled::v1::Anomaly> events = anomaly_at("cool/a", t0);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time_unix_nano(), t0);
  EXPECT_EQ(events[0].suppressed(), 0u);
  EXPECT_EQ(events[0].rule(), "cool");
  for (int k = 1; k < 10; ++k) {
    EXPECT_TRUE(anomaly_at("cool/a", t0 + k * kSecond).empty()) << k;
  }
  // Per stream: another stream's anomaly inside the burst has its own event.
  events = anomaly_at("cool/b", t0 + 5 * kSecond);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream(), "cool/b");
  // Out of order, 5 s before the last event: within the cooldown, swallowed.
  EXPECT_TRUE(anomaly_at("cool/a", t0 - 5 * kSecond).empty());
  // 1 ns short of the cooldown: swallowed.
  EXPECT_TRUE(anomaly_at("cool/a", t0 + 10 * kSecond - 1).empty());
  EXPECT_EQ(EstimateOf(table, "cool/a").anomalies(), 12u);

  // Exactly 10 s after the last event: the next event, reporting the 11 swallowed.
  events = anomaly_at("cool/a", t0 + 10 * kSecond);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time_unix_nano(), t0 + 10 * kSecond);
  EXPECT_EQ(events[0].suppressed(), 11u);
  // The cooldown restarts from that event.
  EXPECT_TRUE(anomaly_at("cool/a", t0 + 10 * kSecond + 1).empty());
  // A sample without a time takes the receipt time: 30 s after t0 is past the cooldown.
  events = anomaly_at("cool/a", 0, /*receipt=*/t0 + 30 * kSecond);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time_unix_nano(), t0 + 30 * kSecond);
  EXPECT_EQ(events[0].suppressed(), 1u);

  const mled::v1::Estimate estimate = EstimateOf(table, "cool/a");
  EXPECT_EQ(estimate.anomalies(), 15u);
  EXPECT_EQ(estimate.count(), 1000u + 15u);  // the normal samples between; no anomaly went in
  EXPECT_EQ(anomalies, 16u);                 // cool/a's 15 and cool/b's one

  // A burst inside one StreamBatch (rows 1 s apart): one event now, the rest reported later.
  mled::v1::Ingest ingest;
  mled::v1::StreamBatch* batch = ingest.add_batches();
  batch->set_stream("cool/batch");
  for (int k = 0; k < 8; ++k) {
    batch->add_values(k % 2 == 0 ? 40.0 : -40.0);
    batch->add_time_unix_nano(t0 + k * kSecond);
  }
  anomalies = 0;
  events = ApplyAndTakeEvents(applier, ingest, 1, &anomalies, &ack);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time_unix_nano(), t0);
  EXPECT_EQ(anomalies, 8u);
  events = anomaly_at("cool/batch", t0 + 20 * kSecond);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].suppressed(), 7u);
  EXPECT_EQ(EstimateOf(table, "cool/batch").anomalies(), 9u);
}

// The cooldown is a distance between two arbitrary int64 sample times, which can be more than
// INT64_MAX apart: an anomaly at the far end of the time range from the last event is outside
// any finite cooldown (and computing the distance must not overflow; UBSan checks it).
TEST(AnomalyPolicyEngineTest, CooldownDistanceAcrossTheWholeTimeRange) {
  StreamTable table(FreeSampleTimeLimits(), 1, RulesFromText(R"pb(
    rules { name: "cool" match: "cool/*" anomaly { cooldown: "10s" } }
  )pb"));
  IngestApplier applier(&table);
  WarmUp(applier, "cool/far", 4);
  uint64_t anomalies = 0;
  mled::v1::Ack ack;
  const int64_t far_future = std::numeric_limits<int64_t>::max() - 1;
  const int64_t far_past = std::numeric_limits<int64_t>::min() + 1;
  // (time, events expected, suppressed reported by the event)
  const std::vector<std::tuple<int64_t, size_t, uint64_t>> steps = {
      {far_future, 1, 0},
      {far_past, 1, 0},      // ~2^64 ns before the previous event
      {far_past + 1, 0, 0},  // 1 ns after it: swallowed
      {far_future, 1, 1},    // ~2^64 ns after it
  };
  for (const auto& [time, expected_events, suppressed] : steps) {
    mled::v1::Ingest ingest;
    AddSample(&ingest, "cool/far", {100.0}, time);
    const std::vector<mled::v1::Anomaly> events =
        ApplyAndTakeEvents(applier, ingest, kEpoch, &anomalies, &ack);
    ASSERT_EQ(events.size(), expected_events) << time;
    if (expected_events == 1) {
      EXPECT_EQ(events[0].time_unix_nano(), time);
      EXPECT_EQ(events[0].suppressed(), suppressed);
    }
  }
  EXPECT_EQ(anomalies, 4u);
  EXPECT_EQ(EstimateOf(table, "cool/far").anomalies(), 4u);
}

// The same 1000 N(0,1) samples with five 10 sigma values at known rows after the warm-up.
struct Contaminated {
  std::vector<double> xs;
  std::vector<int64_t> times;
  std::vector<size_t> outliers = {200, 400, 600, 800, 999};
  std::vector<bool> clean;

  Contaminated() : xs(NormalSamples(123, 1000, 0.0, 1.0)), times(EvenTimes(1000, kMillisecond)) {
    clean.assign(xs.size(), true);
    for (size_t k = 0; k < outliers.size(); ++k) {
      xs[outliers[k]] = k % 2 == 0 ? 10.0 : -10.0;
      clean[outliers[k]] = false;
    }
  }
};

// Acceptance criterion 8 (update_on_anomaly): with update_on_anomaly true the anomalies are
// still flagged but enter the model (its estimate is the two-pass estimate of every sample);
// with the default (false) the model is that of the clean samples only.
//
// Why all five are flagged in the open model too: after k of them among n >= 200 samples its
// variance is at most 1 + 100 k / n <= 1.5 (sd 1.22), so 10 sigma is still > 8 sd > 4.89.
TEST(AnomalyPolicyEngineTest, UpdateOnAnomalyLetsAnomaliesIntoTheModel) {
  StreamTable table(FreeSampleTimeLimits(), 4, RulesFromText(R"pb(
    rules { name: "open" match: "open" anomaly { update_on_anomaly: true } }
    rules { name: "closed" match: "closed" anomaly { update_on_anomaly: false } }
  )pb"));
  IngestApplier applier(&table);
  const Contaminated data;
  for (const std::string stream : {"open", "closed"}) {
    mled::v1::Ingest ingest;
    ingest.set_return_scores(true);
    AddBatch(&ingest, stream, 1, data.xs, data.times, 0, data.xs.size());
    mled::v1::Ack ack;
    const IngestCounts counts = applier.Apply(ingest, kEpoch, &ack);
    EXPECT_EQ(counts.anomalies, 5u) << stream;
    for (size_t row : data.outliers) EXPECT_TRUE(ack.scores(static_cast<int>(row)).anomaly());
    EXPECT_EQ(applier.anomalies().size(), 5u);
  }
  const mled::v1::Estimate open = EstimateOf(table, "open");
  EXPECT_EQ(open.count(), 1000u);
  EXPECT_EQ(open.anomalies(), 5u);
  ExpectMomentsNear(open, TwoPassReference(data.xs, 1), 1e-12);
  const mled::v1::Estimate closed = EstimateOf(table, "closed");
  EXPECT_EQ(closed.count(), 995u);
  EXPECT_EQ(closed.anomalies(), 5u);
  ExpectMomentsNear(closed, TwoPassReference(data.xs, 1, data.clean), 1e-12);
  EXPECT_GT(open.covariance(0), 1.3 * closed.covariance(0));  // 500 / 1000 more variance
}

// Acceptance criterion 8 (enabled = false): nothing is scored: every RowScore has scored false
// (and zero fields), there are no anomalies or events, the estimate has no last score, and
// every sample, the 10 sigma ones included, is in the model.
TEST(AnomalyPolicyEngineTest, DisabledPolicyScoresNothing) {
  StreamTable table(FreeSampleTimeLimits(), 4, RulesFromText(R"pb(
    rules { name: "off" match: "off/*" anomaly { enabled: false } }
  )pb"));
  IngestApplier applier(&table);
  const Contaminated data;
  mled::v1::Ingest ingest;
  ingest.set_return_scores(true);
  AddBatch(&ingest, "off/scores", 1, data.xs, data.times, 0, data.xs.size());
  mled::v1::Ack ack;
  IngestCounts counts = applier.Apply(ingest, kEpoch, &ack);
  EXPECT_EQ(counts.accepted, 1000u);
  EXPECT_EQ(counts.anomalies, 0u);
  EXPECT_TRUE(applier.anomalies().empty());
  ASSERT_EQ(ack.scores_size(), 1000);
  for (int row = 0; row < 1000; ++row) {
    const mled::v1::RowScore& score = ack.scores(row);
    EXPECT_EQ(score.row(), static_cast<uint32_t>(row));
    EXPECT_FALSE(score.scored());
    EXPECT_FALSE(score.anomaly());
    EXPECT_EQ(score.score(), 0.0);
    EXPECT_EQ(score.threshold(), 0.0);
  }
  // And as single Samples, without scores.
  ingest.Clear();
  for (size_t i = 0; i < data.xs.size(); ++i) {
    AddSample(&ingest, "off/samples", {data.xs[i]}, data.times[i]);
  }
  counts = applier.Apply(ingest, kEpoch, &ack);
  EXPECT_EQ(counts.anomalies, 0u);
  EXPECT_TRUE(applier.anomalies().empty());
  for (const char* stream : {"off/scores", "off/samples"}) {
    const mled::v1::Estimate estimate = EstimateOf(table, stream);
    EXPECT_EQ(estimate.count(), 1000u);
    EXPECT_EQ(estimate.anomalies(), 0u);
    EXPECT_FALSE(estimate.has_last_score());
    EXPECT_FALSE(estimate.has_last_p_value());
    ExpectMomentsNear(estimate, TwoPassReference(data.xs, 1), 1e-12);
  }
}

// Acceptance criterion 11: an abs_z threshold (dim 1) flags |x - mean| / sd > z exactly at the
// boundary, and an nll threshold flags score > T. Each probe goes to its own stream holding the
// same 200 samples (so every probe meets the same model, whose mean and variance the Estimate
// publishes), both as a lone Sample (the univariate fast path, for abs_z) and with
// return_scores (the per-row path). A relative offset of 1e-10 from the boundary moves d2 by
// 2e-10 relative, ~1e5 times more than the rounding of d2 or the tail probability.
TEST(AnomalyPolicyEngineTest, AbsZAndNllThresholdsFlagExactlyBeyondTheBoundary) {
  StreamTable table(FreeSampleTimeLimits(), 4, RulesFromText(R"pb(
    rules { name: "z" match: "z/*" dim: 1 anomaly { abs_z: 4 } }
    rules { name: "nll" match: "nll/*" anomaly { nll: 8 } }
    rules { name: "nll-low" match: "low/*" anomaly { nll: -100 } }
  )pb"));
  IngestApplier applier(&table);
  const std::vector<double> xs = NormalSamples(/*seed=*/808, 200, 10.0, 2.0);
  const std::vector<int64_t> times = EvenTimes(201, kMillisecond);
  constexpr double kOffset = 1e-10;
  int probes = 0;
  for (const char* form : {"z", "nll"}) {
    for (const double sign : {1.0, -1.0}) {
      for (const bool outside : {true, false}) {
        for (const bool scored_path : {true, false}) {
          ++probes;
          const std::string stream =
              absl::StrCat(form, "/", sign > 0 ? "plus" : "minus", outside ? "/out" : "/in",
                           scored_path ? "/scored" : "/fast");
          SCOPED_TRACE(stream);
          mled::v1::Ingest ingest;
          AddBatch(&ingest, stream, 1, xs, times, 0, xs.size());
          mled::v1::Ack ack;
          ASSERT_EQ(applier.Apply(ingest, kEpoch, &ack).anomalies, 0u);
          const mled::v1::Estimate estimate = EstimateOf(table, stream);
          const double mean = estimate.mean(0);
          const double variance = estimate.covariance(0);
          // The boundary in d2: z² for abs_z; for nll the d2 whose score is T = 8 nats.
          const double boundary = std::string(form) == "z"
                                      ? 16.0
                                      : 2 * 8.0 - std::log(2 * std::numbers::pi) -
                                            std::log(variance);
          const double d2 = boundary * (outside ? 1 + kOffset : 1 - kOffset);
          const double x = mean + sign * std::sqrt(d2 * variance);
          ingest.Clear();
          ingest.set_return_scores(scored_path);
          AddSample(&ingest, stream, {x}, times[200]);
          const IngestCounts counts = applier.Apply(ingest, kEpoch, &ack);
          EXPECT_EQ(counts.anomalies, outside ? 1u : 0u);
          EXPECT_EQ(applier.anomalies().size(), outside ? 1u : 0u);
          EXPECT_EQ(EstimateOf(table, stream).anomalies(), outside ? 1u : 0u);
          const double threshold = std::string(form) == "z" ? PlugInNll1(variance, 16.0) : 8.0;
          if (outside) {
            EXPECT_NEAR(applier.anomalies()[0].threshold(), threshold, 1e-12 * threshold);
          }
          if (!scored_path) continue;
          ASSERT_EQ(ack.scores_size(), 1);
          const mled::v1::RowScore& score = ack.scores(0);
          EXPECT_TRUE(score.scored());
          EXPECT_EQ(score.anomaly(), outside);
          EXPECT_NEAR(score.mahalanobis2(), d2, 1e-13 * d2);
          EXPECT_NEAR(score.threshold(), threshold, 1e-12 * threshold);
          EXPECT_NEAR(score.score(), PlugInNll1(variance, d2), 1e-12);
          if (std::string(form) == "nll") {
            EXPECT_EQ(score.score() > 8.0, outside);
          }
        }
      }
    }
  }
  EXPECT_EQ(probes, 16);

  // An NLL threshold below the score at the mode flags every scored sample, never a warm-up one.
  mled::v1::Ingest ingest;
  ingest.set_return_scores(true);
  AddBatch(&ingest, "low/all", 1, xs, times, 0, 40);
  mled::v1::Ack ack;
  EXPECT_EQ(applier.Apply(ingest, kEpoch, &ack).anomalies, 10u);
  for (int row = 0; row < 40; ++row) EXPECT_EQ(ack.scores(row).anomaly(), row >= 30) << row;
}

}  // namespace
}  // namespace mled::engine
