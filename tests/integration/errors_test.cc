// Rejections and protocol errors, each with its code and a clear message, while ANOTHER
// connection keeps ingesting and querying without a single failure (HealthyTraffic).
//
// Rejections (in Acks): non-finite and out-of-range values, a StreamBatch with one bad row (only
// that row rejected), malformed StreamBatches (rejected whole), dimension mismatches, bad stream
// names, limits (max_streams, max_dim), and the cap of 100 Rejection entries per Ack.
// Frame errors (Error messages): an undecodable payload (the connection goes on), a length over
// the limit and a corrupt varint (the connection is closed; the daemon serves the others).
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/wire/framing.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Ingests into "healthy/x" and queries it in a loop on its own connection and thread, checking
// every ack and answer, until stopped.
class HealthyTraffic {
 public:
  explicit HealthyTraffic(std::unique_ptr<Client> client) : client_(std::move(client)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~HealthyTraffic() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  uint64_t rounds() const { return rounds_.load(); }
  uint64_t failures() const { return failures_.load(); }
  std::string first_failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_failure_;
  }
  // Waits (bounded) until `more` further rounds completed.
  bool WaitForMoreRounds(uint64_t more) {
    const uint64_t target = rounds() + more;
    const absl::Time deadline = absl::Now() + kWait;
    while (rounds() < target && failures() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return rounds() >= target;
  }

 private:
  void Fail(const std::string& what) {
    failures_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    if (first_failure_.empty()) first_failure_ = what;
  }

  void Run() {
    uint64_t seq = 0;
    while (!stop_.load()) {
      mled::v1::Ingest ingest;
      ingest.set_seq(++seq);
      *ingest.add_samples() = MakeSample("healthy/x", {static_cast<double>(seq % 10)});
      absl::StatusOr<mled::v1::Ack> ack = IngestAndWaitAck(*client_, ingest);
      if (!ack.ok()) {
        Fail(absl::StrCat("ingest seq ", seq, ": ", ack.status().ToString()));
        return;
      }
      if (ack->accepted() != 1 || ack->rejected() != 0) {
        Fail(absl::StrCat("ingest seq ", seq, ": ", ack->ShortDebugString()));
      }
      absl::StatusOr<mled::v1::Estimate> estimate = QueryStream(*client_, "healthy/x");
      if (!estimate.ok()) {
        Fail(absl::StrCat("query after seq ", seq, ": ", estimate.status().ToString()));
        return;
      }
      if (estimate->count() != seq) {
        Fail(absl::StrCat("after seq ", seq, " the count is ", estimate->count()));
      }
      rounds_.fetch_add(1);
      absl::SleepFor(absl::Milliseconds(2));
    }
  }

  std::unique_ptr<Client> client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> failures_{0};
  std::mutex mu_;
  std::string first_failure_;
};

class ErrorsTest : public testing::Test {
 protected:
  // Starts the daemon with `flags`, the test's client and the healthy traffic, and waits for the
  // healthy traffic's first round (so its stream exists before a test fills the table).
  void StartDaemon(const std::vector<std::string>& flags = {}) {
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start(flags));
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> healthy_client, Connect(daemon_->tcp_address()));
    healthy_ = std::make_unique<HealthyTraffic>(std::move(healthy_client));
    ASSERT_TRUE(healthy_->WaitForMoreRounds(1)) << healthy_->first_failure();
  }

  void TearDown() override {
    if (healthy_ == nullptr) return;
    // The other connection went on working through everything the test did, and still does.
    EXPECT_TRUE(healthy_->WaitForMoreRounds(3)) << "healthy traffic stalled";
    healthy_->Stop();
    EXPECT_EQ(healthy_->failures(), 0u) << healthy_->first_failure();
    EXPECT_GE(healthy_->rounds(), 4u);
  }

  absl::StatusOr<mled::v1::Ack> Ingest(mled::v1::Ingest ingest) {
    ingest.set_seq(++seq_);
    return IngestAndWaitAck(*client_, ingest);
  }

  // Sends raw bytes on `client`.
  static absl::Status SendRaw(Client& client, const std::string& bytes) {
    const absl::string_view piece = bytes;
    return client.SendBytes(absl::MakeConstSpan(&piece, 1), absl::Now() + kWait);
  }

  // Expects the next message to be an Error with `code`; returns its message.
  static std::string ExpectError(Client& client, mled::v1::Code code) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client);
    EXPECT_TRUE(message.ok()) << message.status();
    if (!message.ok()) return "";
    EXPECT_TRUE(message->has_error()) << message->ShortDebugString();
    EXPECT_EQ(message->error().code(), code) << message->ShortDebugString();
    EXPECT_FALSE(message->error().message().empty());
    return message->error().message();
  }

  // Expects the daemon to close `client`'s connection (after anything still queued).
  static void ExpectClosed(Client& client) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client);
    ASSERT_FALSE(message.ok()) << "expected the connection to be closed, got "
                               << message->ShortDebugString();
    EXPECT_EQ(message.status().code(), absl::StatusCode::kUnavailable) << message.status();
  }

  static const mled::v1::Rejection* FindRejection(const mled::v1::Ack& ack, bool batch,
                                                  uint32_t index) {
    for (const mled::v1::Rejection& rejection : ack.rejections()) {
      if (rejection.batch() == batch && rejection.index() == index) return &rejection;
    }
    return nullptr;
  }

  // Checks one Rejection completely.
  static void ExpectRejection(const mled::v1::Ack& ack, bool batch, uint32_t index,
                              const std::string& stream, mled::v1::Code code, uint64_t rows,
                              const std::string& message_part) {
    const mled::v1::Rejection* rejection = FindRejection(ack, batch, index);
    ASSERT_NE(rejection, nullptr) << "no rejection of " << (batch ? "batch " : "sample ") << index
                                  << " in " << ack.ShortDebugString();
    EXPECT_EQ(rejection->stream(), stream) << rejection->ShortDebugString();
    EXPECT_EQ(rejection->code(), code) << rejection->ShortDebugString();
    EXPECT_EQ(rejection->rows(), rows) << rejection->ShortDebugString();
    EXPECT_TRUE(absl::StrContains(rejection->message(), message_part))
        << "message \"" << rejection->message() << "\" does not mention \"" << message_part << "\"";
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<HealthyTraffic> healthy_;
  uint64_t seq_ = 0;
};

