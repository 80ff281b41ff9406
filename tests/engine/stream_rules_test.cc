// Stream rules through the engine: a stream follows the first rule that matches its name (else
// the default rule), its Estimate names the rule and estimator, the rule's anomaly policy judges
// its samples, and a rule's `dim` rejects samples of another dimension before any stream exists.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_table.h"
#include "lib/stats/sample_score.h"
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
using anomaly_test::PlugInNll1;
using anomaly_test::RulesFromText;

constexpr char kRules[] = R"pb(
  rules {
    name: "hot"
    match: "plant/hot/*"
    match: "furnace"
    exponential { half_life: "10s" }
    anomaly { p_value: 1e-3 }
  }
  rules { name: "plant" match: "plant/*" window { length: "1m" buckets: 6 } }
  # Shadowed for plant/hot/* by "hot", which comes first.
  rules { name: "late-hot" match: "plant/hot/*" anomaly { enabled: false } }
  rules { name: "vec3" match: "vec/*" dim: 3 }
  default_rule { name: "fallback" anomaly { warmup: 10 } }
)pb";

// Acceptance criterion 7 (matching): the first matching rule wins, the default rule applies
// otherwise; Estimate.rule and Estimate.estimator reflect the rule; the rule's policy judges
// (threshold p-value and warm-up), and Anomaly.rule names it.
TEST(StreamRulesEngineTest, FirstMatchWinsDefaultOtherwiseAndEstimateNamesTheRule) {
  StreamTable table(EngineLimits(), 4, RulesFromText(kRules));
  IngestApplier applier(&table);
  struct Case {
    std::string stream;
    std::string rule;
    mled::v1::Estimator estimator;
    double p_value;  // the rule's threshold
  };
  const std::vector<Case> cases = {
      {"plant/hot/a", "hot", mled::v1::ESTIMATOR_EXPONENTIAL, 1e-3},
      {"furnace", "hot", mled::v1::ESTIMATOR_EXPONENTIAL, 1e-3},  // its second pattern
      {"plant/cold", "plant", mled::v1::ESTIMATOR_WINDOW, 1e-6},
      {"plant/hot", "plant", mled::v1::ESTIMATOR_WINDOW, 1e-6},  // "plant/hot/*" needs a '/'
      {"plantx", "fallback", mled::v1::ESTIMATOR_CUMULATIVE, 1e-6},
      {"other/deep/name", "fallback", mled::v1::ESTIMATOR_CUMULATIVE, 1e-6},
  };
  // 2000 N(0,1) samples, one per ms: every estimator stands on > 1000 samples.
  constexpr size_t kRows = 2000;
  const std::vector<double> xs = NormalSamples(/*seed=*/9, kRows, 0.0, 1.0);
  const std::vector<int64_t> times = EvenTimes(kRows + 1, kMillisecond);
  mled::v1::Ack ack;
  for (const Case& c : cases) {
    mled::v1::Ingest ingest;
    AddBatch(&ingest, c.stream, 1, xs, times, 0, kRows);
    ASSERT_EQ(applier.Apply(ingest, kEpoch, &ack).accepted, kRows);
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.stream);
    mled::v1::Estimate estimate = EstimateOf(table, c.stream);
    // p_value 1e-3 finds ~2 false alarms among the 2000 samples; 1e-6 almost surely none.
    const uint64_t anomalies_before = estimate.anomalies();
    EXPECT_EQ(estimate.rule(), c.rule);
    EXPECT_EQ(estimate.estimator(), c.estimator);
    // A probe exactly 4 sd from the model's mean: p = P(|Z| > 4) = 6.3e-5, an anomaly under
    // p_value 1e-3 ("hot") and not under 1e-6. It is scored at all only because "hot" shadows
    // "late-hot" (scoring off).
    const double variance = estimate.covariance(0);
    const double x = estimate.mean(0) + 4.0 * std::sqrt(variance);
    mled::v1::Ingest ingest;
    ingest.set_return_scores(true);
    AddSample(&ingest, c.stream, {x}, times[kRows]);
    const IngestCounts counts = applier.Apply(ingest, kEpoch, &ack);
    ASSERT_EQ(ack.scores_size(), 1);
    const mled::v1::RowScore& score = ack.scores(0);
    ASSERT_TRUE(score.scored());
    EXPECT_NEAR(score.mahalanobis2(), 16.0, 1e-9);
    EXPECT_NEAR(score.p_value(), 6.334248366623996e-05, 1e-12);
    const bool anomaly = c.p_value > score.p_value();
    EXPECT_EQ(score.anomaly(), anomaly);
    EXPECT_EQ(counts.anomalies, anomaly ? 1u : 0u);
    // The threshold is the NLL at the rule's p-value (chi2_1 quantiles 10.83 and 23.93).
    const double quantile = stats::ChiSquaredQuantileUpper(1, c.p_value);
    EXPECT_NEAR(quantile, c.p_value == 1e-3 ? 10.827566 : 23.928127, 1e-5);
    EXPECT_NEAR(score.threshold(), PlugInNll1(variance, quantile), 1e-9);
    EXPECT_NEAR(score.score(), PlugInNll1(variance, 16.0), 1e-9);
    ASSERT_EQ(applier.anomalies().size(), anomaly ? 1u : 0u);
    if (anomaly) {
      EXPECT_EQ(applier.anomalies()[0].rule(), c.rule);
    }
    estimate = EstimateOf(table, c.stream);
    EXPECT_EQ(estimate.anomalies(), anomalies_before + (anomaly ? 1u : 0u));
  }

  // Warm-up by rule: "fallback" scores from the 11th sample (warmup 10), "plant" from the 31st.
  for (const auto& [stream, warmup] :
       std::vector<std::pair<std::string, size_t>>{{"fresh", 10}, {"plant/fresh", 30}}) {
    mled::v1::Ingest ingest;
    ingest.set_return_scores(true);
    AddBatch(&ingest, stream, 1, xs, times, 0, 40);
    applier.Apply(ingest, kEpoch, &ack);
    ASSERT_EQ(ack.scores_size(), 40);
    for (int row = 0; row < 40; ++row) {
      EXPECT_EQ(ack.scores(row).scored(), static_cast<size_t>(row) >= warmup)
          << stream << " row " << row;
    }
  }
}

