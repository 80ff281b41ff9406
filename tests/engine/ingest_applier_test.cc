#include "lib/engine/ingest_applier.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mled::engine {
namespace {

constexpr int64_t kReceipt = 1'000'000;

class IngestApplierTest : public ::testing::Test {
 protected:
  IngestApplierTest() : table_(Limits(), 4), applier_(&table_) {}

  static EngineLimits Limits() {
    EngineLimits limits;
    limits.max_streams = 50;
    limits.ingest.max_dim = 8;
    limits.max_rejections_per_ack = 5;
    return limits;
  }

  static void AddSample(mled::v1::Ingest* ingest, const std::string& stream,
                        std::initializer_list<double> x, int64_t time = 0) {
    mled::v1::Sample* sample = ingest->add_samples();
    sample->set_stream(stream);
    for (double v : x) sample->add_x(v);
    sample->set_time_unix_nano(time);
  }

  mled::v1::Estimate Get(const std::string& stream) {
    mled::v1::Estimate estimate;
    EXPECT_TRUE(table_.GetEstimate(stream, &estimate)) << stream;
    return estimate;
  }

  StreamTable table_;
  IngestApplier applier_;
  mled::v1::Ack ack_;
};

TEST_F(IngestApplierTest, AppliesSamplesAndCountsThem) {
  mled::v1::Ingest ingest;
  ingest.set_seq(7);
  AddSample(&ingest, "a", {1.0}, 5);
  AddSample(&ingest, "a", {3.0});
  AddSample(&ingest, "b", {1.0, 2.0});
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.accepted, 3u);
  EXPECT_EQ(counts.rejected, 0u);
  EXPECT_EQ(ack_.seq(), 7u);
  EXPECT_EQ(ack_.accepted(), 3u);
  EXPECT_EQ(ack_.rejected(), 0u);
  EXPECT_EQ(ack_.rejections_size(), 0);
  const mled::v1::Estimate a = Get("a");
  EXPECT_EQ(a.count(), 2u);
  EXPECT_DOUBLE_EQ(a.mean(0), 2.0);
  EXPECT_EQ(a.last_time_unix_nano(), kReceipt);  // time 0 means receipt, the later of the two
  EXPECT_EQ(Get("b").dim(), 2u);
}

TEST_F(IngestApplierTest, RejectsBadSamplesAndAppliesTheRest) {
  mled::v1::Ingest ingest;
  AddSample(&ingest, "ok", {1.0});
  AddSample(&ingest, "nan", {std::nan("")});
  AddSample(&ingest, "inf", {std::numeric_limits<double>::infinity()});
  AddSample(&ingest, "", {1.0});
  AddSample(&ingest, "empty", {});
  AddSample(&ingest, "ok", {2.0, 3.0});  // dimension mismatch with the first "ok"
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.accepted, 1u);
  EXPECT_EQ(counts.rejected, 5u);
  EXPECT_EQ(counts.rejected_by_code[mled::v1::INVALID_ARGUMENT], 4u);
  EXPECT_EQ(counts.rejected_by_code[mled::v1::DIMENSION_MISMATCH], 1u);
  ASSERT_EQ(ack_.rejections_size(), 5);
  EXPECT_EQ(ack_.rejections(0).index(), 1u);
  EXPECT_EQ(ack_.rejections(0).stream(), "nan");
  EXPECT_EQ(ack_.rejections(0).code(), mled::v1::INVALID_ARGUMENT);
  EXPECT_FALSE(ack_.rejections(0).batch());
  EXPECT_EQ(ack_.rejections(4).index(), 5u);
  EXPECT_EQ(ack_.rejections(4).code(), mled::v1::DIMENSION_MISMATCH);
  for (const auto& rejection : ack_.rejections()) EXPECT_FALSE(rejection.message().empty());
  EXPECT_EQ(Get("ok").count(), 1u);
}

TEST_F(IngestApplierTest, BatchWithBadRowsRejectsOnlyThoseRows) {
  mled::v1::Ingest ingest;
  mled::v1::StreamBatch* batch = ingest.add_batches();
  batch->set_stream("v");
  batch->set_dim(2);
  for (double v : {1.0, 2.0, std::nan(""), 4.0, 5.0, 6.0, 7.0, 8.0}) batch->add_values(v);
  for (int64_t t : {10, 40, 20, 30}) batch->add_time_unix_nano(t);
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.accepted, 3u);
  EXPECT_EQ(counts.rejected, 1u);
  ASSERT_EQ(ack_.rejections_size(), 1);
  EXPECT_TRUE(ack_.rejections(0).batch());
  EXPECT_EQ(ack_.rejections(0).index(), 0u);
  EXPECT_EQ(ack_.rejections(0).rows(), 1u);
  EXPECT_NE(ack_.rejections(0).message().find("row 1"), std::string::npos);
  const mled::v1::Estimate v = Get("v");
  EXPECT_EQ(v.count(), 3u);
  EXPECT_DOUBLE_EQ(v.mean(0), (1.0 + 5.0 + 7.0) / 3);
  EXPECT_DOUBLE_EQ(v.mean(1), (2.0 + 6.0 + 8.0) / 3);
  EXPECT_EQ(v.last_time_unix_nano(), 30);  // the bad row's time 40 does not count
}