TEST_F(ErrorsTest, NonFiniteAndOutOfRangeValuesAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/v", {1.0});            // 0
  *ingest.add_samples() = MakeSample("e/v", {kNaN});           // 1
  *ingest.add_samples() = MakeSample("e/v", {2.0});            // 2
  *ingest.add_samples() = MakeSample("e/w", {kInf});           // 3
  *ingest.add_samples() = MakeSample("e/w", {3.0});            // 4
  *ingest.add_samples() = MakeSample("e/v3", {1.0, -kInf, 2}); // 5
  *ingest.add_samples() = MakeSample("e/v", {});               // 6: no values
  *ingest.add_samples() = MakeSample("e/v", {1e101});          // 7: over max_abs_value
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 5u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejections_size(), 5);
  const auto kInvalid = mled::v1::INVALID_ARGUMENT;
  ExpectRejection(ack, false, 1, "e/v", kInvalid, 1, "NaN");
  ExpectRejection(ack, false, 3, "e/w", kInvalid, 1, "Inf");
  ExpectRejection(ack, false, 5, "e/v3", kInvalid, 1, "-Inf");
  ExpectRejection(ack, false, 6, "e/v", kInvalid, 1, "no values");
  ExpectRejection(ack, false, 7, "e/v", kInvalid, 1, "max_abs_value");
  // The rejections are listed in message order.
  for (int i = 1; i < ack.rejections_size(); ++i) {
    EXPECT_LT(ack.rejections(i - 1).index(), ack.rejections(i).index());
  }

  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate v, QueryStream(*client_, "e/v"));
  EXPECT_EQ(v.count(), 2u);
  EXPECT_EQ(v.mean(0), 1.5);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate w, QueryStream(*client_, "e/w"));
  EXPECT_EQ(w.count(), 1u);
  EXPECT_EQ(QueryStream(*client_, "e/v3").status().code(), absl::StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  const auto by_code = stats.samples_rejected_by_code().find("INVALID_ARGUMENT");
  ASSERT_NE(by_code, stats.samples_rejected_by_code().end()) << stats.ShortDebugString();
  EXPECT_EQ(by_code->second, 5u);
}

