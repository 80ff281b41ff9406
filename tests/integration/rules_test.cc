// Stream rules against the real daemon: rules from a config file (first match wins, else the
// default rule), a rule's dim enforced as DIMENSION_MISMATCH, the --rules / --default_rule flags
// (text format, overriding the file), an invalid rule exiting 2 with one line naming the rule and
// the field, and SIGHUP reloading the rules: streams whose estimator and dimension did not change
// keep their state and take the new anomaly policy, streams whose estimator changed restart, a
// stream whose rule now expects another dimension is dropped, and a broken file keeps the old
// rules. Waits poll DaemonStats and Query with deadlines; nothing sleeps.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

std::string ConfigFlag(const TempFile& file) { return absl::StrCat("--config=", file.path()); }

// The estimate of `stream`, or a test failure.
mled::v1::Estimate Get(Client& client, const std::string& stream) {
  absl::StatusOr<mled::v1::Estimate> estimate = QueryStream(client, stream);
  EXPECT_TRUE(estimate.ok()) << estimate.status();
  return estimate.ok() ? *estimate : mled::v1::Estimate();
}

TEST(RulesTest, ConfigFileRulesFirstMatchWins) {
  TempFile config("rules.textproto",
                  "rules {\n"
                  "  name: \"special\"\n"
                  "  match: \"r/special/*\"\n"
                  "  exponential { half_life: \"1h\" }\n"
                  "}\n"
                  "rules {\n"
                  "  name: \"pairs\"\n"
                  "  match: \"r/*\"\n"
                  "  match: \"pair?\"\n"
                  "  window { length: \"1h\" buckets: 4 }\n"
                  "  dim: 2\n"
                  "}\n"
                  "default_rule { name: \"fallback\" }\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({ConfigFlag(config)}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));

  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  // "r/special/a" matches both rules; the first one (no dim) wins.
  *ingest.add_samples() = MakeSample("r/special/a", {1.0});
  *ingest.add_batches() = MakeBatch("r/pair", 2, {1, 2, 3, 4});
  *ingest.add_batches() = MakeBatch("pair7", 2, {1, 2});
  *ingest.add_samples() = MakeSample("else/x", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client, ingest));
  EXPECT_EQ(ack.accepted(), 5u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 0u) << ack.ShortDebugString();

  const mled::v1::Estimate special = Get(*client, "r/special/a");
  EXPECT_EQ(special.rule(), "special");
  EXPECT_EQ(special.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  for (const std::string stream : {"r/pair", "pair7"}) {
    const mled::v1::Estimate pair = Get(*client, stream);
    EXPECT_EQ(pair.rule(), "pairs") << stream;
    EXPECT_EQ(pair.estimator(), mled::v1::ESTIMATOR_WINDOW) << stream;
    EXPECT_EQ(pair.dim(), 2u) << stream;
  }
  const mled::v1::Estimate other = Get(*client, "else/x");
  EXPECT_EQ(other.rule(), "fallback");
  EXPECT_EQ(other.estimator(), mled::v1::ESTIMATOR_CUMULATIVE);
}

// config/rules-example.textproto, the README's worked example: its three rules and default rule
// apply as documented, including the plant rule's cooldown and the scratch rule's "no scoring".
TEST(RulesTest, ShippedRulesExampleApplies) {
  const std::string path = absl::StrCat(SourceDir(), "/config/rules-example.textproto");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({absl::StrCat("--config=", path)}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> watcher, Connect(daemon->tcp_address()));
  ASSERT_OK(SubscribeAndSync(*watcher, {"plant7/*"}, 0, /*anomalies=*/true));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));

  // Plant temperatures: 60 readings a second apart (past the warm-up of 50), then three far out:
  // at +61 s (an event), +62 s (within the 1 m cooldown: counted, no event) and +131 s (an event
  // reporting the one suppressed).
  constexpr int64_t kStart = 1'700'000'000'000'000'000;
  constexpr int64_t kSecond = 1'000'000'000;
  std::vector<double> values = GaussianRows(31, 60, 1, 20.0, 1.0);
  std::vector<int64_t> times;
  for (int64_t i = 0; i < 60; ++i) times.push_back(kStart + i * kSecond);
  for (int64_t at : {61, 62, 131}) {
    values.push_back(80.0);
    times.push_back(kStart + at * kSecond);
  }
  mled::v1::Ingest plant;
  plant.set_seq(1);
  *plant.add_batches() = MakeBatch("plant7/boiler/temp", 1, values, times);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack plant_ack, IngestAndWaitAck(*client, plant));
  EXPECT_EQ(plant_ack.accepted(), 63u);
  const mled::v1::Estimate temp = Get(*client, "plant7/boiler/temp");
  EXPECT_EQ(temp.rule(), "plant temperatures");
  EXPECT_EQ(temp.estimator(), mled::v1::ESTIMATOR_WINDOW);
  EXPECT_EQ(temp.anomalies(), 3u);
  EXPECT_EQ(temp.count(), 60u) << "anomalies stay out of the model";
  ASSERT_OK_AND_ASSIGN(const mled::v1::Anomaly first, WaitForAnomaly(*watcher));
  EXPECT_EQ(first.time_unix_nano(), kStart + 61 * kSecond);
  EXPECT_EQ(first.suppressed(), 0u);
  EXPECT_EQ(first.rule(), "plant temperatures");
  ASSERT_OK_AND_ASSIGN(const mled::v1::Anomaly second, WaitForAnomaly(*watcher));
  EXPECT_EQ(second.time_unix_nano(), kStart + 131 * kSecond);
  EXPECT_EQ(second.suppressed(), 1u);
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> rest,
                       DrainUntilBarrier(*watcher));
  for (const mled::v1::ServerMessage& message : rest) {
    EXPECT_FALSE(message.has_anomaly()) << message.ShortDebugString();
  }

  // Service latencies: 3 values per sample, exponential forgetting; 2 values are rejected.
  mled::v1::Ingest latency;
  latency.set_seq(2);
  *latency.add_samples() = MakeSample("svc/api/latency", {12, 40, 95});
  *latency.add_samples() = MakeSample("svc/db/latency", {12, 40});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack latency_ack, IngestAndWaitAck(*client, latency));
  EXPECT_EQ(latency_ack.accepted(), 1u);
  ASSERT_EQ(latency_ack.rejections_size(), 1) << latency_ack.ShortDebugString();
  EXPECT_EQ(latency_ack.rejections(0).code(), mled::v1::DIMENSION_MISMATCH);
  const mled::v1::Estimate api = Get(*client, "svc/api/latency");
  EXPECT_EQ(api.rule(), "service latencies");
  EXPECT_EQ(api.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_EQ(api.dim(), 3u);

  // Scratch streams: estimates only, never scored, even far out and past any warm-up.
  std::vector<double> scratch = GaussianRows(32, 100, 1, 0.0, 1.0);
  scratch.push_back(1e6);
  mled::v1::Ingest test;
  test.set_seq(3);
  test.set_return_scores(true);
  *test.add_batches() = MakeBatch("test/x", 1, scratch);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack test_ack, IngestAndWaitAck(*client, test));
  ASSERT_EQ(test_ack.scores_size(), 101);
  for (const mled::v1::RowScore& score : test_ack.scores()) {
    EXPECT_FALSE(score.scored()) << score.ShortDebugString();
    EXPECT_FALSE(score.anomaly()) << score.ShortDebugString();
  }
  const mled::v1::Estimate test_x = Get(*client, "test/x");
  EXPECT_EQ(test_x.rule(), "scratch");
  EXPECT_EQ(test_x.count(), 101u);
  EXPECT_EQ(test_x.anomalies(), 0u);
  EXPECT_FALSE(test_x.has_last_score());

  // Everything else: the default rule.
  ASSERT_OK(IngestBatch(*client, 4, "misc", 1, {1.0}).status());
  EXPECT_EQ(Get(*client, "misc").rule(), "default");
  EXPECT_EQ(Get(*client, "misc").estimator(), mled::v1::ESTIMATOR_CUMULATIVE);
}

