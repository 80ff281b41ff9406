// Slow subscribers. One that never reads is disconnected once the bytes queued for it pass
// --max_session_write_bytes, while a producer on another connection keeps getting its acks
// promptly: a slow client never slows ingest. And while a subscriber's writes are stalled its
// updates are coalesced (latest wins) without losing any changed stream.
//
// The arithmetic behind the setup: a session holds at most the update being written plus one
// coalesced update per subscription (latest wins), so the non-reader is only disconnected when
// two updates exceed the limit, i.e. when one update is over half of it (but under all of it,
// or even a fast reader would be cut off). With 64 KiB, 70 streams of D = 8 (about 600 bytes an
// estimate) give updates of about 43 KB.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/wire/framing.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

constexpr int kStreams = 70;
constexpr uint32_t kDim = 8;
constexpr uint64_t kMaxWriteBytes = 65536;

std::string StreamName(int i) { return absl::StrCat("slow/stream-", i); }

// A raw TCP connection with a tiny receive buffer that sends one Subscribe and never reads.
class NonReadingSubscriber {
 public:
  ~NonReadingSubscriber() {
    if (fd_ >= 0) close(fd_);
  }

  absl::Status Open(int port, const mled::v1::ClientMessage& subscribe) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
    // Small, so the daemon's writes stall soon (set before connect so the window stays small).
    const int rcvbuf = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in to;
    std::memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
    }
    std::string frame;
    wire::AppendFrame(subscribe, &frame);
    if (send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) {
      return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  // Reads (now, at last) every update until none came for `quiet` (bounded by `timeout`), and
  // returns them. Records a failure for bytes that are not ServerMessage frames.
  std::vector<mled::v1::ServerMessage> ReadUntilQuiet(absl::Duration quiet, absl::Duration timeout) {
    const timeval tick{0, 50'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    wire::FrameDecoder decoder(uint64_t{1} << 30);
    std::vector<mled::v1::ServerMessage> messages;
    const absl::Time deadline = absl::Now() + timeout;
    absl::Time last_data = absl::Now();
    while (absl::Now() < deadline && absl::Now() - last_data < quiet) {
      const absl::Span<char> space = decoder.PrepareAppend(256 * 1024);
      const ssize_t n = recv(fd_, space.data(), space.size(), 0);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        ADD_FAILURE() << "recv: " << std::strerror(errno);
        break;
      }
      decoder.CommitAppend(static_cast<size_t>(n));
      last_data = absl::Now();
      while (true) {
        const wire::FrameDecoder::Next next = decoder.NextFrame();
        if (next.status == wire::FrameDecoder::Status::kNeedMore) break;
        if (next.status != wire::FrameDecoder::Status::kFrame) {
          ADD_FAILURE() << "the daemon sent bytes that are not frames";
          return messages;
        }
        mled::v1::ServerMessage& message = messages.emplace_back();
        if (!message.ParseFromArray(next.frame.data(), static_cast<int>(next.frame.size()))) {
          ADD_FAILURE() << "a frame that is not a ServerMessage";
          return messages;
        }
      }
    }
    return messages;
  }

  // Reads (now, at last) until the daemon's close shows: EOF or a reset. False if the connection
  // is still open after `timeout`.
  bool DrainUntilClosed(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    const timeval tick{0, 100'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    char buffer[65536];
    while (absl::Now() < deadline) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
};

uint64_t NumberOfSlowDisconnects(Client& monitor) {
  absl::StatusOr<mled::v1::DaemonStats> stats = FetchDaemonStats(monitor);
  EXPECT_TRUE(stats.ok()) << stats.status();
  return stats.ok() ? stats->slow_clients_disconnected() : 0;
}

mled::v1::Ingest OneSamplePerStream(uint64_t seq) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  for (int i = 0; i < kStreams; ++i) {
    std::vector<double> x(kDim);
    for (uint32_t k = 0; k < kDim; ++k) {
      x[k] = static_cast<double>((seq * 31 + static_cast<uint64_t>(i) * 7 + k * k) % 97);
    }
    *ingest.add_samples() = MakeSample(StreamName(i), x);
  }
  return ingest;
}

TEST(SlowSubscriberTest, NonReaderIsDisconnectedWhileProducerKeepsGettingAcks) {
  // Precondition of the arithmetic above: one update is between half and all of the limit.
  {
    mled::v1::ServerMessage update;
    for (int i = 0; i < kStreams; ++i) {
      mled::v1::Estimate* estimate = update.mutable_estimates()->add_estimates();
      estimate->set_stream(StreamName(i));
      estimate->set_count(100000);
      estimate->set_dim(kDim);
      for (uint32_t k = 0; k < kDim; ++k) estimate->add_mean(1.5);
      for (uint32_t k = 0; k < kDim * kDim; ++k) estimate->add_covariance(0.25);
      estimate->set_nll(123.0);
      estimate->set_mean_nll(1.23);
      estimate->set_last_time_unix_nano(1'700'000'000'000'000'000);
    }
    update.mutable_estimates()->set_time_unix_nano(1'700'000'000'000'000'000);
    const size_t bytes = update.ByteSizeLong();
    ASSERT_GT(bytes, kMaxWriteBytes / 2);
    ASSERT_LT(bytes, kMaxWriteBytes);
  }

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({absl::StrCat("--max_session_write_bytes=",
                                                          kMaxWriteBytes),
                                             kEstimatesOnly}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> producer, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> monitor, Connect(daemon->tcp_address()));
  // Create the streams first, so every update carries all of them from the start.
  ASSERT_OK(IngestAndWaitAck(*producer, OneSamplePerStream(1)).status());

  mled::v1::ClientMessage subscribe;
  subscribe.mutable_subscribe()->add_streams("slow/*");
  subscribe.mutable_subscribe()->set_interval_ms(20);
  NonReadingSubscriber slow;
  ASSERT_OK(slow.Open(daemon->tcp_port(), subscribe));
  ASSERT_OK(PollStats(*monitor, [](const mled::v1::DaemonStats& s) {
              return s.subscribers_current() == 1;
            }).status());

  // Produce until the daemon gives up on the non-reader (bounded), timing every ack.
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  absl::Duration slowest_ack;
  uint64_t seq = 1;
  uint64_t disconnected = 0;
  absl::Time next_stats = absl::Now();
  while (absl::Now() < deadline) {
    const absl::Time sent = absl::Now();
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack,
                         IngestAndWaitAck(*producer, OneSamplePerStream(++seq)));
    slowest_ack = std::max(slowest_ack, absl::Now() - sent);
    ASSERT_EQ(ack.accepted(), static_cast<uint64_t>(kStreams)) << ack.ShortDebugString();
    if (absl::Now() >= next_stats) {
      ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*monitor));
      disconnected = stats.slow_clients_disconnected();
      if (disconnected >= 1) break;
      next_stats = absl::Now() + absl::Milliseconds(100);
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_GE(disconnected, 1u) << "the non-reading subscriber was never disconnected (" << seq
                              << " ingests over 40 s)";
  // "Promptly": generous for sanitizer builds on a loaded machine; a healthy daemon acks within
  // a millisecond or so, and a producer held up behind the slow client would wait forever.
  EXPECT_LT(slowest_ack, absl::Seconds(3)) << "slowest ack took " << slowest_ack;
  RecordProperty("ingests_until_disconnect", absl::StrCat(seq));
  RecordProperty("slowest_ack", absl::FormatDuration(slowest_ack));

  // The daemon closed the connection and dropped its subscription; the producer carries on.
  EXPECT_TRUE(slow.DrainUntilClosed(kWait)) << "the slow client's connection is still open";
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*monitor, [](const mled::v1::DaemonStats& s) {
                         return s.subscribers_current() == 0;
                       }));
  EXPECT_EQ(stats.slow_clients_disconnected(), 1u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack,
                       IngestAndWaitAck(*producer, OneSamplePerStream(++seq)));
  EXPECT_EQ(ack.accepted(), static_cast<uint64_t>(kStreams));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate,
                       QueryStream(*producer, StreamName(0)));
  EXPECT_EQ(estimate.count(), seq);
}