TEST_F(ErrorsTest, BatchWithOneNaNRowRejectsOnlyThatRow) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/s", {4.0});
  // Rows (1,2) (3,4) (NaN,1) (5,7) (9,8); the bad row has the latest time, which must not count.
  *ingest.add_batches() =
      MakeBatch("e/b", 2, {1, 2, 3, 4, kNaN, 1, 5, 7, 9, 8}, {10, 20, 999, 40, 30});
  *ingest.add_batches() = MakeBatch("e/ok", 1, {1, 2, 3});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 8u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 1u) << ack.ShortDebugString();
  ASSERT_EQ(ack.rejections_size(), 1) << ack.ShortDebugString();
  ExpectRejection(ack, true, 0, "e/b", mled::v1::INVALID_ARGUMENT, 1, "row 2");
  EXPECT_TRUE(absl::StrContains(ack.rejections(0).message(), "NaN")) << ack.ShortDebugString();

  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate b, QueryStream(*client_, "e/b"));
  EXPECT_TRUE(EstimateMatches(b, TwoPassReference({1, 2, 3, 4, 5, 7, 9, 8}, 2), 1e-12));
  EXPECT_EQ(b.last_time_unix_nano(), 40);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate ok, QueryStream(*client_, "e/ok"));
  EXPECT_EQ(ok.count(), 3u);
}

TEST_F(ErrorsTest, MalformedBatchesAreRejectedWhole) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  *ingest.add_batches() = MakeBatch("e/m1", 2, {1, 2, 3, 4, 5});           // 5 values, dim 2
  *ingest.add_batches() = MakeBatch("e/m2", 1, {1, 2, 3}, {10, 20});       // 3 rows, 2 times
  *ingest.add_batches() = MakeBatch("e/good", 1, {1, 2}, {10, 20});
  *ingest.add_batches() = MakeBatch("e/m3", 3, {1, 2, 3, kNaN, 5, 6, 7}, {});  // not a multiple
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 2u) << ack.ShortDebugString();
  ASSERT_EQ(ack.rejections_size(), 3) << ack.ShortDebugString();
  ExpectRejection(ack, true, 1, "e/m2", mled::v1::INVALID_ARGUMENT, 3, "times");
  const mled::v1::Rejection* m1 = FindRejection(ack, true, 0);
  const mled::v1::Rejection* m3 = FindRejection(ack, true, 3);
  ASSERT_TRUE(m1 != nullptr && m3 != nullptr) << ack.ShortDebugString();
  for (const mled::v1::Rejection* rejection : {m1, m3}) {
    EXPECT_EQ(rejection->code(), mled::v1::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(rejection->message(), "multiple")) << rejection->message();
    EXPECT_GE(rejection->rows(), 1u);
  }
  // The counts are exact and agree with the entries (no entry was capped here).
  EXPECT_EQ(ack.rejected(), m1->rows() + 3 + m3->rows()) << ack.ShortDebugString();
  for (const char* name : {"e/m1", "e/m2", "e/m3"}) {
    EXPECT_EQ(QueryStream(*client_, name).status().code(), absl::StatusCode::kNotFound) << name;
  }
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate good, QueryStream(*client_, "e/good"));
  EXPECT_EQ(good.count(), 2u);
}

TEST_F(ErrorsTest, EmptyBatchGetsARejection) {
  // DESIGN.md: "empty ... values ... are INVALID_ARGUMENT" and "each rejected Sample or
  // StreamBatch gets a Rejection". A batch with no values has no rows to count, but it is still
  // rejected and must be reported, or the sender never learns that its batch was dropped.
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  *ingest.add_batches() = MakeBatch("e/empty", 2, {});
  *ingest.add_samples() = MakeSample("e/fine", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 1u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 0u) << ack.ShortDebugString();  // no rows were rejected
  ASSERT_EQ(ack.rejections_size(), 1) << "the empty batch was dropped silently: "
                                      << ack.ShortDebugString();
  ExpectRejection(ack, true, 0, "e/empty", mled::v1::INVALID_ARGUMENT, 0, "no values");
}

