// Subscriptions: updates carry only matching streams that changed since the last update, nothing
// is sent on a tick with no such change, updates come at roughly the subscription's interval,
// and patterns are fnmatch globs (`*` matches `/`, `?`, `[ab]`); an empty list means all streams.
//
// Timing assertions are deliberately loose (counts within wide bounds); every wait is bounded.
#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

mled::v1::ClientMessage SubscribeMessage(const std::vector<std::string>& streams,
                                         uint32_t interval_ms) {
  mled::v1::ClientMessage message;
  for (const std::string& stream : streams) message.mutable_subscribe()->add_streams(stream);
  message.mutable_subscribe()->set_interval_ms(interval_ms);
  return message;
}

// Subscribes and waits until the daemon has registered the subscription: frames of one connection
// are handled in order, so once a later query is answered the Subscribe was handled.
void Subscribe(Client& client, const std::vector<std::string>& streams, uint32_t interval_ms) {
  ASSERT_OK(client.Send(SubscribeMessage(streams, interval_ms), absl::Now() + kWait));
  ASSERT_OK(QueryEstimates(client, {"no-such-stream-just-a-barrier"}).status());
}

// Receives subscription updates (Estimates with query_id 0) until `deadline`. Anything else is a
// test failure.
std::vector<mled::v1::Estimates> CollectUntil(Client& client, absl::Time deadline) {
  std::vector<mled::v1::Estimates> updates;
  while (absl::Now() < deadline) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client, deadline - absl::Now());
    if (!message.ok()) {
      EXPECT_EQ(message.status().code(), absl::StatusCode::kDeadlineExceeded) << message.status();
      break;
    }
    EXPECT_TRUE(message->has_estimates() && message->estimates().query_id() == 0)
        << "not an update: " << message->ShortDebugString();
    if (message->has_estimates()) updates.push_back(message->estimates());
  }
  return updates;
}

// Receives updates until the streams seen include all of `wanted` (or kWait passes).
std::vector<mled::v1::Estimates> CollectUntilSeen(Client& client, std::set<std::string> wanted) {
  std::vector<mled::v1::Estimates> updates;
  const absl::Time deadline = absl::Now() + kWait;
  while (!wanted.empty() && absl::Now() < deadline) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client, deadline - absl::Now());
    if (!message.ok()) {
      ADD_FAILURE() << "waiting for updates of " << absl::StrJoin(wanted, ", ") << ": "
                    << message.status();
      break;
    }
    if (!message->has_estimates()) {
      ADD_FAILURE() << "not an update: " << message->ShortDebugString();
      continue;
    }
    for (const auto& estimate : message->estimates().estimates()) wanted.erase(estimate.stream());
    updates.push_back(message->estimates());
  }
  EXPECT_TRUE(wanted.empty()) << "never updated: " << absl::StrJoin(wanted, ", ");
  return updates;
}

std::set<std::string> StreamsIn(const std::vector<mled::v1::Estimates>& updates) {
  std::set<std::string> names;
  for (const auto& update : updates) {
    for (const auto& estimate : update.estimates()) names.insert(estimate.stream());
  }
  return names;
}

void IngestAcked(Client& client, uint64_t seq, const std::vector<std::string>& streams,
                 double value = 1.0) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  for (const std::string& stream : streams) *ingest.add_samples() = MakeSample(stream, {value});
  absl::StatusOr<mled::v1::Ack> ack = IngestAndWaitAck(client, ingest);
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->accepted(), streams.size()) << ack->ShortDebugString();
}