// Acceptance criterion 7 (dimension): a rule with dim: 3 rejects a 1-D first sample (and a 2-D
// batch) with DIMENSION_MISMATCH in the Ack and creates no stream; the rest of the message is
// applied; a 3-D sample then creates the stream.
TEST(StreamRulesEngineTest, RuleDimRejectsMismatchedFirstSampleAndCreatesNoStream) {
  StreamTable table(EngineLimits(), 4, RulesFromText(kRules));
  IngestApplier applier(&table);
  mled::v1::Ingest ingest;
  ingest.set_seq(11);
  AddSample(&ingest, "vec/a", {1.0}, kEpoch);
  AddSample(&ingest, "free", {1.0}, kEpoch);  // valid: applied despite the rejection
  mled::v1::StreamBatch* batch = ingest.add_batches();
  batch->set_stream("vec/b");
  batch->set_dim(2);
  for (double v : {1.0, 2.0, 3.0, 4.0}) batch->add_values(v);
  mled::v1::Ack ack;
  const IngestCounts counts = applier.Apply(ingest, kEpoch, &ack);
  EXPECT_EQ(ack.seq(), 11u);
  EXPECT_EQ(counts.accepted, 1u);
  EXPECT_EQ(counts.rejected, 3u);
  EXPECT_EQ(counts.rejected_by_code[mled::v1::DIMENSION_MISMATCH], 3u);
  ASSERT_EQ(ack.rejections_size(), 2);
  EXPECT_EQ(ack.rejections(0).stream(), "vec/a");
  EXPECT_EQ(ack.rejections(0).code(), mled::v1::DIMENSION_MISMATCH);
  EXPECT_EQ(ack.rejections(0).index(), 0u);
  EXPECT_FALSE(ack.rejections(0).batch());
  EXPECT_EQ(ack.rejections(0).rows(), 1u);
  EXPECT_NE(ack.rejections(0).message().find("vec3"), std::string::npos)
      << ack.rejections(0).message();
  EXPECT_EQ(ack.rejections(1).stream(), "vec/b");
  EXPECT_EQ(ack.rejections(1).code(), mled::v1::DIMENSION_MISMATCH);
  EXPECT_EQ(ack.rejections(1).index(), 0u);
  EXPECT_TRUE(ack.rejections(1).batch());
  EXPECT_EQ(ack.rejections(1).rows(), 2u);
  EXPECT_EQ(table.stream_count(), 1u);  // only "free"
  mled::v1::Estimate estimate;
  EXPECT_FALSE(table.GetEstimate("vec/a", &estimate));
  EXPECT_FALSE(table.GetEstimate("vec/b", &estimate));

  ingest.Clear();
  AddSample(&ingest, "vec/a", {1.0, 2.0, 3.0}, kEpoch + 1);
  EXPECT_EQ(applier.Apply(ingest, kEpoch, &ack).accepted, 1u);
  EXPECT_EQ(table.stream_count(), 2u);
  estimate = EstimateOf(table, "vec/a");
  EXPECT_EQ(estimate.dim(), 3u);
  EXPECT_EQ(estimate.rule(), "vec3");
  // Once it exists, a 1-D sample is still DIMENSION_MISMATCH.
  ingest.Clear();
  AddSample(&ingest, "vec/a", {1.0}, kEpoch + 2);
  applier.Apply(ingest, kEpoch, &ack);
  ASSERT_EQ(ack.rejections_size(), 1);
  EXPECT_EQ(ack.rejections(0).code(), mled::v1::DIMENSION_MISMATCH);
  EXPECT_EQ(EstimateOf(table, "vec/a").count(), 1u);
}

// An abs_z threshold needs a univariate rule: the rules are refused, naming rule and field.
TEST(StreamRulesEngineTest, AbsZWithoutDimOneIsRefused) {
  mled::v1::Config config;
  mled::v1::StreamRule* rule = config.add_rules();
  rule->set_name("z");
  rule->add_match("z/*");
  rule->mutable_anomaly()->set_abs_z(4);
  absl::StatusOr<std::shared_ptr<const StreamRules>> rules =
      StreamRules::FromConfig(config.rules(), config.default_rule(), RuleLimits());
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(rules.status().message().find("abs_z"), absl::string_view::npos);
  EXPECT_NE(rules.status().message().find("\"z\""), absl::string_view::npos);
  rule->set_dim(1);
  EXPECT_TRUE(StreamRules::FromConfig(config.rules(), config.default_rule(), RuleLimits()).ok());
}

}  // namespace
}  // namespace mled::engine
