// UDP ingest: each datagram is one serialized Ingest (no length prefix, no ack). What arrives is
// visible to TCP queries; a datagram that does not decode is counted and dropped and disturbs
// nothing after it.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

class UdpTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start({kEstimatesOnly}));
    ASSERT_FALSE(daemon_->udp_address().empty()) << daemon_->startup_line();
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
  }

  // Polls until `stream` has `count` samples.
  absl::StatusOr<mled::v1::Estimates> WaitForCount(const std::string& stream, uint64_t count) {
    return PollQuery(*client_, {stream}, [&](const mled::v1::Estimates& answer) {
      return answer.estimates_size() == 1 && answer.estimates(0).count() >= count;
    });
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(UdpTest, DatagramsAreIngestedAndQueryable) {
  // 20 datagrams of 10 samples and a batch of 5 rows each; values 0..N-1 in a known order.
  std::vector<double> all;
  for (int d = 0; d < 20; ++d) {
    mled::v1::Ingest ingest;
    ingest.set_seq(static_cast<uint64_t>(d) + 1);  // ignored over UDP: no ack
    for (int s = 0; s < 10; ++s) {
      const double x = d * 15 + s;
      *ingest.add_samples() = MakeSample("udp/a", {x}, 1000 + d);
      all.push_back(x);
    }
    std::vector<double> rows;
    for (int r = 10; r < 15; ++r) rows.push_back(d * 15 + r);
    all.insert(all.end(), rows.begin(), rows.end());
    *ingest.add_batches() = MakeBatch("udp/a", 1, rows);
    ASSERT_OK(SendDatagram(daemon_->udp_address(), ingest.SerializeAsString()));
  }
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates answer, WaitForCount("udp/a", all.size()));
  const mled::v1::Estimate& estimate = answer.estimates(0);
  EXPECT_TRUE(EstimateMatches(estimate, TwoPassReference(all, 1), 1e-12));
  EXPECT_GE(estimate.last_time_unix_nano(), 1019);

  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.udp_datagrams(), 20u);
  EXPECT_EQ(stats.udp_datagrams_malformed(), 0u);
  EXPECT_EQ(stats.samples_accepted_udp(), all.size());
  EXPECT_EQ(stats.samples_accepted_tcp(), 0u);
}

TEST_F(UdpTest, GarbageDatagramIsCountedAndLaterDatagramsStillWork) {
  mled::v1::Ingest before;
  *before.add_samples() = MakeSample("udp/g", {1.0});
  ASSERT_OK(SendDatagram(daemon_->udp_address(), before.SerializeAsString()));
  ASSERT_OK(WaitForCount("udp/g", 1).status());

  // Bytes that are not an Ingest: an over-long varint tag, then an invalid wire type.
  ASSERT_OK(SendDatagram(daemon_->udp_address(), std::string(11, '\xff')));
  ASSERT_OK(SendDatagram(daemon_->udp_address(), std::string("\x0f\x01\x02garbage", 10)));
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.udp_datagrams_malformed() >= 2;
                       }));
  EXPECT_EQ(stats.udp_datagrams_malformed(), 2u);

  // Later datagrams are applied as usual.
  for (int i = 0; i < 5; ++i) {
    mled::v1::Ingest after;
    *after.add_samples() = MakeSample("udp/g", {2.0 + i});
    ASSERT_OK(SendDatagram(daemon_->udp_address(), after.SerializeAsString()));
  }
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates answer, WaitForCount("udp/g", 6));
  EXPECT_EQ(answer.estimates(0).count(), 6u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats final_stats, FetchDaemonStats(*client_));
  EXPECT_EQ(final_stats.udp_datagrams(), 8u);
  EXPECT_EQ(final_stats.udp_datagrams_malformed(), 2u);
  EXPECT_EQ(final_stats.samples_accepted_udp(), 6u);
}

TEST_F(UdpTest, InvalidSamplesInADatagramAreCountedAsRejected) {
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("udp/r", {1.0});
  *ingest.add_samples() = MakeSample("udp/r", {std::numeric_limits<double>::quiet_NaN()});
  *ingest.add_samples() = MakeSample("", {2.0});
  *ingest.add_samples() = MakeSample("udp/r", {3.0});
  ASSERT_OK(SendDatagram(daemon_->udp_address(), ingest.SerializeAsString()));
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.samples_accepted() + s.samples_rejected() >= 4;
                       }));
  EXPECT_EQ(stats.samples_accepted(), 2u);
  EXPECT_EQ(stats.samples_rejected(), 2u);
  EXPECT_EQ(stats.udp_datagrams_malformed(), 0u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryStream(*client_, "udp/r"));
  EXPECT_EQ(estimate.count(), 2u);
  EXPECT_EQ(estimate.mean(0), 2.0);
}

}  // namespace
}  // namespace mled::integration