// Ingests into `stream` every ~10 ms until `stop`, on its own connection and thread.
class Producer {
 public:
  Producer(std::unique_ptr<Client> client, std::string stream)
      : client_(std::move(client)), stream_(std::move(stream)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Producer() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  uint64_t sent() const { return sent_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  void Run() {
    uint64_t seq = 0;
    while (!stop_.load()) {
      mled::v1::Ingest ingest;
      ingest.set_seq(++seq);
      *ingest.add_samples() = MakeSample(stream_, {static_cast<double>(seq % 7)});
      absl::StatusOr<mled::v1::Ack> ack = IngestAndWaitAck(*client_, ingest);
      if (!ack.ok() || ack->accepted() != 1) {
        failures_.fetch_add(1);
      } else {
        sent_.fetch_add(1);
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  std::unique_ptr<Client> client_;
  std::string stream_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

class SubscribeTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start()); }
  std::unique_ptr<Client> NewClient() {
    absl::StatusOr<std::unique_ptr<Client>> client = Connect(daemon_->tcp_address());
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(SubscribeTest, UpdatesCarryOnlyMatchingChangedStreams) {
  std::unique_ptr<Client> subscriber = NewClient();
  std::unique_ptr<Client> producer = NewClient();
  ASSERT_TRUE(subscriber && producer);
  ASSERT_NO_FATAL_FAILURE(Subscribe(*subscriber, {"a/*"}, 100));

  // a/x twice, a/y once, b/z (not matching) three times.
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  *ingest.add_samples() = MakeSample("a/x", {1.0});
  *ingest.add_samples() = MakeSample("a/x", {3.0});
  *ingest.add_samples() = MakeSample("a/y", {5.0});
  *ingest.add_batches() = MakeBatch("b/z", 1, {1, 2, 3});
  ASSERT_OK(IngestAndWaitAck(*producer, ingest).status());

  const std::vector<mled::v1::Estimates> first = CollectUntilSeen(*subscriber, {"a/x", "a/y"});
  EXPECT_EQ(StreamsIn(first), (std::set<std::string>{"a/x", "a/y"}));
  for (const auto& update : first) {
    EXPECT_EQ(update.query_id(), 0u);
    EXPECT_GT(update.time_unix_nano(), 0);
    for (const auto& estimate : update.estimates()) {
      if (estimate.stream() == "a/x") {
        EXPECT_EQ(estimate.count(), 2u);
        EXPECT_EQ(estimate.mean(0), 2.0);
      }
      if (estimate.stream() == "a/y") {
        EXPECT_EQ(estimate.count(), 1u);
      }
    }
  }

  // Only a/y changes now (and b/z, which does not match): the next updates carry a/y alone.
  IngestAcked(*producer, 2, {"a/y", "b/z"}, 7.0);
  const std::vector<mled::v1::Estimates> second = CollectUntilSeen(*subscriber, {"a/y"});
  EXPECT_EQ(StreamsIn(second), (std::set<std::string>{"a/y"}));
  ASSERT_FALSE(second.empty());
  const mled::v1::Estimate& latest = second.back().estimates(0);
  EXPECT_EQ(latest.count(), 2u);
  EXPECT_EQ(latest.mean(0), 6.0);

  // A non-matching change alone, then quiet: ticks with no changed matching stream send nothing
  // (6 intervals of silence).
  IngestAcked(*producer, 3, {"b/z"});
  const std::vector<mled::v1::Estimates> quiet =
      CollectUntil(*subscriber, absl::Now() + absl::Milliseconds(600));
  EXPECT_TRUE(quiet.empty()) << "unexpected update: " << quiet.front().ShortDebugString();
}

TEST_F(SubscribeTest, UpdatesComeAtRoughlyTheInterval) {
  std::unique_ptr<Client> subscriber = NewClient();
  std::unique_ptr<Client> producer_client = NewClient();
  ASSERT_TRUE(subscriber && producer_client);
  ASSERT_NO_FATAL_FAILURE(Subscribe(*subscriber, {"rate/*"}, 100));
  Producer producer(std::move(producer_client), "rate/x");
  // Skip the first update, then count a second's worth.
  ASSERT_FALSE(CollectUntilSeen(*subscriber, {"rate/x"}).empty());
  const std::vector<mled::v1::Estimates> updates =
      CollectUntil(*subscriber, absl::Now() + absl::Seconds(1));
  producer.Stop();
  EXPECT_EQ(producer.failures(), 0u);
  // ~10 expected; loose bounds for loaded machines and sanitizer builds.
  EXPECT_GE(updates.size(), 3u);
  EXPECT_LE(updates.size(), 15u);
  uint64_t last_count = 0;
  for (const auto& update : updates) {
    ASSERT_EQ(update.estimates_size(), 1);
    EXPECT_EQ(update.estimates(0).stream(), "rate/x");
    EXPECT_GE(update.estimates(0).count(), last_count) << "counts go backwards";
    last_count = update.estimates(0).count();
  }
}

TEST_F(SubscribeTest, SubscriptionsWithDifferentIntervalsOnDifferentConnections) {
  std::unique_ptr<Client> fast = NewClient();
  std::unique_ptr<Client> slow = NewClient();
  std::unique_ptr<Client> producer_client = NewClient();
  ASSERT_TRUE(fast && slow && producer_client);
  ASSERT_NO_FATAL_FAILURE(Subscribe(*fast, {"iv/*"}, 100));
  ASSERT_NO_FATAL_FAILURE(Subscribe(*slow, {"iv/*"}, 400));
  {
    Producer producer(std::move(producer_client), "iv/x");
    absl::SleepFor(absl::Seconds(2));
    producer.Stop();
    EXPECT_EQ(producer.failures(), 0u);
    EXPECT_GT(producer.sent(), 10u);
  }
  // The updates wait in the sockets; drain each until it is quiet for longer than its interval.
  const auto drain = [](Client& client) {
    std::vector<mled::v1::Estimates> all;
    while (all.size() < 1000) {
      absl::StatusOr<mled::v1::ServerMessage> message =
          ReceiveAny(client, absl::Milliseconds(900));
      if (!message.ok()) {
        EXPECT_EQ(message.status().code(), absl::StatusCode::kDeadlineExceeded)
            << message.status();
        break;
      }
      EXPECT_TRUE(message->has_estimates()) << message->ShortDebugString();
      all.push_back(message->estimates());
    }
    return all;
  };
  const std::vector<mled::v1::Estimates> fast_updates = drain(*fast);
  const std::vector<mled::v1::Estimates> slow_updates = drain(*slow);
  // The daemon's own publish times give the spacing, independent of when the test reads.
  const auto median_gap_ms = [](const std::vector<mled::v1::Estimates>& updates) {
    std::vector<double> gaps;
    for (size_t i = 1; i < updates.size(); ++i) {
      gaps.push_back(static_cast<double>(updates[i].time_unix_nano() -
                                         updates[i - 1].time_unix_nano()) / 1e6);
    }
    if (gaps.empty()) return 0.0;
    std::sort(gaps.begin(), gaps.end());
    return gaps[gaps.size() / 2];
  };
  // About 20 and 5 updates over the 2 s.
  EXPECT_GE(fast_updates.size(), 6u);
  EXPECT_LE(fast_updates.size(), 30u);
  EXPECT_GE(slow_updates.size(), 2u);
  EXPECT_LE(slow_updates.size(), 8u);
  EXPECT_GT(fast_updates.size(), slow_updates.size());
  const double fast_gap = median_gap_ms(fast_updates);
  const double slow_gap = median_gap_ms(slow_updates);
  EXPECT_GE(fast_gap, 50.0);
  EXPECT_LE(fast_gap, 300.0);
  EXPECT_GE(slow_gap, 250.0);
  EXPECT_LE(slow_gap, 1200.0);
}

TEST_F(SubscribeTest, PatternsAreFnmatchGlobs) {
  std::unique_ptr<Client> subscriber = NewClient();
  std::unique_ptr<Client> producer = NewClient();
  ASSERT_TRUE(subscriber && producer);
  ASSERT_NO_FATAL_FAILURE(Subscribe(*subscriber, {"g/*/z", "s?", "[ab]x"}, 50));
  const std::set<std::string> matching = {"g/1/z", "g/1/2/z", "s1", "ax", "bx"};
  const std::vector<std::string> others = {"g/z", "g/1/zz", "s12", "s", "cx", "[ab]x", "xax"};
  std::vector<std::string> all(matching.begin(), matching.end());
  all.insert(all.end(), others.begin(), others.end());
  IngestAcked(*producer, 1, all);

  std::vector<mled::v1::Estimates> updates = CollectUntilSeen(*subscriber, matching);
  // A few more intervals, so a wrongly matched stream would have shown up.
  const std::vector<mled::v1::Estimates> more =
      CollectUntil(*subscriber, absl::Now() + absl::Milliseconds(300));
  updates.insert(updates.end(), more.begin(), more.end());
  EXPECT_EQ(StreamsIn(updates), matching);
}

TEST_F(SubscribeTest, EmptyListMatchesEveryStreamAtTheDefaultInterval) {
  std::unique_ptr<Client> subscriber = NewClient();
  std::unique_ptr<Client> producer = NewClient();
  ASSERT_TRUE(subscriber && producer);
  // interval_ms 0: the daemon's --publish_interval (100ms, DaemonProcess's default).
  ASSERT_NO_FATAL_FAILURE(Subscribe(*subscriber, {}, 0));
  IngestAcked(*producer, 1, {"e/1", "f", "g/h/i", "\xce\xbb"});
  const std::vector<mled::v1::Estimates> updates =
      CollectUntilSeen(*subscriber, {"e/1", "f", "g/h/i", "\xce\xbb"});
  EXPECT_EQ(StreamsIn(updates), (std::set<std::string>{"e/1", "f", "g/h/i", "\xce\xbb"}));
}

TEST_F(SubscribeTest, OneConnectionIngestsSubscribesAndQueries) {
  // The same connection may ingest, subscribe and query; acks and answers are found among the
  // updates.
  std::unique_ptr<Client> client = NewClient();
  ASSERT_TRUE(client);
  ASSERT_NO_FATAL_FAILURE(Subscribe(*client, {"mix/*"}, 50));
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    IngestAcked(*client, seq, {"mix/a"}, static_cast<double>(seq));
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryStream(*client, "mix/a"));
  EXPECT_EQ(estimate.count(), 20u);
  EXPECT_EQ(estimate.mean(0), 10.5);
  // The ack is queued before the update of the tick that follows it, so after this ack the next
  // update (showing all 21 samples) is still to come.
  IngestAcked(*client, 21, {"mix/a"}, 0.0);
  const absl::Time deadline = absl::Now() + kWait;
  uint64_t seen = 0;
  while (seen < 21 && absl::Now() < deadline) {
    ASSERT_OK_AND_ASSIGN(const mled::v1::ServerMessage message, ReceiveAny(*client));
    ASSERT_TRUE(message.has_estimates()) << message.ShortDebugString();
    ASSERT_EQ(message.estimates().estimates_size(), 1);
    seen = message.estimates().estimates(0).count();
  }
  EXPECT_EQ(seen, 21u);
}

}  // namespace
}  // namespace mled::integration
