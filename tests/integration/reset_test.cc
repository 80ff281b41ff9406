// Reset over the wire: a Reset clears the named and globbed streams and acknowledges how many
// (Ack.accepted) when seq != 0; an empty list or an invalid name is rejected (INVALID_ARGUMENT);
// with seq = 0 there is no Ack but the streams are still cleared; a cleared stream starts afresh
// under its rule; DaemonStats.streams_reset counts them. `mlectl reset` does the same.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

// Ingests `rows` samples of value i into each stream.
void Fill(Client& client, uint64_t seq, const std::vector<std::string>& streams, int rows) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  std::vector<double> values;
  for (int i = 0; i < rows; ++i) values.push_back(i);
  for (const std::string& stream : streams) *ingest.add_batches() = MakeBatch(stream, 1, values);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(client, ingest));
  ASSERT_EQ(ack.accepted(), static_cast<uint64_t>(rows) * streams.size()) << ack.ShortDebugString();
}

// The names of the streams the daemon knows.
std::set<std::string> KnownStreams(Client& client) {
  absl::StatusOr<mled::v1::Estimates> all = QueryEstimates(client, {});
  EXPECT_TRUE(all.ok()) << all.status();
  std::set<std::string> names;
  if (all.ok()) {
    for (const mled::v1::Estimate& estimate : all->estimates()) names.insert(estimate.stream());
  }
  return names;
}

class ResetTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start());
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(ResetTest, ClearsNamedAndGlobbedStreamsAndCountsThem) {
  ASSERT_NO_FATAL_FAILURE(Fill(*client_, 1, {"r/a", "r/b", "r/c/1", "r/c/2", "keep/x"}, 5));

  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack,
                       ResetAndWaitAck(*client_, {"r/a", "r/c/*", "r/no-such-stream"}, 7));
  EXPECT_EQ(ack.seq(), 7u);
  EXPECT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 0u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejections_size(), 0);
  EXPECT_EQ(KnownStreams(*client_), (std::set<std::string>{"keep/x", "r/b"}));
  EXPECT_TRUE(absl::IsNotFound(QueryStream(*client_, "r/a").status()));

  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.streams_reset(), 3u);
  EXPECT_EQ(stats.streams(), 2u);

  // Nothing left to match: 0 cleared, not an error.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack again, ResetAndWaitAck(*client_, {"r/c/*"}, 8));
  EXPECT_EQ(again.accepted(), 0u);
  EXPECT_EQ(again.rejected(), 0u);

  // "*" clears the rest.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack all, ResetAndWaitAck(*client_, {"*"}, 9));
  EXPECT_EQ(all.accepted(), 2u);
  EXPECT_TRUE(KnownStreams(*client_).empty());
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats after, FetchDaemonStats(*client_));
  EXPECT_EQ(after.streams_reset(), 5u);
  EXPECT_EQ(after.streams(), 0u);
}

TEST_F(ResetTest, EmptyListOrInvalidNameIsRejected) {
  ASSERT_NO_FATAL_FAILURE(Fill(*client_, 1, {"r/a"}, 3));
  for (const std::vector<std::string>& streams :
       {std::vector<std::string>{}, std::vector<std::string>{"r/a", ""},
        std::vector<std::string>{std::string(300, 'n')}}) {
    SCOPED_TRACE(absl::StrCat(streams.size(), " patterns"));
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, ResetAndWaitAck(*client_, streams, 2));
    EXPECT_EQ(ack.accepted(), 0u) << ack.ShortDebugString();
    EXPECT_EQ(ack.rejected(), 1u) << ack.ShortDebugString();
    ASSERT_EQ(ack.rejections_size(), 1) << ack.ShortDebugString();
    EXPECT_EQ(ack.rejections(0).code(), mled::v1::INVALID_ARGUMENT);
    EXPECT_FALSE(ack.rejections(0).message().empty());
  }
  // A rejected Reset clears nothing, not even its valid names.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryStream(*client_, "r/a"));
  EXPECT_EQ(estimate.count(), 3u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.streams_reset(), 0u);
}

