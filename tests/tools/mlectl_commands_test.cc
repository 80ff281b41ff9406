// The commands of mlectl end to end against FakeMled: what they send, print and exit with.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/udp.hpp"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/tools/fake_mled.h"
#include "tools/mlectl/command.h"
#include "tools/mlectl/commands.h"

namespace mled::mlectl {
namespace {

using ::mled::testing::FakeMled;
using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` as `mlectl NAME args...` would, capturing what it prints.
Result RunCommand(const Command& command, const std::vector<std::string>& args) {
  absl::FlagSaver saver;
  absl::StatusOr<ParsedCommandLine> parsed = ParseCommandLine(command, args);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  Result result;
  result.exit_code = command.run(parsed->positional);
  std::fflush(stdout);
  std::fflush(stderr);
  result.out = ::testing::internal::GetCapturedStdout();
  result.err = ::testing::internal::GetCapturedStderr();
  return result;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Records every request; acks ingests like mled, rejecting samples with a non-finite value.
class Recorder {
 public:
  FakeMled::Reply operator()(const mled::v1::ClientMessage& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (!request.has_ingest()) return std::vector<mled::v1::ServerMessage>{};
    mled::v1::ServerMessage reply;
    mled::v1::Ack& ack = *reply.mutable_ack();
    ack.set_seq(request.ingest().seq());
    for (int i = 0; i < request.ingest().samples_size(); ++i) {
      const mled::v1::Sample& sample = request.ingest().samples(i);
      if (std::all_of(sample.x().begin(), sample.x().end(),
                      [](double x) { return std::isfinite(x); })) {
        ack.set_accepted(ack.accepted() + 1);
        continue;
      }
      ack.set_rejected(ack.rejected() + 1);
      mled::v1::Rejection& rejection = *ack.add_rejections();
      rejection.set_stream(sample.stream());
      rejection.set_code(mled::v1::INVALID_ARGUMENT);
      rejection.set_message("x[0] is not finite");
      rejection.set_index(static_cast<uint32_t>(i));
      rejection.set_rows(1);
    }
    for (const mled::v1::StreamBatch& batch : request.ingest().batches()) {
      ack.set_accepted(ack.accepted() + batch.values_size() / std::max<uint32_t>(batch.dim(), 1));
    }
    return std::vector{reply};
  }

  std::vector<mled::v1::ClientMessage> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<mled::v1::ClientMessage> requests_;
};

TEST(SendTest, ReportsRejectionsWithTheirInputLine) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  const std::string path = WriteFile("send.txt", "# samples\na 1\na 2\n\nb nan\na,3\nc 1 2\n");
  const Result result = RunCommand(SendCommand(), {"--addr=" + mled.address(), "--batch=2", path});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_EQ(result.out, "sent 5 samples: accepted 4, rejected 1\n");
  EXPECT_EQ(result.err, path + ":5: rejected stream \"b\": INVALID_ARGUMENT: x[0] is not finite\n");

  const std::vector<mled::v1::ClientMessage> requests = recorder.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(requests[i].ingest().seq(), i + 1);
  EXPECT_EQ(requests[1].ingest().samples(1).stream(), "a");  // the CSV line
  EXPECT_EQ(requests[2].ingest().samples(0).x_size(), 2);
}

TEST(SendTest, AllAcceptedExitsZero) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  std::string text;
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&text, "s", i % 7, " ", i, "\n");
  const std::string path = WriteFile("many.txt", text);
  const Result result =
      RunCommand(SendCommand(), {"--addr=" + mled.address(), "--batch=10", "--window=4", path});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "sent 1000 samples: accepted 1000, rejected 0\n");
  EXPECT_EQ(recorder.requests().size(), 100u);
}

TEST(SendTest, StopsAtABadLineAfterSendingWhatCameBefore) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  const std::string path = WriteFile("bad.txt", "a 1\na 2\na two\na 4\n");
  const Result result = RunCommand(SendCommand(), {"--addr=" + mled.address(), path});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_EQ(result.out, "sent 2 samples: accepted 2, rejected 0\n");
  EXPECT_THAT(result.err, HasSubstr(path + ":3: field 2 \"two\" is not a number"));
}

TEST(SendTest, UdpSendsBareIngests) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket socket(
      io, boost::asio::ip::udp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  const std::string address = absl::StrCat("127.0.0.1:", socket.local_endpoint().port());
  const std::string path = WriteFile("udp.txt", "a 1\nb 2\nc 3\n");
  const Result result =
      RunCommand(SendCommand(), {"--addr=" + address, "--udp", "--batch=2", path});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "sent 3 samples in 2 datagrams over UDP (not acknowledged)\n");
  std::string datagram(65536, '\0');
  for (int expected : {2, 1}) {
    const size_t n = socket.receive(boost::asio::buffer(datagram));
    mled::v1::Ingest ingest;
    ASSERT_TRUE(ingest.ParseFromArray(datagram.data(), static_cast<int>(n)));
    EXPECT_EQ(ingest.samples_size(), expected);
  }
}

TEST(SendTest, ConnectionRefused) {
  const std::string path = WriteFile("refused.txt", "a 1\n");
  const Result result = RunCommand(
      SendCommand(), {absl::StrCat("--addr=127.0.0.1:", mled::testing::UnusedPort()), path});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("Connection refused (is mled running?"));
}

// Answers a query with one good and one degenerate estimate.
FakeMled::Reply AnswerQuery(const mled::v1::ClientMessage& request) {
  mled::v1::ServerMessage answer;
  answer.mutable_estimates()->set_query_id(request.query().id());
  answer.mutable_estimates()->set_time_unix_nano(1);
  mled::v1::Estimate& good = *answer.mutable_estimates()->add_estimates();
  good.set_stream("cpu");
  good.set_count(3);
  good.set_dim(1);
  good.add_mean(2);
  good.add_covariance(0.5);
  good.set_nll(3.1);
  good.set_mean_nll(1.03);
  mled::v1::Estimate& degenerate = *answer.mutable_estimates()->add_estimates();
  degenerate.set_stream("flat");
  degenerate.set_count(4);
  degenerate.set_dim(1);
  degenerate.add_mean(1);
  degenerate.add_covariance(0);
  return std::vector{answer};
}

TEST(QueryTest, PrintsTheTable) {
  FakeMled mled(AnswerQuery);
  const Result result = RunCommand(QueryCommand(), {"--addr=" + mled.address(), "c*", "flat"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("STREAM"));
  EXPECT_THAT(result.out, HasSubstr("cpu "));
  EXPECT_THAT(result.out, HasSubstr("degenerate"));
  EXPECT_THAT(result.out, Not(HasSubstr("nan")));
}

TEST(QueryTest, JsonIsOneServerMessagePerLine) {
  FakeMled mled(AnswerQuery);
  const Result result = RunCommand(QueryCommand(), {"--addr=" + mled.address(), "--json"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  ASSERT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1);
  mled::v1::ServerMessage parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &parsed).ok());
  ASSERT_EQ(parsed.estimates().estimates_size(), 2);
  EXPECT_TRUE(parsed.estimates().estimates(0).has_nll());
  EXPECT_FALSE(parsed.estimates().estimates(1).has_nll());  // absent, not 0 or NaN
  EXPECT_THAT(result.out, Not(HasSubstr("NaN")));
}

TEST(SubscribeTest, PrintsUpdatesUntilCount) {
  Recorder recorder;
  FakeMled mled([&recorder](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    recorder(request);
    mled::v1::ServerMessage update = *AnswerQuery(request)->begin();
    update.mutable_estimates()->set_query_id(0);
    return std::vector{update, update, update};
  });
  const Result result = RunCommand(
      SubscribeCommand(),
      {"--addr=" + mled.address(), "--count=2", "--interval=250ms", "--timeout=10s", "a/*"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("# update 1 at "));
  EXPECT_THAT(result.out, HasSubstr("# update 2 at "));
  EXPECT_THAT(result.out, Not(HasSubstr("# update 3")));
  const std::vector<mled::v1::ClientMessage> requests = recorder.requests();
  ASSERT_EQ(requests.size(), 1u);
  const mled::v1::Subscribe& subscribe = requests[0].subscribe();
  EXPECT_EQ(subscribe.interval_ms(), 250u);
  ASSERT_EQ(subscribe.streams_size(), 1);
  EXPECT_EQ(subscribe.streams(0), "a/*");
}

TEST(SubscribeTest, TimeoutBeforeCountFails) {
  FakeMled mled([](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    mled::v1::ServerMessage update = *AnswerQuery(request)->begin();
    update.mutable_estimates()->set_query_id(0);
    return std::vector{update};
  });
  const Result result = RunCommand(
      SubscribeCommand(), {"--addr=" + mled.address(), "--count=3", "--timeout=200ms", "--json"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.out, HasSubstr("\"estimates\""));
  EXPECT_THAT(result.err, HasSubstr("received 1 of 3 updates within --timeout=200ms"));
}

TEST(StatsTest, PrintsOneCounterPerLine) {
  FakeMled mled([](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    mled::v1::ServerMessage reply;
    mled::v1::DaemonStats& stats = *reply.mutable_stats();
    stats.set_id(request.stats().id());
    stats.set_streams(3);
    stats.set_samples_accepted(42);
    (*stats.mutable_samples_rejected_by_code())["RESOURCE_EXHAUSTED"] = 1;
    (*stats.mutable_samples_rejected_by_code())["INVALID_ARGUMENT"] = 2;
    return std::vector{reply};
  });
  const Result result = RunCommand(StatsCommand(), {"--addr=" + mled.address()});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\nstreams 3\nsamples_accepted 42\nsamples_rejected 0\n"
                                    "samples_rejected_by_code.INVALID_ARGUMENT 2\n"
                                    "samples_rejected_by_code.RESOURCE_EXHAUSTED 1\n"));
  EXPECT_THAT(result.out, Not(HasSubstr("id ")));
}

TEST(BenchTest, TcpAcksEveryMessageInOrder) {
  for (const char* mode : {"sample", "batch"}) {
    Recorder recorder;
    FakeMled mled(std::ref(recorder));
    const Result result =
        RunCommand(BenchCommand(),
                   {"--addr=" + mled.address(), "--duration=300ms", "--streams=50", "--batch=10",
                    "--window=4", "--dim=2", "--json", absl::StrCat("--mode=", mode)});
    EXPECT_EQ(result.exit_code, kExitOk) << result.err;
    EXPECT_THAT(result.out, HasSubstr("\"transport\":\"tcp\""));
    EXPECT_THAT(result.out, HasSubstr("\"rejected\":0}"));
    const std::vector<mled::v1::ClientMessage> requests = recorder.requests();
    ASSERT_FALSE(requests.empty());
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("\"messages\":", requests.size(), ",")));
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSERT_EQ(requests[i].ingest().seq(), i + 1);
    }
  }
}

TEST(BenchTest, RateLimitsTheLoad) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  // 1000 samples/s in messages of 100: about 5 messages in 500ms.
  const Result result = RunCommand(BenchCommand(), {"--addr=" + mled.address(), "--duration=500ms",
                                                    "--batch=100", "--rate=1000", "--streams=10"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("ack latency"));
  EXPECT_GE(recorder.requests().size(), 4u);
  EXPECT_LE(recorder.requests().size(), 6u);
}

}  // namespace
}  // namespace mled::mlectl