TEST(RulesTest, RuleDimensionMismatchIsRejected) {
  TempFile config("dim.textproto", "rules { name: \"planar\" match: \"xy/*\" dim: 2 }\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({ConfigFlag(config)}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));

  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  *ingest.add_samples() = MakeSample("xy/a", {1.0});                 // 1 value, rule wants 2
  *ingest.add_samples() = MakeSample("xy/b", {1.0, 2.0});            // fine
  *ingest.add_batches() = MakeBatch("xy/c", 3, {1, 2, 3, 4, 5, 6});  // 3 values per row
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client, ingest));
  EXPECT_EQ(ack.accepted(), 1u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 3u) << ack.ShortDebugString();
  ASSERT_EQ(ack.rejections_size(), 2) << ack.ShortDebugString();
  for (const mled::v1::Rejection& rejection : ack.rejections()) {
    EXPECT_EQ(rejection.code(), mled::v1::DIMENSION_MISMATCH) << rejection.ShortDebugString();
    EXPECT_TRUE(absl::StrContains(rejection.message(), "planar")) << rejection.message();
  }
  EXPECT_EQ(ack.rejections(0).stream(), "xy/a");
  EXPECT_FALSE(ack.rejections(0).batch());
  EXPECT_EQ(ack.rejections(0).index(), 0u);
  EXPECT_EQ(ack.rejections(1).stream(), "xy/c");
  EXPECT_TRUE(ack.rejections(1).batch());
  EXPECT_EQ(ack.rejections(1).index(), 0u);
  EXPECT_EQ(ack.rejections(1).rows(), 2u);

  // The rejected streams were never created.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates all, QueryEstimates(*client, {"xy/*"}));
  ASSERT_EQ(all.estimates_size(), 1) << all.ShortDebugString();
  EXPECT_EQ(all.estimates(0).stream(), "xy/b");
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client));
  EXPECT_EQ(stats.samples_rejected_by_code().at("DIMENSION_MISMATCH"), 3u);
}

