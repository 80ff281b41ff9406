// mled::mlectl::Client (tools/mlectl/client.h), the blocking client every integration test and
// mlectl use, against the real daemon: the behaviour its header documents for a connection that
// the daemon closed.
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/wire/framing.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

// client.h: "UNAVAILABLE  cannot connect, or the daemon closed the connection". That must hold
// for every call after the close, at once, not only for the first one: a caller that loops on
// Receive (a subscriber, a drain of pending acks) must not sit out its whole deadline.
TEST(ClientTest, EveryReceiveAfterTheDaemonClosedFailsAtOnce) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  // Make the daemon close this connection: an announced frame length far over the limit.
  std::string bytes;
  wire::AppendVarint(uint64_t{1} << 40, &bytes);
  const absl::string_view piece = bytes;
  ASSERT_OK(client->SendBytes(absl::MakeConstSpan(&piece, 1), absl::Now() + kWait));
  mled::v1::ServerMessage message;
  const absl::Status error = client->Receive(absl::Now() + kWait, &message);
  ASSERT_EQ(error.code(), absl::StatusCode::kFailedPrecondition) << error;
  ASSERT_EQ(message.error().code(), mled::v1::FRAME_TOO_LARGE);

  for (int attempt = 1; attempt <= 4; ++attempt) {
    const absl::Time start = absl::Now();
    const absl::Status status = client->Receive(absl::Now() + absl::Seconds(3), &message);
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable)
        << "receive " << attempt << " after the close: " << status << " after " << took;
    EXPECT_LT(took, absl::Seconds(2))
        << "receive " << attempt << " after the close waited for its deadline (" << took
        << ") instead of reporting the closed connection";
    if (took >= absl::Seconds(2)) break;  // one such wait shows it
  }
}

}  // namespace
}  // namespace mled::integration