TEST_F(ErrorsTest, DimensionMismatchIsRejected) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest first;
  *first.add_samples() = MakeSample("e/d", {1, 2});  // fixes D = 2
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack1, Ingest(first));
  ASSERT_EQ(ack1.accepted(), 1u);

  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/d", {1, 2, 3});           // sample 0: D = 3
  *ingest.add_samples() = MakeSample("e/d", {3, 4});              // sample 1: fine
  *ingest.add_batches() = MakeBatch("e/d", 1, {1, 2, 3});         // batch 0: D = 1, 3 rows
  *ingest.add_batches() = MakeBatch("e/d", 2, {5, 6, 7, 8});      // batch 1: fine
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 4u) << ack.ShortDebugString();
  ASSERT_EQ(ack.rejections_size(), 2) << ack.ShortDebugString();
  ExpectRejection(ack, false, 0, "e/d", mled::v1::DIMENSION_MISMATCH, 1, "dimension 2");
  ExpectRejection(ack, true, 0, "e/d", mled::v1::DIMENSION_MISMATCH, 3, "dimension 2");

  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate d, QueryStream(*client_, "e/d"));
  EXPECT_EQ(d.count(), 4u);
  EXPECT_EQ(d.dim(), 2u);

  // A new stream takes the dimension of its first sample in message order.
  mled::v1::Ingest fresh;
  *fresh.add_samples() = MakeSample("e/new", {1.0});
  *fresh.add_samples() = MakeSample("e/new", {1.0, 2.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack3, Ingest(fresh));
  EXPECT_EQ(ack3.accepted(), 1u) << ack3.ShortDebugString();
  ExpectRejection(ack3, false, 1, "e/new", mled::v1::DIMENSION_MISMATCH, 1, "dimension 1");
}

TEST_F(ErrorsTest, BadStreamNamesAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string long_name(300, 'x');
  const std::string longest_ok(256, 'y');
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("", {1.0});                      // 0: empty
  *ingest.add_samples() = MakeSample(std::string("a\x01" "b"), {1.0});  // 1: C0 control
  *ingest.add_samples() = MakeSample("tab\there", {1.0});             // 2: C0 control
  *ingest.add_samples() = MakeSample(long_name, {1.0});               // 3: 300 bytes
  *ingest.add_samples() = MakeSample("del\x7f", {1.0});               // 4: DEL
  *ingest.add_samples() = MakeSample("nel\xc2\x85", {1.0});           // 5: C1 control U+0085
  *ingest.add_samples() = MakeSample(longest_ok, {1.0});              // 6: fine (256 bytes)
  *ingest.add_samples() = MakeSample("ok/\xc3\xbc\xe2\x82\xac", {1.0});  // 7: fine (UTF-8)
  *ingest.add_batches() = MakeBatch("", 1, {1, 2});                   // batch 0: empty name
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 2u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 8u) << ack.ShortDebugString();
  const auto kInvalid = mled::v1::INVALID_ARGUMENT;
  ExpectRejection(ack, false, 0, "", kInvalid, 1, "empty");
  ExpectRejection(ack, false, 1, std::string("a\x01" "b"), kInvalid, 1, "control");
  ExpectRejection(ack, false, 2, "tab\there", kInvalid, 1, "control");
  ExpectRejection(ack, false, 3, long_name, kInvalid, 1, "300");
  ExpectRejection(ack, false, 4, "del\x7f", kInvalid, 1, "control");
  ExpectRejection(ack, false, 5, "nel\xc2\x85", kInvalid, 1, "control");
  ExpectRejection(ack, true, 0, "", kInvalid, 2, "empty");
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate longest, QueryStream(*client_, longest_ok));
  EXPECT_EQ(longest.count(), 1u);
}