TEST(RulesTest, RulesAndDefaultRuleFlagsOverrideTheFile) {
  TempFile config("file-rules.textproto",
                  "rules { name: \"from file\" match: \"f/*\" }\n"
                  "default_rule { name: \"file default\" }\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({ConfigFlag(config),
                                             "--rules=rules { name: \"flag window\" match: \"f/*\" "
                                             "window { length: \"10m\" } } "
                                             "rules { name: \"flag exp\" match: \"g/*\" "
                                             "exponential { half_life: \"5m\" } }",
                                             "--default_rule=name: \"flag default\" "
                                             "exponential { half_life: \"1m\" }"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  for (const char* stream : {"f/a", "g/a", "h/a"}) *ingest.add_samples() = MakeSample(stream, {1});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client, ingest));
  ASSERT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();

  EXPECT_EQ(Get(*client, "f/a").rule(), "flag window");
  EXPECT_EQ(Get(*client, "f/a").estimator(), mled::v1::ESTIMATOR_WINDOW);
  EXPECT_EQ(Get(*client, "g/a").rule(), "flag exp");
  EXPECT_EQ(Get(*client, "g/a").estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_EQ(Get(*client, "h/a").rule(), "flag default");
  EXPECT_EQ(Get(*client, "h/a").estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
}

TEST(RulesTest, InvalidRuleExits2WithOneLineNamingRuleAndField) {
  struct Case {
    std::string config;  // file contents, or empty
    std::vector<std::string> flags;
    std::vector<std::string> named;  // what the error line must contain
  };
  const std::vector<Case> cases = {
      {"rules { name: \"broken window\" match: \"b/*\" window { length: \"-5m\" } }\n",
       {},
       {"broken window", "window.length"}},
      {"rules { name: \"too fine\" match: \"b/*\" window { length: \"1h\" buckets: 0 } }\n",
       {},
       {"too fine", "window.buckets"}},
      {"rules { name: \"lonely\" }\n", {}, {"lonely", "match"}},
      {"rules { match: \"a/*\" }\nrules { match: \"b/*\" exponential { half_life: \"soon\" } }\n",
       {},
       {"rules[1]", "exponential.half_life"}},
      {"rules { name: \"pvalue\" match: \"p/*\" anomaly { p_value: 2 } }\n",
       {},
       {"pvalue", "anomaly.p_value"}},
      {"rules { name: \"vector z\" match: \"v/*\" dim: 3 anomaly { abs_z: 4 } }\n",
       {},
       {"vector z", "anomaly.abs_z"}},
      {"",
       {"--rules=rules { name: \"flagged\" match: \"f/*\" anomaly { cooldown: \"-1s\" } }"},
       {"flagged", "anomaly.cooldown"}},
      {"", {"--default_rule=name: \"dflt\" window { length: \"0s\" }"}, {"dflt", "window.length"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(absl::StrCat("case ", i, ": ", c.config, absl::StrJoin(c.flags, " ")));
    TempFile config(absl::StrCat("invalid", i, ".textproto"), c.config);
    std::vector<std::string> args = c.flags;
    if (!c.config.empty()) args.push_back(ConfigFlag(config));
    const ProgramResult result = RunMled(args);
    ASSERT_FALSE(result.timed_out);
    EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                             << result.err;
    EXPECT_EQ(LineCount(result.err), 1u) << "stderr:\n" << result.err;
    for (const std::string& name : c.named) {
      EXPECT_TRUE(absl::StrContains(result.err, name)) << "stderr does not name " << name << ":\n"
                                                       << result.err;
    }
    EXPECT_FALSE(absl::StrContains(result.out, "listening")) << result.out;
  }
}

// Config files for the reload tests: A and C cumulative, B a window, D without a dim; v2 changes
// B's anomaly policy (scoring off), C's estimator (exponential) and D's dim (2).
constexpr char kRulesV1[] =
    "rules { name: \"A\" match: \"a/*\" cumulative {} }\n"
    "rules { name: \"B\" match: \"b/*\" window { length: \"1h\" } }\n"
    "rules { name: \"C\" match: \"c/*\" cumulative {} }\n"
    "rules { name: \"D\" match: \"d/*\" }\n";
constexpr char kRulesV2[] =
    "rules { name: \"A\" match: \"a/*\" cumulative {} }\n"
    "rules { name: \"B\" match: \"b/*\" window { length: \"1h\" } anomaly { enabled: false } }\n"
    "rules { name: \"C2\" match: \"c/*\" exponential { half_life: \"1h\" } }\n"
    "rules { name: \"D\" match: \"d/*\" dim: 2 }\n";

class ReloadTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start({ConfigFlag(config_)}));
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
    // 50 samples each; then one outlier into b/1 (an anomaly under v1: kept out of the model).
    mled::v1::Ingest ingest;
    ingest.set_seq(1);
    for (const char* stream : {"a/1", "b/1", "c/1", "d/1"}) {
      *ingest.add_batches() = MakeBatch(stream, 1, GaussianRows(21, 50, 1, 0.0, 1.0));
    }
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client_, ingest));
    ASSERT_EQ(ack.accepted(), 200u) << ack.ShortDebugString();
    ASSERT_OK(IngestBatch(*client_, 2, "b/1", 1, {100.0}).status());
    const mled::v1::Estimate b = Get(*client_, "b/1");
    ASSERT_EQ(b.count(), 50u);
    ASSERT_EQ(b.anomalies(), 1u);
  }

  TempFile config_{"reload-rules.textproto", kRulesV1};
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(ReloadTest, SighupKeepsUnchangedStreamsAndRestartsChangedOnes) {
  config_.Write(kRulesV2);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, ReloadConfig(*daemon_, *client_));
  EXPECT_EQ(stats.config_reloads(), 1u);
  EXPECT_EQ(stats.config_reloads_failed(), 0u);

  // A: unchanged, state kept.
  const mled::v1::Estimate a = Get(*client_, "a/1");
  EXPECT_EQ(a.count(), 50u);
  EXPECT_EQ(a.estimator(), mled::v1::ESTIMATOR_CUMULATIVE);
  EXPECT_EQ(a.rule(), "A");
  // B: same estimator, state and counters kept; the new policy (no scoring) judges the next
  // sample, so an outlier is no anomaly now and goes into the model.
  mled::v1::Estimate b = Get(*client_, "b/1");
  EXPECT_EQ(b.count(), 50u);
  EXPECT_EQ(b.anomalies(), 1u);
  EXPECT_EQ(b.estimator(), mled::v1::ESTIMATOR_WINDOW);
  ASSERT_OK(IngestBatch(*client_, 3, "b/1", 1, {100.0}).status());
  b = Get(*client_, "b/1");
  EXPECT_EQ(b.count(), 51u);
  EXPECT_EQ(b.anomalies(), 1u);
  // C: a new estimator, so the stream restarted empty under the new rule.
  mled::v1::Estimate c = Get(*client_, "c/1");
  EXPECT_EQ(c.count(), 0u);
  EXPECT_EQ(c.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  EXPECT_EQ(c.rule(), "C2");
  EXPECT_FALSE(c.has_nll());
  ASSERT_OK(IngestBatch(*client_, 4, "c/1", 1, {1.0, 2.0, 4.0}).status());
  c = Get(*client_, "c/1");
  EXPECT_EQ(c.count(), 3u);
  EXPECT_EQ(c.estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
  // D: its rule now expects dim 2; the 1-dimensional stream was dropped.
  EXPECT_TRUE(absl::IsNotFound(QueryStream(*client_, "d/1").status()));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack dim1, IngestBatch(*client_, 5, "d/1", 1, {1.0}));
  EXPECT_EQ(dim1.rejected(), 1u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack dim2, IngestBatch(*client_, 6, "d/1", 2, {1.0, 2.0}));
  EXPECT_EQ(dim2.accepted(), 1u);

  EXPECT_TRUE(absl::StrContains(daemon_->StderrText(), "reloaded")) << daemon_->StderrText();
}

