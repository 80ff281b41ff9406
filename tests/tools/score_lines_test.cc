#include "tools/mlectl/score_lines.h"

#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 2024-05-01 12:00:00.123 UTC
constexpr int64_t kTime = int64_t{1714564800123000000};

mled::v1::Anomaly UnivariateAnomaly() {
  mled::v1::Anomaly anomaly;
  anomaly.set_stream("cpu.load");
  anomaly.set_time_unix_nano(kTime);
  anomaly.add_x(9.5);
  anomaly.add_mean(0.5);
  anomaly.set_score(41.4189385);
  anomaly.set_threshold(13.1);
  anomaly.set_p_value(2.2571768e-19);
  anomaly.set_mahalanobis2(81);
  anomaly.set_rule("default");
  anomaly.set_effective_count(1000);
  return anomaly;
}

TEST(FormatAnomalyTest, UnivariateLineHasEveryFieldAndZ) {
  EXPECT_EQ(FormatAnomaly(UnivariateAnomaly(), absl::UTCTimeZone()),
            "2024-05-01 12:00:00.123 anomaly cpu.load rule=default x=9.5 mean=0.5 score=41.4189 "
            "threshold=13.1 p=2.26e-19 d2=81 z=+9");
}

TEST(FormatAnomalyTest, ZHasTheSignOfXMinusMean) {
  mled::v1::Anomaly anomaly = UnivariateAnomaly();
  anomaly.set_x(0, -3.5);
  anomaly.set_mahalanobis2(16);
  EXPECT_THAT(FormatAnomaly(anomaly, absl::UTCTimeZone()), HasSubstr(" d2=16 z=-4"));
}

TEST(FormatAnomalyTest, SuppressedEventsAreCounted) {
  mled::v1::Anomaly anomaly = UnivariateAnomaly();
  anomaly.set_suppressed(3);
  EXPECT_THAT(FormatAnomaly(anomaly, absl::UTCTimeZone()), HasSubstr(" z=+9 (+3 suppressed)"));
  anomaly.set_suppressed(0);
  EXPECT_THAT(FormatAnomaly(anomaly, absl::UTCTimeZone()), Not(HasSubstr("suppressed")));
}

TEST(FormatAnomalyTest, MultivariateHasVectorsAndNoZ) {
  mled::v1::Anomaly anomaly;
  anomaly.set_stream("pos/r1");
  anomaly.set_time_unix_nano(kTime);
  for (double x : {1.0, 2.0, 9.25}) anomaly.add_x(x);
  for (double m : {1.0, 2.0, 3.0}) anomaly.add_mean(m);
  anomaly.set_score(22.1);
  anomaly.set_threshold(16.3);
  anomaly.set_p_value(1.5e-8);
  anomaly.set_mahalanobis2(36);
  anomaly.set_rule("robots");
  EXPECT_EQ(FormatAnomaly(anomaly, absl::UTCTimeZone()),
            "2024-05-01 12:00:00.123 anomaly pos/r1 rule=robots x=[1,2,9.25] mean=[1,2,3] "
            "score=22.1 threshold=16.3 p=1.5e-08 d2=36");
}

TEST(FormatAnomalyTest, MissingFieldsReadDashNeverNaN) {
  // As from a daemon that predates rules and means, or a faulty one.
  mled::v1::Anomaly anomaly;
  anomaly.set_stream("old");
  anomaly.set_time_unix_nano(kTime);
  anomaly.add_x(2);
  anomaly.set_score(std::numeric_limits<double>::infinity());
  anomaly.set_p_value(std::numeric_limits<double>::quiet_NaN());
  const std::string line = FormatAnomaly(anomaly, absl::UTCTimeZone());
  EXPECT_EQ(line,
            "2024-05-01 12:00:00.123 anomaly old rule=- x=2 mean=- score=- threshold=0 p=- d2=0");
  anomaly.add_mean(1);
  anomaly.set_mahalanobis2(-1);
  EXPECT_THAT(FormatAnomaly(anomaly, absl::UTCTimeZone()), HasSubstr(" d2=-1 z=-"));
}

// An Ingest of two samples and two batches: "b" of dim 2 with 3 rows, "c" with dim 0 (= 1).
mled::v1::Ingest MixedIngest() {
  mled::v1::Ingest ingest;
  ingest.set_seq(7);
  mled::v1::Sample& a = *ingest.add_samples();
  a.set_stream("a");
  a.add_x(0.5);
  mled::v1::Sample& a3 = *ingest.add_samples();
  a3.set_stream("a3");
  for (double x : {1.0, 2.0, 3.0}) a3.add_x(x);
  mled::v1::StreamBatch& b = *ingest.add_batches();
  b.set_stream("b");
  b.set_dim(2);
  for (double v : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}) b.add_values(v);
  mled::v1::StreamBatch& c = *ingest.add_batches();
  c.set_stream("c");
  for (double v : {10.0, 20.0}) c.add_values(v);
  return ingest;
}