TEST_F(ErrorsTest, InvalidUtf8NameIsReportedAndTheConnectionGoesOn) {
  // Sample.stream is a proto3 `string`, so protobuf itself refuses to parse invalid UTF-8 in it:
  // the daemon cannot decode the frame and answers MALFORMED_FRAME (lib/wire/decoding.h says so).
  // Either that Error or a per-sample INVALID_ARGUMENT Rejection is acceptable here; what must
  // hold is a clear answer and a connection that goes on.
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  ingest.set_seq(++seq_);
  *ingest.add_samples() = MakeSample("\xff\xfe" "bad", {1.0});
  // Serialize by hand: protobuf only logs about invalid UTF-8 when serializing.
  std::string frame;
  wire::AppendFrame(IngestMessage(ingest), &frame);
  ASSERT_OK(SendRaw(*client_, frame));
  ASSERT_OK_AND_ASSIGN(const mled::v1::ServerMessage reply, ReceiveAny(*client_));
  RecordProperty("reply", reply.ShortDebugString());
  if (reply.has_error()) {
    EXPECT_EQ(reply.error().code(), mled::v1::MALFORMED_FRAME) << reply.ShortDebugString();
    EXPECT_TRUE(absl::StrContains(reply.error().message(), "UTF-8")) << reply.ShortDebugString();
  } else {
    ASSERT_TRUE(reply.has_ack()) << reply.ShortDebugString();
    EXPECT_EQ(reply.ack().rejected(), 1u);
    ASSERT_EQ(reply.ack().rejections_size(), 1);
    EXPECT_EQ(reply.ack().rejections(0).code(), mled::v1::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StrContains(reply.ack().rejections(0).message(), "UTF-8"));
  }
  mled::v1::Ingest next;
  *next.add_samples() = MakeSample("e/after-utf8", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(next));
  EXPECT_EQ(ack.accepted(), 1u);
}

TEST_F(ErrorsTest, UndecodableFrameIsMalformedAndTheConnectionGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  // A valid length (3) with a payload that is no ClientMessage (a truncated varint tag).
  ASSERT_OK(SendRaw(*client_, std::string("\x03\xff\xff\xff", 4)));
  const std::string message = ExpectError(*client_, mled::v1::MALFORMED_FRAME);
  EXPECT_TRUE(absl::StrContains(message, "connection goes on")) << message;
  // An empty frame: a ClientMessage with nothing set.
  ASSERT_OK(SendRaw(*client_, std::string("\x00", 1)));
  ExpectError(*client_, mled::v1::MALFORMED_FRAME);

  // The same connection goes on: a valid Ingest is acked.
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/after-garbage", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 1u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.frames_malformed(), 2u) << stats.ShortDebugString();
}

TEST_F(ErrorsTest, FrameTooLargeClosesOnlyThatConnection) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> bad, Connect(daemon_->tcp_address()));
  std::string bytes;
  wire::AppendVarint(uint64_t{1} << 40, &bytes);
  ASSERT_OK(SendRaw(*bad, bytes));
  const std::string message = ExpectError(*bad, mled::v1::FRAME_TOO_LARGE);
  EXPECT_TRUE(absl::StrContains(message, "1099511627776")) << message;
  EXPECT_TRUE(absl::StrContains(message, "max_frame_bytes")) << message;
  ExpectClosed(*bad);

  // Everyone else is served.
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/after-large", {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 1u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.frames_too_large(), 1u);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> fresh, Connect(daemon_->tcp_address()));
  EXPECT_OK(QueryStream(*fresh, "e/after-large").status());
}

TEST_F(ErrorsTest, FrameOverAConfiguredLimitIsTooLarge) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--max_frame_bytes=1024"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> bad, Connect(daemon_->tcp_address()));
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  *ingest.add_batches() = MakeBatch("e/big", 1, std::vector<double>(200, 1.0));  // ~1.6 KB
  ASSERT_OK(bad->Send(IngestMessage(ingest), absl::Now() + kWait));
  const std::string message = ExpectError(*bad, mled::v1::FRAME_TOO_LARGE);
  EXPECT_TRUE(absl::StrContains(message, "1024")) << message;
  ExpectClosed(*bad);
  EXPECT_EQ(QueryStream(*client_, "e/big").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ErrorsTest, CorruptVarintIsMalformedAndClosesTheConnection) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> bad, Connect(daemon_->tcp_address()));
  // First a good acked frame on the same connection: it is answered before the error.
  mled::v1::Ingest ingest;
  ingest.set_seq(5);
  *ingest.add_samples() = MakeSample("e/before-corrupt", {1.0});
  std::string bytes;
  wire::AppendFrame(IngestMessage(ingest), &bytes);
  bytes.append(11, '\xff');
  ASSERT_OK(SendRaw(*bad, bytes));
  ASSERT_OK_AND_ASSIGN(const mled::v1::ServerMessage first, ReceiveAny(*bad));
  ASSERT_TRUE(first.has_ack()) << first.ShortDebugString();
  EXPECT_EQ(first.ack().seq(), 5u);
  const std::string message = ExpectError(*bad, mled::v1::MALFORMED_FRAME);
  EXPECT_TRUE(absl::StrContains(message, "varint")) << message;
  ExpectClosed(*bad);

  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate,
                       QueryStream(*client_, "e/before-corrupt"));
  EXPECT_EQ(estimate.count(), 1u);
}

