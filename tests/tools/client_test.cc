#include "tools/mlectl/client.h"

#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/fake_mled.h"
#include "tools/mlectl/requests.h"

namespace mled::mlectl {
namespace {

using ::mled::testing::FakeMled;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(10);

mled::v1::ServerMessage AckFor(const mled::v1::ClientMessage& request) {
  mled::v1::ServerMessage reply;
  reply.mutable_ack()->set_seq(request.ingest().seq());
  reply.mutable_ack()->set_accepted(request.ingest().samples_size());
  return reply;
}

TEST(ClientTest, ConnectionRefusedSaysHowToStartTheDaemon) {
  const std::string address = absl::StrCat("127.0.0.1:", mled::testing::UnusedPort());
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address, kTimeout);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client.status().message(),
            absl::StrCat("cannot connect to ", address,
                         ": Connection refused (is mled running? start it with scripts/run)"));
}

TEST(ClientTest, BadAddressIsInvalidArgument) {
  EXPECT_EQ(Client::Connect("nonsense", kTimeout).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClientTest, SendsAndReceivesFramesSplitAtEveryByte) {
  FakeMled mled(
      [](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
        return std::vector{AckFor(request)};
      },
      /*byte_by_byte=*/true);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    mled::v1::ClientMessage request;
    request.mutable_ingest()->set_seq(seq);
    request.mutable_ingest()->add_samples()->set_stream("s");
    ASSERT_TRUE((*client)->Send(request, absl::Now() + kTimeout).ok());
  }
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    absl::StatusOr<mled::v1::ServerMessage> reply = (*client)->Receive(absl::Now() + kTimeout);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->ack().seq(), seq);
    EXPECT_EQ(reply->ack().accepted(), 1u);
  }
}

TEST(ClientTest, ReceiveStopsAtTheDeadline) {
  FakeMled mled([](const mled::v1::ClientMessage&) {
    return FakeMled::Reply(std::vector<mled::v1::ServerMessage>{});
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<mled::v1::ServerMessage> reply =
      (*client)->Receive(absl::Now() + absl::Milliseconds(100));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // A deadline in the past only polls.
  EXPECT_EQ((*client)->Receive(absl::InfinitePast()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(ClientTest, CallSkipsOtherMessagesUntilTheAnswer) {
  FakeMled mled([](const mled::v1::ClientMessage& request) -> FakeMled::Reply {
    mled::v1::ServerMessage tick;  // a subscription update, query_id 0
    tick.mutable_estimates()->add_estimates()->set_stream("tick");
    mled::v1::ServerMessage answer;
    answer.mutable_estimates()->set_query_id(request.query().id());
    answer.mutable_estimates()->add_estimates()->set_stream("answer");
    return std::vector{tick, answer};
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<mled::v1::ServerMessage> answer = QueryEstimates(**client, {"a*"}, kTimeout);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->estimates().estimates(0).stream(), "answer");
}

TEST(ClientTest, CallTimesOutNamingWhatItWaitedFor) {
  FakeMled mled([](const mled::v1::ClientMessage&) {
    return FakeMled::Reply(std::vector<mled::v1::ServerMessage>{});
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<mled::v1::ServerMessage> answer = FetchStats(**client, absl::Milliseconds(50));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(answer.status().message(), HasSubstr("no statistics from mled at"));
}

TEST(ClientTest, ErrorFromTheDaemonIsAStatus) {
  FakeMled mled([](const mled::v1::ClientMessage&) -> FakeMled::Reply {
    mled::v1::ServerMessage error;
    error.mutable_error()->set_code(mled::v1::MALFORMED_FRAME);
    error.mutable_error()->set_message("cannot decode");
    return std::vector{error};
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<mled::v1::ServerMessage> answer = FetchStats(**client, kTimeout);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(answer.status().message(), "mled answered MALFORMED_FRAME: cannot decode");
}

TEST(ClientTest, ClosedConnectionIsUnavailable) {
  FakeMled mled([](const mled::v1::ClientMessage&) { return FakeMled::Reply(); });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<mled::v1::ServerMessage> answer = FetchStats(**client, kTimeout);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(), HasSubstr("closed the connection"));
}

TEST(ClientTest, SignalCancelsAWait) {
  FakeMled mled([](const mled::v1::ClientMessage&) {
    return FakeMled::Reply(std::vector<mled::v1::ServerMessage>{});
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(mled.address(), kTimeout);
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->CancelOnSignals({SIGUSR1});
  std::raise(SIGUSR1);  // caught by the client's handler, delivered at the next wait
  const absl::StatusOr<mled::v1::ServerMessage> reply = (*client)->Receive(absl::Now() + kTimeout);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace mled::mlectl