TEST_F(ReloadTest, BrokenConfigOnSighupKeepsTheOldRules) {
  config_.Write("rules { name: \"A\" match: \"a/*\" window { length: \"nonsense\" } }\n");
  ASSERT_OK_AND_ASSIGN(mled::v1::DaemonStats stats, ReloadConfig(*daemon_, *client_));
  EXPECT_EQ(stats.config_reloads(), 0u);
  EXPECT_EQ(stats.config_reloads_failed(), 1u);
  // A syntax error is refused the same way.
  config_.Write("rules { name: \"A\" match: \n");
  ASSERT_OK_AND_ASSIGN(stats, ReloadConfig(*daemon_, *client_));
  EXPECT_EQ(stats.config_reloads(), 0u);
  EXPECT_EQ(stats.config_reloads_failed(), 2u);
  EXPECT_TRUE(absl::StrContains(daemon_->StderrText(), "not reloaded")) << daemon_->StderrText();

  // Still serving, under the old rules, every stream's state intact.
  for (const char* stream : {"a/1", "c/1", "d/1"}) {
    const mled::v1::Estimate estimate = Get(*client_, stream);
    EXPECT_EQ(estimate.count(), 50u) << stream;
    EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_CUMULATIVE) << stream;
  }
  // B still scores: another outlier is an anomaly.
  ASSERT_OK(IngestBatch(*client_, 3, "b/1", 1, {100.0}).status());
  const mled::v1::Estimate b = Get(*client_, "b/1");
  EXPECT_EQ(b.count(), 50u);
  EXPECT_EQ(b.anomalies(), 2u);
  // A new stream follows the old rules too.
  ASSERT_OK(IngestBatch(*client_, 4, "c/new", 1, {1.0}).status());
  EXPECT_EQ(Get(*client_, "c/new").rule(), "C");

  // A good file afterwards is applied.
  config_.Write(kRulesV2);
  ASSERT_OK_AND_ASSIGN(stats, ReloadConfig(*daemon_, *client_));
  EXPECT_EQ(stats.config_reloads(), 1u);
  EXPECT_EQ(stats.config_reloads_failed(), 2u);
  EXPECT_EQ(Get(*client_, "c/1").estimator(), mled::v1::ESTIMATOR_EXPONENTIAL);
}

}  // namespace
}  // namespace mled::integration
