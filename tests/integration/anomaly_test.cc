// Anomaly scoring against the real daemon: Anomaly events go to the matching anomaly
// subscriptions at once (not at the next publish tick), once per connection, over TCP and UDP
// ingest; Query shows each stream's scoring fields (anomalies, last_score, last_p_value,
// estimator, rule, effective_count); Ingest.return_scores lists one RowScore per accepted row in
// message order; `mlectl send --scores` prints them.
//
// Scores are checked against an independent computation from the long double reference: with the
// default (plug-in) policy a sample x scored against the N samples before it has
//   d² = (x - μ̂)² / σ̂²,  s(x) = ½ (log 2π + log σ̂² + d²),  p = P(χ²₁ > d²) = erfc(√(d²/2)).
#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

// The daemon's default anomaly policy: p < 1e-6 after 30 samples.
constexpr double kDefaultPValue = 1e-6;
constexpr int kDefaultWarmup = 30;
// A sample this many standard deviations out is an anomaly under any sane policy.
constexpr double kOutlier = 50.0;

// n samples of N(0, 1), the same for the same seed.
std::vector<double> StandardNormal(uint64_t seed, size_t n) {
  return GaussianRows(seed, n, /*dim=*/1, /*offset=*/0.0, /*scale=*/1.0);
}

// The plug-in score of `x` under the univariate MLE of `before`.
struct ExpectedScore {
  double mahalanobis2;
  double score;
  double p_value;
};
ExpectedScore PlugInScore(const std::vector<double>& before, double x) {
  const Reference reference = TwoPassReference(before, 1);
  const long double variance = reference.covariance[0];
  const long double d = static_cast<long double>(x) - reference.mean[0];
  const long double d2 = d * d / variance;
  const long double two_pi = 2.0L * std::numbers::pi_v<long double>;
  return ExpectedScore{
      .mahalanobis2 = static_cast<double>(d2),
      .score = static_cast<double>(0.5L * (std::log(two_pi) + std::log(variance) + d2)),
      .p_value = static_cast<double>(std::erfc(std::sqrt(d2 / 2.0L)))};
}

// |a - b| <= tol · max(|b|, 1).
testing::AssertionResult Near(double a, double b, double tol) {
  if (std::fabs(a - b) <= tol * std::max(std::fabs(b), 1.0)) return testing::AssertionSuccess();
  return testing::AssertionFailure() << a << " vs expected " << b << " (tolerance " << tol << ")";
}

mled::v1::Ingest OneSample(uint64_t seq, const std::string& stream, double x) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  *ingest.add_samples() = MakeSample(stream, {x});
  return ingest;
}

// How many of `messages` are Anomaly events.
int AnomalyCount(const std::vector<mled::v1::ServerMessage>& messages) {
  int count = 0;
  for (const mled::v1::ServerMessage& message : messages) count += message.has_anomaly() ? 1 : 0;
  return count;
}

