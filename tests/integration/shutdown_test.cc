// Signals: SIGTERM and SIGINT stop the daemon cleanly (exit 0 within a few seconds) even while a
// client streams acked batches, and every Ack received before the close is consistent; SIGHUP
// without a config file keeps the daemon running.
#include <signal.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

constexpr int kRowsPerBatch = 100;
constexpr size_t kWindow = 8;

// Streams acked Ingests (one batch of kRowsPerBatch rows each, up to kWindow in flight) on its
// own thread until the connection ends, checking every Ack against what it sent.
class AckedStreamer {
 public:
  explicit AckedStreamer(std::unique_ptr<Client> client) : client_(std::move(client)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~AckedStreamer() { Join(); }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  uint64_t acked() const { return acked_.load(); }
  uint64_t inconsistencies() const { return inconsistencies_.load(); }
  std::string first_inconsistency() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_inconsistency_;
  }
  // How the stream ended (after Join).
  const absl::Status& end() const { return end_; }

 private:
  void Inconsistent(const std::string& what) {
    inconsistencies_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    if (first_inconsistency_.empty()) first_inconsistency_ = what;
  }

  void Run() {
    std::deque<uint64_t> in_flight;
    uint64_t seq = 0;
    bool receive_ok = true;
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up) {
      while (in_flight.size() < kWindow) {
        mled::v1::Ingest ingest;
        ingest.set_seq(++seq);
        std::vector<double> values(kRowsPerBatch);
        for (int i = 0; i < kRowsPerBatch; ++i) values[static_cast<size_t>(i)] = (seq + i) % 13;
        *ingest.add_batches() = MakeBatch("shutdown/x", 1, values);
        absl::Status sent = client_->Send(IngestMessage(ingest), absl::Now() + kWait);
        if (!sent.ok()) {
          end_ = sent;
          break;
        }
        in_flight.push_back(seq);
      }
      if (!end_.ok()) break;
      absl::StatusOr<mled::v1::ServerMessage> reply = ReceiveAny(*client_);
      if (!reply.ok()) {
        receive_ok = false;
        end_ = reply.status();
        break;
      }
      if (!reply->has_ack()) {
        Inconsistent(absl::StrCat("not an ack: ", reply->ShortDebugString()));
        continue;
      }
      const mled::v1::Ack& ack = reply->ack();
      if (in_flight.empty() || ack.seq() != in_flight.front()) {
        Inconsistent(absl::StrCat("ack out of order: ", ack.ShortDebugString(), " while waiting for ",
                                  in_flight.empty() ? 0 : in_flight.front()));
      } else if (ack.accepted() != kRowsPerBatch || ack.rejected() != 0 ||
                 ack.rejections_size() != 0) {
        Inconsistent(absl::StrCat("wrong counts: ", ack.ShortDebugString()));
      }
      if (!in_flight.empty()) in_flight.pop_front();
      acked_.fetch_add(1);
    }
    // After a failed send, whatever was already received is read too; it must be consistent as
    // well. (After a failed receive there is nothing more to read.)
    while (receive_ok) {
      absl::StatusOr<mled::v1::ServerMessage> reply = ReceiveAny(*client_, absl::Seconds(1));
      if (!reply.ok()) break;
      if (!reply->has_ack() || in_flight.empty() || reply->ack().seq() != in_flight.front()) {
        Inconsistent(absl::StrCat("late message: ", reply->ShortDebugString()));
        break;
      }
      in_flight.pop_front();
      acked_.fetch_add(1);
    }
  }

  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> inconsistencies_{0};
  std::mutex mu_;
  std::string first_inconsistency_;
  absl::Status end_;
};

class ShutdownTest : public testing::TestWithParam<int> {};