mled::v1::RowScore Names(uint32_t index, bool batch, uint32_t row) {
  mled::v1::RowScore score;
  score.set_index(index);
  score.set_batch(batch);
  score.set_row(row);
  return score;
}

TEST(FindScoredRowTest, MapsSamplesAndBatchRows) {
  const mled::v1::Ingest ingest = MixedIngest();
  const auto find = [&](uint32_t index, bool batch, uint32_t row) {
    absl::StatusOr<IngestRow> found = FindScoredRow(ingest, Names(index, batch, row));
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok()
               ? std::make_pair(std::string(found->stream),
                                std::vector<double>(found->values.begin(), found->values.end()))
               : std::make_pair(std::string(), std::vector<double>());
  };
  EXPECT_EQ(find(0, false, 0), std::make_pair(std::string("a"), std::vector<double>{0.5}));
  EXPECT_EQ(find(1, false, 0), std::make_pair(std::string("a3"), std::vector<double>{1, 2, 3}));
  EXPECT_EQ(find(0, true, 0), std::make_pair(std::string("b"), std::vector<double>{1, 2}));
  EXPECT_EQ(find(0, true, 2), std::make_pair(std::string("b"), std::vector<double>{5, 6}));
  EXPECT_EQ(find(1, true, 1), std::make_pair(std::string("c"), std::vector<double>{20}));
}

TEST(FindScoredRowTest, ScoresOfNoRowAreOutOfRange) {
  const mled::v1::Ingest ingest = MixedIngest();
  for (const mled::v1::RowScore& score : {Names(2, false, 0), Names(0, false, 1), Names(2, true, 0),
                                          Names(0, true, 3), Names(1, true, 2)}) {
    const absl::StatusOr<IngestRow> found = FindScoredRow(ingest, score);
    EXPECT_EQ(found.status().code(), absl::StatusCode::kOutOfRange) << score.ShortDebugString();
    EXPECT_THAT(found.status().message(), HasSubstr("message seq 7"));
  }
}

mled::v1::RowScore Scored(double score, double p_value, bool anomaly) {
  mled::v1::RowScore row_score;
  row_score.set_scored(true);
  row_score.set_score(score);
  row_score.set_p_value(p_value);
  row_score.set_threshold(13.1);
  row_score.set_mahalanobis2(0.14);
  row_score.set_anomaly(anomaly);
  return row_score;
}

TEST(FormatRowScoreTest, WarmUpScoredAndAnomaly) {
  const double one[] = {0.52};
  const double three[] = {1, 2, 9.5};
  EXPECT_EQ(FormatRowScore({"cpu", one}, mled::v1::RowScore()), "cpu x=0.52 warm-up");
  EXPECT_EQ(FormatRowScore({"cpu", one}, Scored(0.95, 0.7134, false)),
            "cpu x=0.52 score=0.95 threshold=13.1 p=0.713 d2=0.14");
  EXPECT_EQ(FormatRowScore({"pos", three}, Scored(41.4, 2.3e-19, true)),
            "pos x=[1,2,9.5] score=41.4 threshold=13.1 p=2.3e-19 d2=0.14 ANOMALY");
}

TEST(RowScoreJsonTest, IsTheRowScoreLedBySeqStreamAndValues) {
  const double values[] = {1, 2.5};
  mled::v1::RowScore score = Scored(41.4, 2.3e-19, true);
  score.set_index(1);
  score.set_batch(true);
  score.set_row(4);
  const std::string json = RowScoreJson(7, {"quote\"d", values}, score);
  EXPECT_THAT(json, ::testing::StartsWith(
                        "{\"seq\":\"7\",\"stream\":\"quote\\\"d\",\"x\":[1,2.5],\"index\":1,"));
  EXPECT_THAT(json, Not(HasSubstr("\n")));

  // Valid JSON, and the RowScore reads back from it once the leading fields are dropped.
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  EXPECT_EQ(parsed.fields().at("stream").string_value(), "quote\"d");
  EXPECT_EQ(parsed.fields().at("seq").string_value(), "7");
  const auto& x = parsed.fields().at("x").list_value().values();
  ASSERT_EQ(x.size(), 2);
  EXPECT_EQ(x[1].number_value(), 2.5);
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  mled::v1::RowScore back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back, lenient).ok());
  EXPECT_EQ(back.SerializeAsString(), score.SerializeAsString());
}

TEST(RowScoreJsonTest, WarmUpRowsPrintTheirZeros) {
  const double values[] = {0.5};
  EXPECT_EQ(RowScoreJson(1, {"a", values}, mled::v1::RowScore()),
            "{\"seq\":\"1\",\"stream\":\"a\",\"x\":[0.5],\"index\":0,\"batch\":false,\"row\":0,"
            "\"scored\":false,\"score\":0,\"pValue\":0,\"anomaly\":false,\"threshold\":0,"
            "\"mahalanobis2\":0}");
}

}  // namespace
}  // namespace mled::mlectl