TEST(AnomalyTest, PublishedAtOnceToMatchingAnomalySubscriptionsOncePerConnection) {
  // A 60 s publish interval: no tick happens during the test, so whatever arrives was sent at once.
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<DaemonProcess> daemon,
      DaemonProcess::Start({"--publish_interval=60s", "--default_rule=name: \"gauss\""}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> watcher, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> plain, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> elsewhere, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> everything, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> producer, Connect(daemon->tcp_address()));
  // Two matching anomaly subscriptions on one connection: the event still comes once.
  ASSERT_OK(SubscribeAndSync(*watcher, {"an/*"}, 0, /*anomalies=*/true));
  ASSERT_OK(SubscribeAndSync(*watcher, {"an/x*"}, 0, /*anomalies=*/true));
  // Matching, but without anomalies=true.
  ASSERT_OK(SubscribeAndSync(*plain, {"an/*"}, 0, /*anomalies=*/false));
  // Anomalies, but a glob that does not match.
  ASSERT_OK(SubscribeAndSync(*elsewhere, {"other/*", "an/y"}, 0, /*anomalies=*/true));
  // No streams named: every stream.
  ASSERT_OK(SubscribeAndSync(*everything, {}, 0, /*anomalies=*/true));

  const std::vector<double> normal = StandardNormal(1, 100);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack warm, IngestBatch(*producer, 1, "an/x", 1, normal));
  ASSERT_EQ(warm.accepted(), 100u) << warm.ShortDebugString();
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate before, QueryStream(*producer, "an/x"));
  ASSERT_EQ(before.anomalies(), 0u) << "the N(0,1) warm-up data itself raised anomalies";

  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack,
                       IngestAndWaitAck(*producer, OneSample(2, "an/x", kOutlier)));
  ASSERT_EQ(ack.accepted(), 1u) << ack.ShortDebugString();

  // Well within kWait, far before the first tick at 60 s.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Anomaly anomaly, WaitForAnomaly(*watcher));
  EXPECT_EQ(anomaly.stream(), "an/x");
  ASSERT_EQ(anomaly.x_size(), 1);
  EXPECT_EQ(anomaly.x(0), kOutlier);
  EXPECT_GT(anomaly.time_unix_nano(), 0);
  EXPECT_EQ(anomaly.rule(), "gauss");
  EXPECT_GT(anomaly.score(), anomaly.threshold());
  EXPECT_TRUE(std::isfinite(anomaly.score()) && std::isfinite(anomaly.threshold()));
  EXPECT_LT(anomaly.p_value(), kDefaultPValue);
  EXPECT_GE(anomaly.p_value(), 0.0);
  EXPECT_EQ(anomaly.suppressed(), 0u);
  EXPECT_EQ(anomaly.effective_count(), 100.0);
  const Reference reference = TwoPassReference(normal, 1);
  ASSERT_EQ(anomaly.mean_size(), 1);
  EXPECT_TRUE(Near(anomaly.mean(0), static_cast<double>(reference.mean[0]), 1e-12));
  const ExpectedScore expected = PlugInScore(normal, kOutlier);
  EXPECT_TRUE(Near(anomaly.mahalanobis2(), expected.mahalanobis2, 1e-9));
  EXPECT_TRUE(Near(anomaly.score(), expected.score, 1e-9));

  ASSERT_OK_AND_ASSIGN(const mled::v1::Anomaly for_all, WaitForAnomaly(*everything));
  EXPECT_EQ(for_all.stream(), "an/x");
  EXPECT_EQ(for_all.score(), anomaly.score());

  // Exactly once on the watcher's connection; never on the others. Each connection's strand
  // runs what was posted to it in order, and the Ack above came after the event was posted,
  // so a barrier on each connection shows everything it was sent.
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> more,
                       DrainUntilBarrier(*watcher));
  EXPECT_EQ(AnomalyCount(more), 0) << "the Anomaly came more than once on one connection";
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> at_plain,
                       DrainUntilBarrier(*plain));
  EXPECT_EQ(AnomalyCount(at_plain), 0) << "a subscription without anomalies=true got one";
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> at_elsewhere,
                       DrainUntilBarrier(*elsewhere));
  EXPECT_EQ(AnomalyCount(at_elsewhere), 0) << "a subscription whose globs do not match got one";

  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*producer));
  EXPECT_EQ(stats.anomalies(), 1u);
  EXPECT_EQ(stats.anomaly_events_sent(), 2u);  // watcher and everything
  EXPECT_EQ(stats.publish_ticks(), 0u) << "a publish tick happened: the test proves nothing";
}

TEST(AnomalyTest, UdpIngestPublishesAnomalies) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({"--publish_interval=60s"}));
  ASSERT_FALSE(daemon->udp_address().empty());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> watcher, Connect(daemon->tcp_address()));
  ASSERT_OK(SubscribeAndSync(*watcher, {"udp/*"}, 0, /*anomalies=*/true));

  mled::v1::Ingest warm;
  *warm.add_batches() = MakeBatch("udp/x", 1, StandardNormal(2, 100));
  ASSERT_OK(SendDatagram(daemon->udp_address(), warm.SerializeAsString()));
  // Datagrams carry no ack: wait until the warm-up is applied before sending the outlier.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> querier, Connect(daemon->tcp_address()));
  ASSERT_OK(PollQuery(*querier, {"udp/x"}, [](const mled::v1::Estimates& answer) {
              return answer.estimates_size() == 1 && answer.estimates(0).count() == 100;
            }).status());

  mled::v1::Ingest outlier;
  *outlier.add_samples() = MakeSample("udp/x", {-kOutlier});
  ASSERT_OK(SendDatagram(daemon->udp_address(), outlier.SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Anomaly anomaly, WaitForAnomaly(*watcher));
  EXPECT_EQ(anomaly.stream(), "udp/x");
  ASSERT_EQ(anomaly.x_size(), 1);
  EXPECT_EQ(anomaly.x(0), -kOutlier);
  EXPECT_LT(anomaly.p_value(), kDefaultPValue);
  EXPECT_GT(anomaly.score(), anomaly.threshold());
  EXPECT_EQ(anomaly.rule(), "default");

  // The UDP thread counts the event after handing it to the session, so the watcher can see
  // it a moment before the counter moves: poll.
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*querier, [](const mled::v1::DaemonStats& s) {
                         return s.anomaly_events_sent() >= 1;
                       }));
  EXPECT_EQ(stats.samples_accepted_udp(), 101u);
  EXPECT_EQ(stats.anomalies(), 1u);
  EXPECT_EQ(stats.anomaly_events_sent(), 1u);
}

