// The commands of mlectl end to end against FakeMled: what they send, print and exit with.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/udp.hpp"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
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
// With `return_scores` it scores every accepted row with a toy model: the first row of a stream
// is warm-up, every later one scores x[0] against a threshold of 10, with p-value exp(-x[0]) and
// d² = x[0]². A Reset clears the streams seen so far that match its globs (fnmatch), and an empty
// one is rejected, as by mled.
class Recorder {
 public:
  FakeMled::Reply operator()(const mled::v1::ClientMessage& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (request.has_reset()) return std::vector{AnswerReset(request.reset())};
    if (!request.has_ingest()) return std::vector<mled::v1::ServerMessage>{};
    const bool scores = request.ingest().return_scores();
    mled::v1::ServerMessage reply;
    mled::v1::Ack& ack = *reply.mutable_ack();
    ack.set_seq(request.ingest().seq());
    for (int i = 0; i < request.ingest().samples_size(); ++i) {
      const mled::v1::Sample& sample = request.ingest().samples(i);
      if (std::all_of(sample.x().begin(), sample.x().end(),
                      [](double x) { return std::isfinite(x); })) {
        ack.set_accepted(ack.accepted() + 1);
        if (scores) *ack.add_scores() = Score(sample.stream(), sample.x(0), i, false, 0);
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
    for (int i = 0; i < request.ingest().batches_size(); ++i) {
      const mled::v1::StreamBatch& batch = request.ingest().batches(i);
      const int dim = static_cast<int>(std::max<uint32_t>(batch.dim(), 1));
      const int rows = batch.values_size() / dim;
      ack.set_accepted(ack.accepted() + rows);
      for (int row = 0; scores && row < rows; ++row) {
        *ack.add_scores() = Score(batch.stream(), batch.values(row * dim), i, true, row);
      }
    }
    return std::vector{reply};
  }

  std::vector<mled::v1::ClientMessage> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  mled::v1::RowScore Score(const std::string& stream, double x0, int index, bool batch, int row) {
    mled::v1::RowScore score;
    score.set_index(static_cast<uint32_t>(index));
    score.set_batch(batch);
    score.set_row(static_cast<uint32_t>(row));
    if (!seen_.insert(stream).second) {
      score.set_scored(true);
      score.set_score(x0);
      score.set_threshold(10);
      score.set_p_value(std::exp(-x0));
      score.set_mahalanobis2(x0 * x0);
      score.set_anomaly(x0 > 10);
    }
    return score;
  }

  mled::v1::ServerMessage AnswerReset(const mled::v1::Reset& reset) {
    mled::v1::ServerMessage reply;
    mled::v1::Ack& ack = *reply.mutable_ack();
    ack.set_seq(reset.seq());
    if (reset.streams().empty()) {
      ack.set_rejected(1);
      mled::v1::Rejection& rejection = *ack.add_rejections();
      rejection.set_code(mled::v1::INVALID_ARGUMENT);
      rejection.set_message("a Reset must name streams (\"*\" for all)");
      return reply;
    }
    for (auto it = seen_.begin(); it != seen_.end();) {
      const bool match = std::any_of(
          reset.streams().begin(), reset.streams().end(),
          [&](const std::string& glob) { return fnmatch(glob.c_str(), it->c_str(), 0) == 0; });
      if (match) ack.set_accepted(ack.accepted() + 1);
      it = match ? seen_.erase(it) : std::next(it);
    }
    return reply;
  }

  std::mutex mutex_;
  std::vector<mled::v1::ClientMessage> requests_;
  std::set<std::string> seen_;  // streams with a row since they began or were reset
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

TEST(SendTest, ScoresArePrintedPerAcceptedRowInInputOrder) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  const std::string path = WriteFile("scores.txt", "a 1\na 2\nb nan\na 12\nc 1 2\nc,3,4\n");
  const Result result =
      RunCommand(SendCommand(), {"--addr=" + mled.address(), "--batch=2", "--scores", path});
  EXPECT_EQ(result.exit_code, kExitFailure);  // for the rejected line, not for the anomaly
  EXPECT_EQ(result.out,
            "a x=1 warm-up\n"
            "a x=2 score=2 threshold=10 p=0.135 d2=4\n"
            "a x=12 score=12 threshold=10 p=6.14e-06 d2=144 ANOMALY\n"
            "c x=[1,2] warm-up\n"
            "c x=[3,4] score=3 threshold=10 p=0.0498 d2=9\n"
            "sent 6 samples: accepted 5, rejected 1; scored 3, anomalies 1\n");
  EXPECT_EQ(result.err, path + ":3: rejected stream \"b\": INVALID_ARGUMENT: x[0] is not finite\n");
  const std::vector<mled::v1::ClientMessage> requests = recorder.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const mled::v1::ClientMessage& request : requests) {
    EXPECT_TRUE(request.ingest().return_scores());
    EXPECT_NE(request.ingest().seq(), 0u);
  }
}

TEST(SendTest, WithoutScoresNoneAreAskedFor) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  const Result result = RunCommand(
      SendCommand(), {"--addr=" + mled.address(), WriteFile("noscores.txt", "a 1\na 2\n")});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "sent 2 samples: accepted 2, rejected 0\n");
  ASSERT_EQ(recorder.requests().size(), 1u);
  EXPECT_FALSE(recorder.requests()[0].ingest().return_scores());
}