TEST_P(ShutdownTest, StopsCleanlyWhileAClientStreamsAckedBatches) {
  const int signal = GetParam();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> streamer_client, Connect(daemon->tcp_address()));
  // An idle connection with a subscription must not hold up the stop either.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> subscriber, Connect(daemon->tcp_address()));
  mled::v1::ClientMessage subscribe;
  subscribe.mutable_subscribe()->add_streams("shutdown/*");
  subscribe.mutable_subscribe()->set_interval_ms(50);
  ASSERT_OK(subscriber->Send(subscribe, absl::Now() + kWait));

  AckedStreamer streamer(std::move(streamer_client));
  const absl::Time deadline = absl::Now() + kWait;
  while (streamer.acked() < 50 && streamer.inconsistencies() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(streamer.acked(), 50u) << "the streamer made no progress: "
                                   << streamer.first_inconsistency();

  const absl::Time signalled = absl::Now();
  ASSERT_TRUE(daemon->SendSignal(signal));
  const std::optional<ExitStatus> status = daemon->WaitForExit(absl::Seconds(20));
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(status.has_value()) << "mled still runs 20 s after signal " << signal;
  EXPECT_TRUE(status->ExitedWith(0)) << status->ToString() << "\nstderr:\n"
                                     << Tail(daemon->StderrText());
  // The stop waits at most 5 s for sessions to flush; "a few seconds" with slack for slow builds.
  EXPECT_LT(took, absl::Seconds(10)) << "stopping took " << took;

  const absl::Time join_start = absl::Now();
  streamer.Join();
  RecordProperty("stop_took", absl::FormatDuration(took));
  RecordProperty("join_took", absl::FormatDuration(absl::Now() - join_start));
  RecordProperty("stream_end", streamer.end().ToString());
  RecordProperty("acked", absl::StrCat(streamer.acked()));
  EXPECT_EQ(streamer.inconsistencies(), 0u) << streamer.first_inconsistency();
  EXPECT_FALSE(streamer.end().ok()) << "the stream should end with the daemon";
  EXPECT_NE(streamer.end().code(), absl::StatusCode::kDataLoss) << streamer.end();
  EXPECT_NE(streamer.end().code(), absl::StatusCode::kDeadlineExceeded)
      << "the daemon neither answered nor closed: " << streamer.end();

  const std::string err = daemon->StderrText();
  EXPECT_TRUE(absl::StrContains(err, signal == SIGTERM ? "SIGTERM" : "SIGINT")) << err;
  // Every session closed by itself, without the 5 s deadline's forced stop.
  EXPECT_FALSE(absl::StrContains(err, "did not flush")) << err;
  // And the port is closed.
  EXPECT_FALSE(Client::Connect(daemon->tcp_address(), absl::Seconds(2)).ok());
}

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownTest, testing::Values(SIGTERM, SIGINT),
                         [](const testing::TestParamInfo<int>& param_info) {
                           return std::string(param_info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

TEST(ShutdownIdleTest, IdleDaemonStopsAtOnce) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> idle, Connect(daemon->tcp_address()));
  ASSERT_OK(QueryEstimates(*idle, {}).status());
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE(daemon->SendSignal(SIGTERM));
  const std::optional<ExitStatus> status = daemon->WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ExitedWith(0)) << status->ToString();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(4));
  // The idle client sees the connection end.
  absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(*idle, absl::Seconds(5));
  EXPECT_EQ(message.status().code(), absl::StatusCode::kUnavailable) << message.status();
}

TEST(ShutdownIdleTest, SighupWithoutConfigKeepsServing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  ASSERT_TRUE(daemon->SendSignal(SIGHUP));
  const absl::Time deadline = absl::Now() + kWait;
  while (!absl::StrContains(daemon->StderrText(), "SIGHUP") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(absl::StrContains(daemon->StderrText(), "SIGHUP")) << daemon->StderrText();
  EXPECT_TRUE(daemon->Running());
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  *ingest.add_samples() = MakeSample("hup/x", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestAndWaitAck(*client, ingest));
  EXPECT_EQ(ack.accepted(), 1u);
}

}  // namespace
}  // namespace mled::integration
