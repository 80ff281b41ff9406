// Reset and rules reload through the engine: StreamTable::Reset removes streams by exact name
// or glob (they start afresh, possibly with another dimension), and StreamTable::ReplaceRules
// keeps, resets or removes each stream by what its new rule changes.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_matcher.h"
#include "lib/engine/stream_table.h"
#include "tests/engine/anomaly_test_util.h"

namespace mled::engine {
namespace {

using anomaly_test::AddBatch;
using anomaly_test::AddSample;
using anomaly_test::EstimateOf;
using anomaly_test::EvenTimes;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::NormalSamples;
using anomaly_test::RulesFromText;

class ResetAndReloadTest : public ::testing::Test {
 protected:
  // `rows` N(0,1) rows of `dim` values to `stream` in one batch, times from kEpoch + offset.
  IngestCounts Fill(StreamTable& table, const std::string& stream, uint32_t dim, size_t rows,
                    uint64_t seed, bool return_scores = false) {
    IngestApplier applier(&table);
    const std::vector<double> values = NormalSamples(seed, rows * dim, 0.0, 1.0);
    const std::vector<int64_t> times = EvenTimes(rows, kMillisecond, kEpoch + clock_);
    clock_ += static_cast<int64_t>(rows) * kMillisecond;
    mled::v1::Ingest ingest;
    ingest.set_return_scores(return_scores);
    AddBatch(&ingest, stream, dim, values, times, 0, rows);
    const IngestCounts counts = applier.Apply(ingest, kEpoch, &ack_);
    EXPECT_EQ(counts.accepted, rows) << stream;
    return counts;
  }

  // One sample, its RowScore in ack_.
  IngestCounts Probe(StreamTable& table, const std::string& stream,
                     std::initializer_list<double> x) {
    IngestApplier applier(&table);
    mled::v1::Ingest ingest;
    ingest.set_return_scores(true);
    AddSample(&ingest, stream, x, kEpoch + clock_);
    clock_ += kMillisecond;
    return applier.Apply(ingest, kEpoch, &ack_);
  }

  static uint64_t Reset(StreamTable& table, std::vector<std::string> patterns) {
    return table.Reset(StreamMatcher(patterns));
  }