TEST(AnomalyTest, QueryShowsScoringFieldsOfEachEstimator) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({"--default_rule=name: \"gauss\"",
                                             "--rules=rules { name: \"decay\" match: \"exp/*\" "
                                             "exponential { half_life: \"1h\" } } "
                                             "rules { name: \"recent\" match: \"win/*\" "
                                             "window { length: \"1h\" buckets: 6 } }"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));

  // Cumulative, still warming up: no score yet.
  const std::vector<double> values = StandardNormal(3, 40);
  ASSERT_OK(IngestBatch(*client, 1, "cum/a", 1, {values.begin(), values.begin() + 20}).status());
  ASSERT_OK_AND_ASSIGN(mled::v1::Estimate estimate, QueryStream(*client, "cum/a"));
  EXPECT_EQ(estimate.count(), 20u);
  EXPECT_EQ(estimate.anomalies(), 0u);
  EXPECT_FALSE(estimate.has_last_score()) << estimate.ShortDebugString();
  EXPECT_FALSE(estimate.has_last_p_value()) << estimate.ShortDebugString();
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_CUMULATIVE);
  EXPECT_EQ(estimate.rule(), "gauss");
  EXPECT_EQ(estimate.effective_count(), 20.0);

  // Past the warm-up: the latest sample's score and p-value, against the 39 samples before it.
  ASSERT_OK(IngestBatch(*client, 2, "cum/a", 1, {values.begin() + 20, values.end()}).status());
  ASSERT_OK_AND_ASSIGN(estimate, QueryStream(*client, "cum/a"));
  EXPECT_EQ(estimate.count(), 40u);
  EXPECT_EQ(estimate.anomalies(), 0u);
  ASSERT_TRUE(estimate.has_last_score() && estimate.has_last_p_value())
      << estimate.ShortDebugString();
  const ExpectedScore last = PlugInScore({values.begin(), values.end() - 1}, values.back());
  EXPECT_TRUE(Near(estimate.last_score(), last.score, 1e-9));
  EXPECT_TRUE(Near(estimate.last_p_value(), last.p_value, 1e-9));
  EXPECT_TRUE(EstimateMatches(estimate, TwoPassReference(values, 1), 1e-12));

  // An outlier: counted, kept out of the model (update_on_anomaly is off by default).
  ASSERT_OK(IngestAndWaitAck(*client, OneSample(3, "cum/a", kOutlier)).status());
  ASSERT_OK_AND_ASSIGN(estimate, QueryStream(*client, "cum/a"));
  EXPECT_EQ(estimate.anomalies(), 1u);
  EXPECT_EQ(estimate.count(), 40u);
  EXPECT_EQ(estimate.effective_count(), 40.0);
  EXPECT_LT(estimate.last_p_value(), kDefaultPValue);
  EXPECT_TRUE(Near(estimate.last_score(), PlugInScore(values, kOutlier).score, 1e-9));

  // Exponential: ten samples one half-life apart weigh 2^-9 .. 1 (relative to the newest), so
  // the model stands on Kish's (Σw)² / Σw² of them.
  constexpr int64_t kStart = 1'700'000'000'000'000'000;
  constexpr int64_t kHour = 3'600'000'000'000;
  std::vector<int64_t> times;
  long double sum_w = 0;
  long double sum_w2 = 0;
  for (int i = 0; i < 10; ++i) {
    times.push_back(kStart + i * kHour);
    const long double w = std::ldexp(1.0L, i - 9);
    sum_w += w;
    sum_w2 += w * w;
  }
  mled::v1::Ingest timed;
  timed.set_seq(4);
  *timed.add_batches() = MakeBatch("exp/a", 1, StandardNormal(4, 10), times);
  ASSERT_OK(IngestAndWaitAck(*client, timed).status());
  ASSERT_OK_AND_ASSIGN(estimate, QueryStream(*client, "exp/a"));
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_EQ(estimate.rule(), "decay");
  EXPECT_EQ(estimate.count(), 10u);
  EXPECT_TRUE(Near(estimate.effective_count(), static_cast<double>(sum_w * sum_w / sum_w2), 1e-12));
  EXPECT_EQ(estimate.last_time_unix_nano(), times.back());
  EXPECT_FALSE(estimate.has_last_score()) << "scored below the warm-up";

  // Window: every sample at receipt time, all inside the hour.
  ASSERT_OK(IngestBatch(*client, 5, "win/a", 1, StandardNormal(5, 5)).status());
  ASSERT_OK_AND_ASSIGN(estimate, QueryStream(*client, "win/a"));
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_WINDOW);
  EXPECT_EQ(estimate.rule(), "recent");
  EXPECT_EQ(estimate.count(), 5u);
  EXPECT_EQ(estimate.effective_count(), 5.0);
  EXPECT_EQ(estimate.anomalies(), 0u);
}