TEST_F(ErrorsTest, FullStreamTableRejectsNewStreamsOnly) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--max_streams=100"}));
  // healthy/x is stream 1; add 99 more.
  mled::v1::Ingest fill;
  for (int i = 0; i < 99; ++i) *fill.add_samples() = MakeSample(absl::StrCat("lim/", i), {1.0});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack filled, Ingest(fill));
  ASSERT_EQ(filled.accepted(), 99u) << filled.ShortDebugString();

  mled::v1::Ingest more;
  *more.add_samples() = MakeSample("lim/new", {1.0});              // the 101st stream
  *more.add_samples() = MakeSample("lim/5", {3.0});                // existing: fine
  *more.add_batches() = MakeBatch("lim/new-batch", 1, {1, 2, 3});  // another new one
  *more.add_batches() = MakeBatch("lim/7", 1, {5, 6});             // existing: fine
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(more));
  EXPECT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 4u) << ack.ShortDebugString();
  ExpectRejection(ack, false, 0, "lim/new", mled::v1::RESOURCE_EXHAUSTED, 1, "max_streams");
  ExpectRejection(ack, true, 0, "lim/new-batch", mled::v1::RESOURCE_EXHAUSTED, 3, "max_streams");

  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate five, QueryStream(*client_, "lim/5"));
  EXPECT_EQ(five.count(), 2u);
  EXPECT_EQ(five.mean(0), 2.0);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.streams(), 100u);
  const auto by_code = stats.samples_rejected_by_code().find("RESOURCE_EXHAUSTED");
  ASSERT_NE(by_code, stats.samples_rejected_by_code().end()) << stats.ShortDebugString();
  EXPECT_EQ(by_code->second, 4u);
}

TEST_F(ErrorsTest, DimensionOverMaxDimIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--max_dim=4"}));
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("e/wide", {1, 2, 3, 4, 5});                 // D = 5
  *ingest.add_samples() = MakeSample("e/four", {1, 2, 3, 4});                    // D = 4: fine
  *ingest.add_batches() = MakeBatch("e/wide-batch", 5, std::vector<double>(10, 1.0));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  EXPECT_EQ(ack.accepted(), 1u) << ack.ShortDebugString();
  EXPECT_EQ(ack.rejected(), 3u) << ack.ShortDebugString();
  ExpectRejection(ack, false, 0, "e/wide", mled::v1::RESOURCE_EXHAUSTED, 1, "max_dim");
  ExpectRejection(ack, true, 0, "e/wide-batch", mled::v1::RESOURCE_EXHAUSTED, 2, "max_dim");
}

TEST_F(ErrorsTest, RejectionEntriesAreCappedButCountsAreExact) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  mled::v1::Ingest ingest;
  uint64_t good = 0;
  for (int i = 0; i < 260; ++i) {
    if (i % 26 == 0) {
      *ingest.add_samples() = MakeSample("e/cap", {1.0 * i});
      ++good;
    } else {
      *ingest.add_samples() = MakeSample("e/cap", {kNaN});
    }
  }
  *ingest.add_batches() = MakeBatch("e/cap", 1, std::vector<double>(30, kInf));  // 30 bad rows
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, Ingest(ingest));
  const uint64_t bad = 260 - good + 30;
  EXPECT_EQ(ack.accepted(), good);
  EXPECT_EQ(ack.rejected(), bad);
  EXPECT_EQ(ack.rejections_size(), 100);
  // The first 100 rejected entries, in order.
  uint32_t previous = 0;
  for (int i = 0; i < ack.rejections_size(); ++i) {
    EXPECT_FALSE(ack.rejections(i).batch());
    EXPECT_EQ(ack.rejections(i).code(), mled::v1::INVALID_ARGUMENT);
    if (i > 0) {
      EXPECT_GT(ack.rejections(i).index(), previous);
    }
    previous = ack.rejections(i).index();
  }
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.samples_rejected(), bad);
}

}  // namespace
}  // namespace mled::integration
