// Ack.scores (Ingest.return_scores): one RowScore per accepted row, in message order (samples,
// then each batch's rows, numbered as in the batch), none for rejected rows or entries, across
// shards; and each score's fields are the mathematics of DESIGN.md against the model as it
// stood before the row: d2, s(x) = 0.5 (D log 2pi + log|Sigma| + d2), p = P(chi2_D > d2), the
// threshold's NLL, recomputed here in long double from the raw samples.
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
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
using anomaly_test::EvenTimes;
using anomaly_test::kEpoch;
using anomaly_test::kMillisecond;
using anomaly_test::kSecond;
using anomaly_test::NormalSamples;
using anomaly_test::Reference;
using anomaly_test::TwoPassReference;

constexpr double kChi2At1e6Dof1 = 23.92812697693;  // P(chi2_1 > q) = 1e-6
constexpr double kChi2At1e6Dof2 = 27.63102111593;  // P(chi2_2 > q) = 1e-6: -2 log 1e-6

struct Expected {
  double mahalanobis2;
  double score;
  double p_value;
  double threshold;
};

// The score of x against the MLE of `rows` (dim 1 or 2), from a long double two-pass fit.
Expected ExpectedScore(const std::vector<double>& rows, int dim, const std::vector<double>& x) {
  const Reference fit = TwoPassReference(rows, dim);
  long double d2 = 0, log_det = 0;
  if (dim == 1) {
    const long double delta = x[0] - fit.mean[0];
    d2 = delta * delta / fit.covariance[0];
    log_det = std::log(fit.covariance[0]);
  } else {
    const long double a = fit.covariance[0], b = fit.covariance[1], d = fit.covariance[3];
    const long double det = a * d - b * b;
    const long double u = x[0] - fit.mean[0], v = x[1] - fit.mean[1];
    d2 = (d * u * u - 2 * b * u * v + a * v * v) / det;
    log_det = std::log(det);
  }
  const long double log_2pi = std::log(2 * std::numbers::pi_v<long double>);
  const double q = dim == 1 ? kChi2At1e6Dof1 : kChi2At1e6Dof2;
  return Expected{
      .mahalanobis2 = static_cast<double>(d2),
      .score = static_cast<double>(0.5L * (dim * log_2pi + log_det + d2)),
      .p_value = static_cast<double>(dim == 1 ? std::erfc(std::sqrt(d2 / 2)) : std::exp(-d2 / 2)),
      .threshold = static_cast<double>(0.5L * (dim * log_2pi + log_det + q)),
  };
}