  int64_t clock_ = 0;
  mled::v1::Ack ack_;
};

// Acceptance criterion 10: Reset by exact names and by globs removes the streams (the count is
// returned, stream_count drops); a removed stream's next sample starts it afresh (count 1, no
// anomalies, warm-up again), with another dimension if it comes with one.
TEST_F(ResetAndReloadTest, ResetRemovesExactNamesAndGlobsAndStreamsStartAfresh) {
  StreamTable table(EngineLimits(), 8);  // several shards: exact names are looked up by shard
  for (const char* stream : {"a/1", "a/2", "a/3/x", "b/1", "c"}) Fill(table, stream, 1, 100, 1);
  Fill(table, "v", 2, 100, 2);
  // An anomaly on "a/1", so that its counter has something to lose.
  EXPECT_EQ(Probe(table, "a/1", {1e3}).anomalies, 1u);
  EXPECT_EQ(EstimateOf(table, "a/1").anomalies(), 1u);
  ASSERT_EQ(table.stream_count(), 6u);

  EXPECT_EQ(Reset(table, {"c"}), 1u);
  EXPECT_EQ(table.stream_count(), 5u);
  mled::v1::Estimate estimate;
  EXPECT_FALSE(table.GetEstimate("c", &estimate));
  EXPECT_EQ(Reset(table, {"nope", "c"}), 0u);  // unknown and already removed names
  EXPECT_EQ(table.stream_count(), 5u);
  EXPECT_EQ(Reset(table, {"a/*"}), 3u);  // `*` matches `/` too: a/3/x goes
  EXPECT_EQ(table.stream_count(), 2u);
  EXPECT_EQ(Reset(table, {"b/1", "zz*"}), 1u);  // a name and a glob together
  EXPECT_EQ(table.stream_count(), 1u);
  EXPECT_TRUE(table.GetEstimate("v", &estimate));
  for (const char* stream : {"a/1", "a/2", "a/3/x", "b/1", "c"}) {
    EXPECT_FALSE(table.GetEstimate(stream, &estimate)) << stream;
  }

  // "c" comes back with three values per sample.
  IngestApplier applier(&table);
  mled::v1::Ingest ingest;
  AddSample(&ingest, "c", {1.0, 2.0, 3.0}, kEpoch + clock_);
  EXPECT_EQ(applier.Apply(ingest, kEpoch, &ack_).accepted, 1u);
  estimate = EstimateOf(table, "c");
  EXPECT_EQ(estimate.dim(), 3u);
  EXPECT_EQ(estimate.count(), 1u);
  EXPECT_EQ(table.stream_count(), 2u);
  // "a/1" starts afresh: no anomalies, no last score, and 30 samples of warm-up again.
  Fill(table, "a/1", 1, 31, 3, /*return_scores=*/true);
  ASSERT_EQ(ack_.scores_size(), 31);
  for (int row = 0; row < 30; ++row) EXPECT_FALSE(ack_.scores(row).scored()) << row;
  EXPECT_TRUE(ack_.scores(30).scored());
  estimate = EstimateOf(table, "a/1");
  EXPECT_EQ(estimate.count(), 31u);
  EXPECT_EQ(estimate.anomalies(), 0u);

  EXPECT_EQ(Reset(table, {"*"}), 3u);
  EXPECT_EQ(table.stream_count(), 0u);
}

// Acceptance criterion 7 (reload): ReplaceRules keeps the state of streams whose estimator and
// dimension did not change (count and anomaly counter preserved; the new policy, here a looser
// p-value, judges the next sample); resets those whose estimator changed, including a window of
// another length; removes those whose new rule expects another dimension; and reports each in
// RulesReload.
TEST_F(ResetAndReloadTest, ReplaceRulesKeepsResetsAndRemoves) {
  StreamTable table(EngineLimits(), 4, RulesFromText(R"pb(
    rules { name: "keep" match: "keep/*" anomaly { p_value: 1e-6 } }
    rules { name: "swap" match: "swap/*" }
    rules { name: "win" match: "win/*" window { length: "10s" } }
    rules { name: "shape" match: "shape/*" }
    default_rule { name: "dflt" }
  )pb"));
  Fill(table, "keep/a", 1, 1000, 10);
  EXPECT_EQ(Probe(table, "keep/a", {1e3}).anomalies, 1u);  // kept out of the model
  Fill(table, "keep/b", 1, 100, 11);
  Fill(table, "swap/a", 1, 100, 12);
  Fill(table, "win/a", 1, 100, 13);
  Fill(table, "shape/one", 1, 100, 14);
  Fill(table, "shape/two", 2, 100, 15);
  Fill(table, "other", 1, 100, 16);
  ASSERT_EQ(table.stream_count(), 7u);

  // A sample 3 sd out (p = 2.7e-3) is no anomaly under p_value 1e-6.
  mled::v1::Estimate keep = EstimateOf(table, "keep/a");
  const double three_sd = keep.mean(0) + 3.0 * std::sqrt(keep.covariance(0));
  EXPECT_EQ(Probe(table, "keep/a", {three_sd}).anomalies, 0u);
  ASSERT_EQ(ack_.scores_size(), 1);
  EXPECT_NEAR(ack_.scores(0).p_value(), 2.7e-3, 1e-4);
  keep = EstimateOf(table, "keep/a");
  EXPECT_EQ(keep.count(), 1001u);
  EXPECT_EQ(keep.anomalies(), 1u);
  const double old_threshold = ack_.scores(0).threshold();

  const std::shared_ptr<const StreamRules> reloaded = RulesFromText(R"pb(
    rules { name: "keep-loose" match: "keep/*" anomaly { p_value: 1e-2 } }
    rules { name: "swap-exp" match: "swap/*" exponential { half_life: "1m" } }
    rules { name: "win" match: "win/*" window { length: "20s" } }
    rules { name: "shape-2d" match: "shape/*" dim: 2 }
    default_rule { name: "dflt" }
  )pb");
  const RulesReload reload = table.ReplaceRules(reloaded);
  EXPECT_EQ(reload.kept, 4u);     // keep/a, keep/b, shape/two, other
  EXPECT_EQ(reload.reset, 2u);    // swap/a (cumulative -> exponential), win/a (10s -> 20s)
  EXPECT_EQ(reload.removed, 1u);  // shape/one (1-D, the rule now says 2)
  EXPECT_EQ(table.stream_count(), 6u);
  EXPECT_EQ(table.rules(), reloaded);

  // Kept: same count and anomaly counter, the new rule's name, and its p-value judges.
  mled::v1::Estimate estimate = EstimateOf(table, "keep/a");
  EXPECT_EQ(estimate.count(), 1001u);
  EXPECT_EQ(estimate.anomalies(), 1u);
  EXPECT_EQ(estimate.rule(), "keep-loose");
  EXPECT_EQ(estimate.mean(0), keep.mean(0));
  EXPECT_EQ(estimate.covariance(0), keep.covariance(0));
  const double new_three_sd = estimate.mean(0) + 3.0 * std::sqrt(estimate.covariance(0));
  EXPECT_EQ(Probe(table, "keep/a", {new_three_sd}).anomalies, 1u);
  ASSERT_EQ(ack_.scores_size(), 1);
  EXPECT_TRUE(ack_.scores(0).anomaly());
  EXPECT_LT(ack_.scores(0).threshold(), old_threshold);  // p 1e-2 is a lower NLL than 1e-6
  ASSERT_EQ(ack_.scores_size(), 1);
  EXPECT_EQ(EstimateOf(table, "keep/a").anomalies(), 2u);
  EXPECT_EQ(EstimateOf(table, "keep/b").count(), 100u);
  estimate = EstimateOf(table, "shape/two");
  EXPECT_EQ(estimate.count(), 100u);
  EXPECT_EQ(estimate.rule(), "shape-2d");
  EXPECT_EQ(EstimateOf(table, "other").count(), 100u);

  // Reset: empty under the new estimator.
  estimate = EstimateOf(table, "swap/a");
  EXPECT_EQ(estimate.count(), 0u);
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_EQ(estimate.rule(), "swap-exp");
  EXPECT_EQ(estimate.anomalies(), 0u);
  EXPECT_FALSE(estimate.has_last_score());
  Probe(table, "swap/a", {5.0});
  EXPECT_EQ(EstimateOf(table, "swap/a").count(), 1u);
  estimate = EstimateOf(table, "win/a");
  EXPECT_EQ(estimate.count(), 0u);
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_WINDOW);

  // Removed: gone; it comes back only with the new rule's dimension.
  EXPECT_FALSE(table.GetEstimate("shape/one", &estimate));
  Probe(table, "shape/one", {1.0});
  ASSERT_EQ(ack_.rejections_size(), 1);
  EXPECT_EQ(ack_.rejections(0).code(), mled::v1::DIMENSION_MISMATCH);
  EXPECT_FALSE(table.GetEstimate("shape/one", &estimate));
  Probe(table, "shape/one", {1.0, 2.0});
  EXPECT_EQ(ack_.rejections_size(), 0);
  EXPECT_EQ(EstimateOf(table, "shape/one").dim(), 2u);

  // Reloading the same rules again keeps everything.
  const RulesReload again = table.ReplaceRules(RulesFromText(R"pb(
    rules { name: "keep-loose" match: "keep/*" anomaly { p_value: 1e-2 } }
    rules { name: "swap-exp" match: "swap/*" exponential { half_life: "1m" } }
    rules { name: "win" match: "win/*" window { length: "20s" } }
    rules { name: "shape-2d" match: "shape/*" dim: 2 }
    default_rule { name: "dflt" }
  )pb"));
  EXPECT_EQ(again.kept, table.stream_count());
  EXPECT_EQ(again.reset, 0u);
  EXPECT_EQ(again.removed, 0u);
}

}  // namespace
}  // namespace mled::engine