TEST_F(IngestApplierTest, MalformedBatchIsRejectedWhole) {
  mled::v1::Ingest ingest;
  mled::v1::StreamBatch* ragged = ingest.add_batches();
  ragged->set_stream("r");
  ragged->set_dim(2);
  for (double v : {1.0, 2.0, 3.0}) ragged->add_values(v);
  mled::v1::StreamBatch* times = ingest.add_batches();
  times->set_stream("t");
  for (double v : {1.0, 2.0, 3.0}) times->add_values(v);
  times->add_time_unix_nano(1);
  mled::v1::StreamBatch* good = ingest.add_batches();
  good->set_stream("g");  // dim 0 means 1
  for (double v : {1.0, 2.0}) good->add_values(v);
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.accepted, 2u);
  EXPECT_EQ(counts.rejected, 2u + 3u);
  ASSERT_EQ(ack_.rejections_size(), 2);
  EXPECT_EQ(ack_.rejections(0).index(), 0u);
  EXPECT_EQ(ack_.rejections(1).index(), 1u);
  EXPECT_TRUE(ack_.rejections(1).batch());
  EXPECT_EQ(Get("g").count(), 2u);
  mled::v1::Estimate none;
  EXPECT_FALSE(table_.GetEstimate("r", &none));
}

TEST_F(IngestApplierTest, DimensionOverLimitIsResourceExhausted) {
  mled::v1::Ingest ingest;
  AddSample(&ingest, "wide", {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.rejected_by_code[mled::v1::RESOURCE_EXHAUSTED], 1u);
}

TEST_F(IngestApplierTest, RejectionListIsCappedButCountsAreExact) {
  mled::v1::Ingest ingest;
  for (int i = 0; i < 12; ++i) AddSample(&ingest, absl::StrCat("s", i), {std::nan("")});
  AddSample(&ingest, "fine", {1.0});
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(ack_.rejected(), 12u);
  EXPECT_EQ(ack_.accepted(), 1u);
  EXPECT_EQ(counts.rejected, 12u);
  EXPECT_EQ(ack_.rejections_size(), 5);
}

TEST_F(IngestApplierTest, FullTableRejectsNewStreamsOnly) {
  mled::v1::Ingest ingest;
  for (int i = 0; i < 60; ++i) AddSample(&ingest, absl::StrCat("s", i), {1.0});
  const IngestCounts counts = applier_.Apply(ingest, kReceipt, &ack_);
  EXPECT_EQ(counts.accepted, 50u);
  EXPECT_EQ(counts.rejected_by_code[mled::v1::RESOURCE_EXHAUSTED], 10u);
  mled::v1::Ingest again;
  AddSample(&again, "s0", {2.0});
  EXPECT_EQ(table_.stream_count(), 50u);
  EXPECT_EQ(applier_.Apply(again, kReceipt, &ack_).accepted, 1u);
}

TEST_F(IngestApplierTest, ReusedApplierStartsEachAckAfresh) {
  mled::v1::Ingest bad;
  bad.set_seq(1);
  AddSample(&bad, "x", {std::nan("")});
  applier_.Apply(bad, kReceipt, &ack_);
  mled::v1::Ingest good;
  good.set_seq(2);
  AddSample(&good, "x", {1.0});
  applier_.Apply(good, kReceipt, &ack_);
  EXPECT_EQ(ack_.seq(), 2u);
  EXPECT_EQ(ack_.rejected(), 0u);
  EXPECT_EQ(ack_.rejections_size(), 0);
}

TEST_F(IngestApplierTest, SampleTimesTooFarAheadAreRejected) {
  constexpr int64_t kNow = 1'700'000'000'000'000'000;
  constexpr int64_t kHour = 3'600'000'000'000;
  mled::v1::Ingest ingest;
  AddSample(&ingest, "t/ok", {1}, kNow + kHour);           // exactly at the limit
  AddSample(&ingest, "t/ahead", {1}, kNow + kHour + 1);    // just past it
  AddSample(&ingest, "t/far", {1}, kNow * 2);                  // year 2079
  mled::v1::StreamBatch* batch = ingest.add_batches();
  batch->set_stream("t/batch");
  for (double v : {1.0, 2.0, 3.0}) batch->add_values(v);
  for (int64_t t : {kNow, kNow + 2 * kHour, int64_t{0}}) batch->add_time_unix_nano(t);
  const IngestCounts counts = applier_.Apply(ingest, kNow, &ack_);
  EXPECT_EQ(counts.accepted, 3u);  // t/ok and two rows of the batch
  EXPECT_EQ(counts.rejected, 3u);
  ASSERT_EQ(ack_.rejections_size(), 3);
  EXPECT_EQ(ack_.rejections(0).stream(), "t/ahead");
  EXPECT_EQ(ack_.rejections(0).code(), mled::v1::INVALID_ARGUMENT);
  EXPECT_NE(ack_.rejections(0).message().find("ahead of the daemon's clock"), std::string::npos)
      << ack_.rejections(0).message();
  EXPECT_EQ(ack_.rejections(2).stream(), "t/batch");
  EXPECT_EQ(ack_.rejections(2).rows(), 1u);
  EXPECT_NE(ack_.rejections(2).message().find("row 1"), std::string::npos);
  EXPECT_EQ(Get("t/batch").count(), 2u);
  EXPECT_EQ(Get("t/batch").last_time_unix_nano(), kNow);
}

}  // namespace
}  // namespace mled::engine