// Coalescing (latest wins) must not lose streams. While a subscriber's write is stalled, each new
// update replaces the unsent one; a stream that changed only in a replaced update must still reach
// the subscriber (its latest estimate), or the subscriber keeps a stale estimate of it forever
// without knowing. DESIGN.md: updates carry the streams "changed since the last update".
TEST(SlowSubscriberTest, CoalescedUpdatesKeepEveryChangedStream) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> producer, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> monitor, Connect(daemon->tcp_address()));
  const auto big_round = [](uint64_t seq) {
    mled::v1::Ingest ingest;
    ingest.set_seq(seq);
    for (int i = 0; i < 200; ++i) {
      std::vector<double> x(kDim);
      for (uint32_t k = 0; k < kDim; ++k) x[k] = static_cast<double>((seq + i + k * k) % 11);
      *ingest.add_samples() = MakeSample(absl::StrCat("co/big-", i), x);
    }
    return ingest;
  };
  uint64_t seq = 0;
  ASSERT_OK(IngestAndWaitAck(*producer, big_round(++seq)).status());

  mled::v1::ClientMessage subscribe;
  subscribe.mutable_subscribe()->add_streams("co/*");
  subscribe.mutable_subscribe()->set_interval_ms(20);
  NonReadingSubscriber subscriber;
  ASSERT_OK(subscriber.Open(daemon->tcp_port(), subscribe));

  // Change the big streams every few milliseconds until the subscriber's write has stalled and
  // updates are being coalesced.
  const auto produce_until = [&](const std::function<bool(const mled::v1::DaemonStats&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      absl::StatusOr<mled::v1::Ack> ack = IngestAndWaitAck(*producer, big_round(++seq));
      if (!ack.ok()) return ack.status();
      absl::StatusOr<mled::v1::DaemonStats> stats = FetchDaemonStats(*monitor);
      if (!stats.ok()) return stats.status();
      if (done(*stats)) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(5));
    }
    return absl::DeadlineExceededError("condition not reached while producing");
  };
  uint64_t coalesced = 0;
  ASSERT_OK(produce_until([&](const mled::v1::DaemonStats& s) {
    coalesced = s.updates_coalesced();
    return coalesced >= 3;
  }));
  ASSERT_EQ(NumberOfSlowDisconnects(*monitor), 0u);

  // One change of co/once, then more changes of the big streams only, until the update holding
  // co/once has certainly been replaced.
  mled::v1::Ingest once;
  once.set_seq(++seq);
  *once.add_samples() = MakeSample("co/once", {42.0});
  ASSERT_OK(IngestAndWaitAck(*producer, once).status());
  const uint64_t coalesced_before = coalesced;
  ASSERT_OK(produce_until([&](const mled::v1::DaemonStats& s) {
    return s.updates_coalesced() >= coalesced_before + 3;
  }));

  // Now read everything; co/once must be in some update.
  const std::vector<mled::v1::ServerMessage> updates =
      subscriber.ReadUntilQuiet(absl::Seconds(1), absl::Seconds(30));
  ASSERT_FALSE(updates.empty());
  bool seen = false;
  for (const mled::v1::ServerMessage& update : updates) {
    for (const mled::v1::Estimate& estimate : update.estimates().estimates()) {
      if (estimate.stream() == "co/once") seen = true;
    }
  }
  EXPECT_TRUE(seen) << "co/once changed once, while updates were being coalesced, and never "
                       "reached the subscriber (" << updates.size() << " updates read)";
}

}  // namespace
}  // namespace mled::integration