TEST(RowScoresTest, OneScorePerAcceptedRowInMessageOrderWithTheModelsScores) {
  StreamTable table(EngineLimits(), 8);  // default policy: p 1e-6, warm-up 30
  IngestApplier applier(&table);
  // Models to score against: "rs/a" (1-D) and "rs/b" (2-D), 100 rows each.
  std::vector<double> a_rows = NormalSamples(1, 100, 3.0, 0.5);
  std::vector<double> b_rows = NormalSamples(2, 200, -1.0, 2.0);
  for (size_t r = 0; r < 100; ++r) b_rows[2 * r + 1] += 0.7 * b_rows[2 * r];  // correlated
  const std::vector<int64_t> times = EvenTimes(100, kMillisecond);
  mled::v1::Ingest ingest;
  AddBatch(&ingest, "rs/a", 1, a_rows, times, 0, 100);
  AddBatch(&ingest, "rs/b", 2, b_rows, times, 0, 100);
  mled::v1::Ack ack;
  ASSERT_EQ(applier.Apply(ingest, kEpoch, &ack).accepted, 200u);
  EXPECT_EQ(ack.scores_size(), 0);  // not asked

  ingest.Clear();
  ingest.set_return_scores(true);
  const int64_t t = kEpoch + kSecond;
  AddSample(&ingest, "rs/a", {3.4}, t);                   // samples[0]
  AddSample(&ingest, "rs/b", {0.0, 1.0}, t);              // samples[1]
  AddSample(&ingest, "rs/a", {std::nan("")}, t);          // samples[2]: INVALID_ARGUMENT
  AddSample(&ingest, "rs/a", {1.0, 2.0}, t);              // samples[3]: DIMENSION_MISMATCH
  AddSample(&ingest, "rs/new", {7.0}, t);                 // samples[4]: a new stream
  mled::v1::StreamBatch* batch = ingest.add_batches();    // batches[0]: row 2 invalid
  batch->set_stream("rs/a");
  for (double v : {2.9, 3.1, std::numeric_limits<double>::infinity(), 2.0, 10.0}) {
    batch->add_values(v);
  }
  batch = ingest.add_batches();  // batches[1]: 2-D, 2 rows
  batch->set_stream("rs/b");
  batch->set_dim(2);
  for (double v : {-1.0, -1.5, 1.0, 3.0}) batch->add_values(v);
  batch = ingest.add_batches();  // batches[2]: malformed, rejected whole
  batch->set_stream("rs/a");
  batch->set_dim(2);
  for (double v : {1.0, 2.0, 3.0}) batch->add_values(v);
  const IngestCounts counts = applier.Apply(ingest, t, &ack);
  EXPECT_EQ(counts.accepted, 9u);
  EXPECT_EQ(counts.rejected, 1u + 1u + 1u + 2u);
  ASSERT_EQ(ack.scores_size(), 9);

  struct Where {
    bool batch;
    uint32_t index;
    uint32_t row;
  };
  const std::vector<Where> order = {{false, 0, 0}, {false, 1, 0}, {false, 4, 0},
                                    {true, 0, 0},  {true, 0, 1},  {true, 0, 3},
                                    {true, 0, 4},  {true, 1, 0},  {true, 1, 1}};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(ack.scores(i).batch(), order[i].batch) << i;
    EXPECT_EQ(ack.scores(i).index(), order[i].index) << i;
    EXPECT_EQ(ack.scores(i).row(), order[i].row) << i;
  }

  // The values: each row against every earlier accepted, non-anomalous row of its stream
  // (message order within a stream). 10.0 (batches[0] row 4) is 14 sd out: an anomaly.
  auto check = [&](int i, std::vector<double>& model, int dim, std::vector<double> x,
                   bool anomaly) {
    SCOPED_TRACE(i);
    const mled::v1::RowScore& score = ack.scores(i);
    const Expected expected = ExpectedScore(model, dim, x);
    ASSERT_TRUE(score.scored());
    EXPECT_NEAR(score.mahalanobis2(), expected.mahalanobis2, 1e-10 * (1 + expected.mahalanobis2));
    EXPECT_NEAR(score.score(), expected.score, 1e-10 * (1 + std::fabs(expected.score)));
    EXPECT_NEAR(score.p_value(), expected.p_value, 1e-10 * expected.p_value + 1e-300);
    EXPECT_NEAR(score.threshold(), expected.threshold, 1e-8);
    EXPECT_EQ(score.anomaly(), anomaly);
    if (!anomaly) model.insert(model.end(), x.begin(), x.end());
  };
  check(0, a_rows, 1, {3.4}, false);
  check(1, b_rows, 2, {0.0, 1.0}, false);
  EXPECT_FALSE(ack.scores(2).scored());  // rs/new: its first sample
  check(3, a_rows, 1, {2.9}, false);
  check(4, a_rows, 1, {3.1}, false);
  check(5, a_rows, 1, {2.0}, false);
  check(6, a_rows, 1, {10.0}, true);
  check(7, b_rows, 2, {-1.0, -1.5}, false);
  check(8, b_rows, 2, {1.0, 3.0}, false);
  EXPECT_EQ(counts.anomalies, 1u);
  ASSERT_EQ(applier.anomalies().size(), 1u);
  EXPECT_EQ(applier.anomalies()[0].x(0), 10.0);
}

}  // namespace
}  // namespace mled::engine