TEST(SendTest, ScoresAsJsonLines) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  const std::string path = WriteFile("scores.json.txt", "a 1\na 2\nb 0.5 1.5\na 12\n");
  const Result result = RunCommand(
      SendCommand(), {"--addr=" + mled.address(), "--batch=3", "--scores", "--json", path});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  // stdout is JSON lines only; the summary goes to stderr.
  EXPECT_EQ(result.err, "sent 4 samples: accepted 4, rejected 0; scored 2, anomalies 1\n");
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  // Parsed as RowScores, with the joined fields (seq, stream, x) checked as text: this binary
  // also runs under TSan, where Debian's protobuf crashes in map reflection (Struct's fields).
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::vector<mled::v1::RowScore> rows(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[i], &rows[i], options).ok())
        << lines[i];
  }
  EXPECT_THAT(lines[0], HasSubstr(R"("seq":"1","stream":"a","x":[1])"));
  EXPECT_FALSE(rows[0].scored());
  EXPECT_THAT(lines[1], HasSubstr(R"("x":[2])"));
  EXPECT_TRUE(rows[1].scored());
  EXPECT_THAT(lines[2], HasSubstr(R"("stream":"b","x":[0.5,1.5])"));
  EXPECT_EQ(rows[2].index(), 2u);
  EXPECT_THAT(lines[3], HasSubstr(R"("seq":"2")"));
  EXPECT_EQ(rows[3].index(), 0u);
  EXPECT_EQ(rows[3].score(), 12);
  EXPECT_TRUE(rows[3].anomaly());
}

TEST(SendTest, AScoreOfNoSentRowIsAnError) {
  FakeMled mled([](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    mled::v1::ServerMessage reply;
    reply.mutable_ack()->set_seq(request.ingest().seq());
    reply.mutable_ack()->set_accepted(1);
    reply.mutable_ack()->add_scores()->set_index(5);
    return std::vector{reply};
  });
  const Result result = RunCommand(
      SendCommand(), {"--addr=" + mled.address(), "--scores", WriteFile("one.txt", "a 1\n")});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_THAT(result.err,
              HasSubstr("mled scored sample 5 of message seq 1, which has no such row"));
}

TEST(SendTest, AcknowledgementsAreTakenInWhileTheInputPauses) {
  // mled answers with a seq that was never sent: the error shows when send reads that Ack.
  FakeMled mled([](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    mled::v1::ServerMessage reply;
    reply.mutable_ack()->set_seq(request.ingest().seq() + 100);
    return std::vector{reply};
  });
  const std::string fifo = ::testing::TempDir() + "/live.fifo";
  std::remove(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::promise<Result> done;
  std::future<Result> result = done.get_future();
  std::thread sender([&] {
    done.set_value(RunCommand(SendCommand(), {"--addr=" + mled.address(), "--batch=10", "--scores",
                                              "--window=16", fifo}));
  });
  std::ofstream live(fifo);  // a live source: one line, then nothing (yet)
  live << "a 1\n" << std::flush;
  // Neither the batch nor the window is full, yet the sample goes out and its Ack is read while
  // the input waits.
  const bool answered_while_waiting =
      result.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  live.close();  // the end of the input, which ends send either way
  sender.join();
  EXPECT_TRUE(answered_while_waiting);
  const Result ended = result.get();
  EXPECT_EQ(ended.exit_code, kExitFailure);
  EXPECT_THAT(ended.err, HasSubstr("mled acknowledged seq 101 while seq 1 was the oldest"));
  std::remove(fifo.c_str());
}

TEST(SendTest, ScoresNeedTcpAndJsonNeedsScores) {
  const std::string path = WriteFile("usage.txt", "a 1\n");
  Result result = RunCommand(SendCommand(), {"--scores", "--udp", path});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("--scores needs acknowledgements"));
  result = RunCommand(SendCommand(), {"--json", path});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("it needs --scores"));
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

// Answers a subscription with an anomaly event, then an update.
FakeMled::Reply AnomalyThenUpdate(const mled::v1::ClientMessage& request) {
  mled::v1::ServerMessage event;
  mled::v1::Anomaly& anomaly = *event.mutable_anomaly();
  anomaly.set_stream("cpu");
  anomaly.set_time_unix_nano(int64_t{1714564800123000000});
  anomaly.add_x(9.5);
  anomaly.add_mean(0.5);
  anomaly.set_score(41.4);
  anomaly.set_threshold(13.1);
  anomaly.set_p_value(2.26e-19);
  anomaly.set_mahalanobis2(81);
  anomaly.set_suppressed(2);
  anomaly.set_rule("default");
  mled::v1::ServerMessage update = *AnswerQuery(request)->begin();
  update.mutable_estimates()->set_query_id(0);
  return std::vector{event, update};
}