TEST_F(ResetTest, WithoutSeqNoAckButTheStreamsAreCleared) {
  ASSERT_NO_FATAL_FAILURE(Fill(*client_, 1, {"r/a", "r/b"}, 3));
  ASSERT_OK(client_->Send(ResetRequest({"r/a"}, 0), absl::Now() + kWait));
  // Frames of one connection are handled in order: the next message is the query's answer (no
  // Ack came first), and the reset has happened by then.
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> before,
                       DrainUntilBarrier(*client_));
  EXPECT_TRUE(before.empty()) << before.front().ShortDebugString();
  EXPECT_EQ(KnownStreams(*client_), (std::set<std::string>{"r/b"}));
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.streams_reset(), 1u);

  // A rejected Reset without seq is silent too.
  ASSERT_OK(client_->Send(ResetRequest({}, 0), absl::Now() + kWait));
  ASSERT_OK_AND_ASSIGN(const std::vector<mled::v1::ServerMessage> silent,
                       DrainUntilBarrier(*client_));
  EXPECT_TRUE(silent.empty()) << silent.front().ShortDebugString();
}

TEST_F(ResetTest, ClearedStreamStartsAfresh) {
  // 40 ordinary samples and an outlier: count 40, one anomaly, a last score.
  std::vector<double> values = GaussianRows(11, 40, 1, 10.0, 2.0);
  ASSERT_OK(IngestBatch(*client_, 1, "r/s", 1, values).status());
  ASSERT_OK(IngestBatch(*client_, 2, "r/s", 1, {1000.0}).status());
  ASSERT_OK_AND_ASSIGN(mled::v1::Estimate estimate, QueryStream(*client_, "r/s"));
  ASSERT_EQ(estimate.count(), 40u);
  ASSERT_EQ(estimate.anomalies(), 1u);
  ASSERT_TRUE(estimate.has_last_score());

  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, ResetAndWaitAck(*client_, {"r/s"}, 3));
  EXPECT_EQ(ack.accepted(), 1u);
  // A new dimension is fine now: the stream is new.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack fresh, IngestBatch(*client_, 4, "r/s", 2, {1, 2, 3, 5}));
  EXPECT_EQ(fresh.accepted(), 2u) << fresh.ShortDebugString();
  ASSERT_OK_AND_ASSIGN(estimate, QueryStream(*client_, "r/s"));
  EXPECT_EQ(estimate.count(), 2u);
  EXPECT_EQ(estimate.dim(), 2u);
  EXPECT_EQ(estimate.anomalies(), 0u);
  EXPECT_FALSE(estimate.has_last_score());
  EXPECT_EQ(estimate.rule(), "default");
  EXPECT_EQ(estimate.estimator(), mled::v1::ESTIMATOR_CUMULATIVE);
}

TEST_F(ResetTest, MlectlReset) {
  ASSERT_NO_FATAL_FAILURE(Fill(*client_, 1, {"m/a", "m/b", "n/c"}, 2));
  const std::string addr = absl::StrCat("--addr=", daemon_->tcp_address());

  const ProgramResult reset = RunProgram(MlectlBinary(), {"reset", addr, "m/*"});
  ASSERT_FALSE(reset.timed_out);
  EXPECT_TRUE(reset.status.ExitedWith(0)) << reset.status.ToString() << "\n" << reset.err;
  EXPECT_TRUE(absl::StrContains(reset.out, "reset 2 streams")) << reset.out;
  EXPECT_EQ(KnownStreams(*client_), (std::set<std::string>{"n/c"}));

  // Nothing matches: 0, with a note on stderr, still success.
  const ProgramResult none = RunProgram(MlectlBinary(), {"reset", addr, "m/*"});
  EXPECT_TRUE(none.status.ExitedWith(0)) << none.status.ToString() << "\n" << none.err;
  EXPECT_TRUE(absl::StrContains(none.out, "reset 0 streams")) << none.out;
  EXPECT_FALSE(absl::StripAsciiWhitespace(none.err).empty());

  // --json: the Ack as one line of JSON.
  const ProgramResult json = RunProgram(MlectlBinary(), {"reset", "--json", addr, "n/c"});
  EXPECT_TRUE(json.status.ExitedWith(0)) << json.status.ToString() << "\n" << json.err;
  mled::v1::ServerMessage message;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  std::string(absl::StripAsciiWhitespace(json.out)), &message)
                  .ok())
      << json.out;
  ASSERT_TRUE(message.has_ack()) << json.out;
  EXPECT_EQ(message.ack().accepted(), 1u);
  EXPECT_TRUE(KnownStreams(*client_).empty());

  // No GLOB is a usage error.
  const ProgramResult usage = RunProgram(MlectlBinary(), {"reset", addr});
  EXPECT_TRUE(usage.status.ExitedWith(2)) << usage.status.ToString() << "\n" << usage.err;

  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.streams_reset(), 3u);
}

}  // namespace
}  // namespace mled::integration