TEST(AnomalyTest, ReturnScoresListsEveryAcceptedRowInMessageOrder) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));

  const std::vector<double> rows = StandardNormal(6, 39);
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  ingest.set_return_scores(true);
  *ingest.add_samples() = MakeSample("sc/a", {0.1});
  *ingest.add_samples() = MakeSample("sc/b", {2.0});
  *ingest.add_samples() = MakeSample("sc/a", {NAN});  // rejected: no score
  *ingest.add_batches() = MakeBatch("sc/a", 1, rows);
  *ingest.add_batches() = MakeBatch("sc/c", 1, {1.0, NAN, 3.0});  // row 1 rejected
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client, ingest));
  EXPECT_EQ(ack.accepted(), 43u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 2u) << ack.ShortDebugString();

  // Samples first, then each batch's rows; (batch, index, row) name the row.
  struct Where {
    bool batch;
    uint32_t index;
    uint32_t row;
  };
  std::vector<Where> expected = {{false, 0, 0}, {false, 1, 0}};
  for (uint32_t row = 0; row < rows.size(); ++row) expected.push_back({true, 0, row});
  expected.push_back({true, 1, 0});
  expected.push_back({true, 1, 2});
  ASSERT_EQ(ack.scores_size(), static_cast<int>(expected.size())) << ack.ShortDebugString();
  for (size_t i = 0; i < expected.size(); ++i) {
    const mled::v1::RowScore& score = ack.scores(static_cast<int>(i));
    SCOPED_TRACE(absl::StrCat("scores[", i, "] = ", score.ShortDebugString()));
    EXPECT_EQ(score.batch(), expected[i].batch);
    EXPECT_EQ(score.index(), expected[i].index);
    EXPECT_EQ(score.row(), expected[i].row);
  }

  // sc/a's batch row r stands on the sample before it and r rows: scored from 1 + r = 30 on.
  std::vector<double> sc_a = {0.1};
  for (size_t i = 0; i < expected.size(); ++i) {
    const mled::v1::RowScore& score = ack.scores(static_cast<int>(i));
    SCOPED_TRACE(absl::StrCat("scores[", i, "] = ", score.ShortDebugString()));
    const bool is_sc_a_row = expected[i].batch && expected[i].index == 0;
    const bool warm = is_sc_a_row && 1 + expected[i].row >= kDefaultWarmup;
    EXPECT_EQ(score.scored(), warm);
    EXPECT_FALSE(score.anomaly());
    if (!score.scored()) {
      EXPECT_EQ(score.score(), 0.0);
      EXPECT_EQ(score.p_value(), 0.0);
    } else {
      const double x = rows[expected[i].row];
      const ExpectedScore want = PlugInScore(sc_a, x);
      EXPECT_TRUE(Near(score.mahalanobis2(), want.mahalanobis2, 1e-9));
      EXPECT_TRUE(Near(score.score(), want.score, 1e-9));
      EXPECT_TRUE(Near(score.p_value(), want.p_value, 1e-9));
      EXPECT_LT(score.score(), score.threshold());
    }
    if (is_sc_a_row) sc_a.push_back(rows[expected[i].row]);
  }

  // The next message: an outlier between two ordinary rows. It is flagged and kept out of the
  // model, so the row after it is scored against the same model as the outlier.
  mled::v1::Ingest next;
  next.set_seq(2);
  next.set_return_scores(true);
  *next.add_batches() = MakeBatch("sc/a", 1, {0.5, kOutlier, -0.3});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack2, IngestAndWaitAck(*client, next));
  ASSERT_EQ(ack2.scores_size(), 3) << ack2.ShortDebugString();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(ack2.scores(i).batch());
    EXPECT_EQ(ack2.scores(i).index(), 0u);
    EXPECT_EQ(ack2.scores(i).row(), static_cast<uint32_t>(i));
    EXPECT_TRUE(ack2.scores(i).scored());
  }
  EXPECT_FALSE(ack2.scores(0).anomaly());
  const mled::v1::RowScore& flagged = ack2.scores(1);
  EXPECT_TRUE(flagged.anomaly()) << flagged.ShortDebugString();
  EXPECT_LT(flagged.p_value(), kDefaultPValue);
  EXPECT_GT(flagged.score(), flagged.threshold());
  sc_a.push_back(0.5);
  EXPECT_TRUE(Near(flagged.score(), PlugInScore(sc_a, kOutlier).score, 1e-9));
  EXPECT_FALSE(ack2.scores(2).anomaly());
  EXPECT_TRUE(Near(ack2.scores(2).score(), PlugInScore(sc_a, -0.3).score, 1e-9));

  // Without return_scores the Ack lists none.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack quiet, IngestBatch(*client, 3, "sc/a", 1, {0.2, 0.3}));
  EXPECT_EQ(quiet.accepted(), 2u);
  EXPECT_EQ(quiet.scores_size(), 0) << quiet.ShortDebugString();
}

