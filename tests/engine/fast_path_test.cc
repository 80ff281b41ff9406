// The univariate fast path (Stream::ScreenAndAddBlock: a block of rows screened against the
// growing model, the rows under the threshold added as one block) decides exactly what the
// per-row path (score, judge, then add each row) decides.
#include <algorithm>
#include <cmath>
#include <cstdint>
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
using anomaly_test::EvenTimes;
using anomaly_test::EventIndices;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::NormalSamples;
using anomaly_test::RulesFromText;

// Relative difference, 0 for two zeros.
double Relative(double a, double b) {
  const double scale = std::max(std::fabs(a), std::fabs(b));
  return scale == 0 ? 0 : std::fabs(a - b) / scale;
}

// Acceptance criterion 12: the same data fed one Sample per message, as many Samples per
// message, as big StreamBatches (all three through the fast path) and as StreamBatches with
// return_scores (the per-row path) gives the same anomaly positions, counts and (within 1e-12
// relative) the same estimates, under four policies: the default (p 1e-6), p 1e-3 (many
// anomalies, so the screen stops and restarts often), p 1e-3 with the posterior predictive
// score and warm-up 5 (the screen is then only a lower bound), and p 1e-3 with anomalies let
// into the model.
//
// 100,000 N(5, 2²) samples with 30 values injected at 5.5 to 8 sigma. Positions must agree
// exactly: a sample would have to fall within rounding (~1e-15 relative) of the threshold for
// the paths to disagree, which for this seed none does (and for a random one has probability
// ~1e-10).
TEST(FastPathTest, SamplesAndBatchesGiveTheSameAnomaliesAndEstimates) {
  StreamTable table(EngineLimits(), 8, RulesFromText(R"pb(
    rules { name: "p3" match: "p3/*" anomaly { p_value: 1e-3 } }
    rules {
      name: "pp"
      match: "pp/*"
      anomaly { p_value: 1e-3 warmup: 5 posterior_predictive: true }
    }
    rules { name: "upd" match: "upd/*" anomaly { p_value: 1e-3 update_on_anomaly: true } }
  )pb"));
  IngestApplier applier(&table);
  constexpr size_t kRows = 100'000;
  std::vector<double> xs = NormalSamples(/*seed=*/1212, kRows, 5.0, 2.0);
  for (size_t k = 0; k < 30; ++k) {
    const double sigmas = 5.5 + 2.5 * static_cast<double>(k) / 29;
    xs[1000 + 3300 * k] = 5.0 + (k % 3 == 0 ? -2.0 : 2.0) * sigmas;
  }
  const std::vector<int64_t> times = EvenTimes(kRows, kMillisecond);
  mled::v1::Ack ack;

  for (const std::string policy : {"dflt", "p3", "pp", "upd"}) {
    SCOPED_TRACE(policy);
    const std::string single = absl::StrCat(policy, "/single");
    const std::string samples = absl::StrCat(policy, "/samples");
    const std::string batch = absl::StrCat(policy, "/batch");
    const std::string scored = absl::StrCat(policy, "/scored");
    std::vector<mled::v1::Anomaly> single_events, samples_events, batch_events, scored_events;
    std::vector<size_t> flagged;
    auto take = [&](std::vector<mled::v1::Anomaly>* events) {
      for (mled::v1::Anomaly& event : applier.anomalies()) events->push_back(std::move(event));
    };
    mled::v1::Ingest ingest;
    for (size_t i = 0; i < kRows; ++i) {
      ingest.Clear();
      AddSample(&ingest, single, {xs[i]}, times[i]);
      applier.Apply(ingest, kEpoch, &ack);
      take(&single_events);
    }
    for (size_t first = 0; first < kRows; first += 1000) {
      ingest.Clear();
      for (size_t i = first; i < first + 1000; ++i) AddSample(&ingest, samples, {xs[i]}, times[i]);
      applier.Apply(ingest, kEpoch, &ack);
      take(&samples_events);
    }
    for (size_t first = 0; first < kRows; first += 5000) {
      ingest.Clear();
      AddBatch(&ingest, batch, 1, xs, times, first, 5000);
      applier.Apply(ingest, kEpoch, &ack);
      take(&batch_events);
    }
    for (size_t first = 0; first < kRows; first += 1000) {
      ingest.Clear();
      ingest.set_return_scores(true);
      AddBatch(&ingest, scored, 1, xs, times, first, 1000);
      applier.Apply(ingest, kEpoch, &ack);
      take(&scored_events);
      for (const mled::v1::RowScore& score : ack.scores()) {
        if (score.anomaly()) flagged.push_back(first + score.row());
      }
    }

    // Every injected value is found; p 1e-3 adds ~100 false alarms, 1e-6 none or few.
    EXPECT_GE(flagged.size(), 30u);
    EXPECT_EQ(EventIndices(scored_events, scored, kEpoch, kMillisecond), flagged);
    EXPECT_EQ(EventIndices(single_events, single, kEpoch, kMillisecond), flagged);
    EXPECT_EQ(EventIndices(samples_events, samples, kEpoch, kMillisecond), flagged);
    EXPECT_EQ(EventIndices(batch_events, batch, kEpoch, kMillisecond), flagged);
    // The events' scores agree too (their models agree to rounding).
    for (size_t k = 0; k < std::min(flagged.size(), batch_events.size()); ++k) {
      EXPECT_LT(Relative(batch_events[k].score(), scored_events[k].score()), 1e-9);
      EXPECT_LT(Relative(single_events[k].p_value(), scored_events[k].p_value()), 1e-6);
      EXPECT_EQ(single_events[k].effective_count(), scored_events[k].effective_count());
    }

    const mled::v1::Estimate reference = EstimateOf(table, scored);
    EXPECT_EQ(reference.anomalies(), flagged.size());
    EXPECT_EQ(reference.count(), policy == "upd" ? kRows : kRows - flagged.size());
    for (const std::string& stream : {single, samples, batch}) {
      SCOPED_TRACE(stream);
      const mled::v1::Estimate estimate = EstimateOf(table, stream);
      EXPECT_EQ(estimate.count(), reference.count());
      EXPECT_EQ(estimate.anomalies(), reference.anomalies());
      EXPECT_EQ(estimate.last_time_unix_nano(), reference.last_time_unix_nano());
      EXPECT_LT(Relative(estimate.mean(0), reference.mean(0)), 1e-12);
      EXPECT_LT(Relative(estimate.covariance(0), reference.covariance(0)), 1e-12);
      ASSERT_TRUE(estimate.has_nll());
      EXPECT_LT(Relative(estimate.nll(), reference.nll()), 1e-12);
      ASSERT_TRUE(estimate.has_last_score());
      EXPECT_LT(Relative(estimate.last_score(), reference.last_score()), 1e-9);
      EXPECT_LT(Relative(estimate.last_p_value(), reference.last_p_value()), 1e-9);
    }
  }
}

}  // namespace
}  // namespace mled::engine