TEST(SubscribeTest, PrintsAnomalyLinesAsTheyArrive) {
  Recorder recorder;
  FakeMled mled([&recorder](const mled::v1::ClientMessage& request) {
    recorder(request);
    return AnomalyThenUpdate(request);
  });
  const Result result = RunCommand(SubscribeCommand(), {"--addr=" + mled.address(), "--count=1",
                                                        "--anomalies", "--timeout=10s"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n');
  ASSERT_GE(lines.size(), 2u);
  // The time is local, so only its shape is fixed.
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.123 "
                            "anomaly cpu rule=default x=9\\.5 mean=0\\.5 score=41\\.4 "
                            "threshold=13\\.1 p=2\\.26e-19 d2=81 z=\\+9 \\(\\+2 suppressed\\)"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("# update 1 at "));
  ASSERT_EQ(recorder.requests().size(), 1u);
  EXPECT_TRUE(recorder.requests()[0].subscribe().anomalies());
}

TEST(SubscribeTest, JsonAnomaliesCarryTheNewFields) {
  FakeMled mled(AnomalyThenUpdate);
  const Result result = RunCommand(SubscribeCommand(), {"--addr=" + mled.address(), "--count=1",
                                                        "--anomalies", "--json", "--timeout=10s"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  mled::v1::ServerMessage parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &parsed).ok());
  EXPECT_EQ(parsed.anomaly().mahalanobis2(), 81);
  EXPECT_EQ(parsed.anomaly().suppressed(), 2u);
  EXPECT_EQ(parsed.anomaly().rule(), "default");
  EXPECT_THAT(lines[1], HasSubstr("\"estimates\""));
}

TEST(ResetTest, ClearsTheMatchingStreams) {
  Recorder recorder;
  FakeMled mled(std::ref(recorder));
  Result result = RunCommand(SendCommand(), {"--addr=" + mled.address(), "--scores",
                                             WriteFile("reset.txt", "a/1 1\na/2 1\nb 1\n")});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;

  result = RunCommand(ResetCommand(), {"--addr=" + mled.address(), "a/*", "nosuch"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "reset 2 streams\n");
  EXPECT_EQ(result.err, "");
  const mled::v1::ClientMessage request = recorder.requests().back();
  ASSERT_TRUE(request.has_reset());
  EXPECT_NE(request.reset().seq(), 0u);
  EXPECT_THAT(
      std::vector<std::string>(request.reset().streams().begin(), request.reset().streams().end()),
      ::testing::ElementsAre("a/*", "nosuch"));

  result = RunCommand(ResetCommand(), {"--addr=" + mled.address(), "--json", "*"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  mled::v1::ServerMessage parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &parsed).ok()) << result.out;
  EXPECT_EQ(parsed.ack().accepted(), 1u);  // b

  result = RunCommand(ResetCommand(), {"--addr=" + mled.address(), "*"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "reset 0 streams\n");
  EXPECT_EQ(result.err, "mlectl: no stream matches\n");
}

TEST(ResetTest, RejectionIsAFailure) {
  Recorder recorder;
  FakeMled mled([&recorder](const mled::v1::ClientMessage& request) {
    mled::v1::ClientMessage empty = request;
    empty.mutable_reset()->clear_streams();  // as if mlectl had sent none
    return recorder(empty);
  });
  const Result result = RunCommand(ResetCommand(), {"--addr=" + mled.address(), "x"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "mlectl: mled rejected the reset: INVALID_ARGUMENT: a Reset must name streams "
            "(\"*\" for all)\n");
}

TEST(ResetTest, NeedsAGlob) {
  const Result result = RunCommand(ResetCommand(), {});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("mlectl reset: needs at least one GLOB; use '*' (quoted for "
                                    "the shell) for every stream"));
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
    stats.set_anomalies(5);
    stats.set_anomaly_events_sent(4);
    stats.set_streams_reset(3);
    stats.set_config_reloads(2);
    stats.set_config_reloads_failed(1);
    return std::vector{reply};
  });
  const Result result = RunCommand(StatsCommand(), {"--addr=" + mled.address()});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\nstreams 3\nsamples_accepted 42\nsamples_rejected 0\n"
                                    "samples_rejected_by_code.INVALID_ARGUMENT 2\n"
                                    "samples_rejected_by_code.RESOURCE_EXHAUSTED 1\n"));
  EXPECT_THAT(result.out, HasSubstr("\nanomalies 5\nanomaly_events_sent 4\nstreams_reset 3\n"
                                    "config_reloads 2\nconfig_reloads_failed 1\n"));
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