TEST(AnomalyTest, MlectlSendScoresPrintsOneLinePerSample) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  std::string lines = "# 40 ordinary samples, then an outlier\n";
  for (double x : StandardNormal(7, 40)) absl::StrAppend(&lines, "cli/s ", x, "\n");
  absl::StrAppend(&lines, "cli/s ", kOutlier, "\n");
  TempFile input("scores.txt", lines);
  const std::string addr = absl::StrCat("--addr=", daemon->tcp_address());

  // Text: 30 warm-up lines, 11 scored, the last one an ANOMALY.
  const ProgramResult text = RunProgram(MlectlBinary(), {"send", "--scores", addr, input.path()});
  ASSERT_FALSE(text.timed_out);
  EXPECT_TRUE(text.status.ExitedWith(0)) << text.status.ToString() << "\n" << text.err;
  std::vector<std::string> sample_lines;
  for (absl::string_view line : absl::StrSplit(text.out, '\n', absl::SkipWhitespace())) {
    if (absl::StartsWith(line, "cli/s ")) sample_lines.emplace_back(line);
  }
  ASSERT_EQ(sample_lines.size(), 41u) << text.out;
  for (size_t i = 0; i < sample_lines.size(); ++i) {
    const bool warm = i >= static_cast<size_t>(kDefaultWarmup);
    EXPECT_EQ(absl::StrContains(sample_lines[i], "warm-up"), !warm) << sample_lines[i];
    EXPECT_EQ(absl::StrContains(sample_lines[i], "score="), warm) << sample_lines[i];
    EXPECT_EQ(absl::StrContains(sample_lines[i], "ANOMALY"), i == 40) << sample_lines[i];
  }
  EXPECT_TRUE(absl::StartsWith(sample_lines[40], "cli/s x=50 ")) << sample_lines[40];
  EXPECT_TRUE(absl::StrContains(text.out, "sent 41 samples: accepted 41, rejected 0")) << text.out;
  EXPECT_TRUE(absl::StrContains(text.out, "scored 11, anomalies 1")) << text.out;

  // JSON: one RowScore object per sample (with "seq", "stream" and "x"), in input order.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  ASSERT_OK(ResetAndWaitAck(*client, {"cli/s"}, 1).status());
  const ProgramResult json =
      RunProgram(MlectlBinary(), {"send", "--scores", "--json", addr, input.path()});
  ASSERT_FALSE(json.timed_out);
  EXPECT_TRUE(json.status.ExitedWith(0)) << json.status.ToString() << "\n" << json.err;
  std::vector<std::string> objects = absl::StrSplit(json.out, '\n', absl::SkipWhitespace());
  ASSERT_EQ(objects.size(), 41u) << json.out;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // "seq", "stream", "x" beside the RowScore
  for (size_t i = 0; i < objects.size(); ++i) {
    mled::v1::RowScore score;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(objects[i], &score, options).ok())
        << objects[i];
    EXPECT_TRUE(absl::StrContains(objects[i], "\"cli/s\"")) << objects[i];
    EXPECT_EQ(score.scored(), i >= static_cast<size_t>(kDefaultWarmup)) << objects[i];
    EXPECT_EQ(score.anomaly(), i == 40) << objects[i];
  }
  EXPECT_TRUE(absl::StrContains(json.err, "scored 11, anomalies 1")) << json.err;
}

}  // namespace
}  // namespace mled::integration
