// StatsD ingest end to end: real datagrams of etsy StatsD and DogStatsD lines to the daemon's
// StatsD socket, estimates checked over TCP against a long double two-pass reference, and the
// daemon's StatsD counters. Gauges, timers, histograms and distributions are one sample per
// value; signed gauges move from the last value; counters become one rate sample per flush
// interval (100 ms here), sum / interval, with 0 for an idle interval; sets are counted only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

constexpr double kFlushSeconds = 0.1;

class StatsdTest : public testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--statsd=127.0.0.1:0", "--statsd_flush_interval=100ms",
                                      kEstimatesOnly};
    flags.insert(flags.end(), extra.begin(), extra.end());
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start(flags));
    ASSERT_FALSE(daemon_->statsd_address().empty()) << daemon_->startup_line();
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
  }

  void Send(const std::string& datagram) {
    ASSERT_OK(SendDatagram(daemon_->statsd_address(), datagram));
  }

  // Polls until `stream` has at least `count` samples, and returns its estimate.
  absl::StatusOr<mled::v1::Estimate> WaitForCount(const std::string& stream, uint64_t count) {
    absl::StatusOr<mled::v1::Estimates> answer =
        PollQuery(*client_, {stream}, [&](const mled::v1::Estimates& estimates) {
          return estimates.estimates_size() == 1 && estimates.estimates(0).count() >= count;
        });
    if (!answer.ok()) return answer.status();
    return answer->estimates(0);
  }

  // Waits for `stream` to hold exactly the samples `values` and compares it with the reference.
  void ExpectStream(const std::string& stream, const std::vector<double>& values) {
    ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, WaitForCount(stream, values.size()));
    EXPECT_TRUE(EstimateMatches(estimate, TwoPassReference(values, 1), 1e-12)) << stream;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(StatsdTest, EveryNumericTypeIsOneSamplePerValue) {
  StartDaemon();
  // Several lines a datagram, with and without a trailing newline, and "\r\n".
  Send("svc/latency:12.5|ms\nsvc/latency:7|ms|@0.5\nsvc/latency:30.25|ms\n");
  Send("svc/latency:1|ms|@0.01\r\nsvc/size:512|h\r\nsvc/size:2048|h|@0.25");
  Send("svc/dist:3|d|@0.1\nsvc/dist:4:5:6|d\nsvc/size:1024|h");
  // @rate does not weight: each line is one sample whatever its rate.
  ExpectStream("svc/latency", {12.5, 7, 30.25, 1});
  ExpectStream("svc/size", {512, 2048, 1024});
  ExpectStream("svc/dist", {3, 4, 5, 6});
}

TEST_F(StatsdTest, NumberFormsOfJavaScriptAndC) {
  StartDaemon();
  Send("n/tiny:1e-7|ms\nn/tiny:2.5E-7|ms\nn/tiny:.5e-7|ms\nn/tiny:-1e-7|ms\n");
  Send("n/huge:1e+21|h\nn/huge:2e21|h\nn/huge:1.5e+21|h|@0.5");
  Send("n/plain:0.5|d\nn/plain:.25|d\nn/plain:-3|d\nn/plain:42|d|@1\n");
  ExpectStream("n/tiny", {1e-7, 2.5e-7, 0.5e-7, -1e-7});
  ExpectStream("n/huge", {1e21, 2e21, 1.5e21});
  ExpectStream("n/plain", {0.5, 0.25, -3, 42});
}

TEST_F(StatsdTest, TagsInAnyOrderAreOneStreamAndUnknownFieldsAreSkipped) {
  StartDaemon();
  Send("web/req:10|ms|#host:a,env:prod\nweb/req:20|ms|@0.5|#env:prod,host:a\n");
  Send("web/req:30|ms|#env:prod,host:a,env:prod|c:abc123|T1656581400\n"
       "web/req:40|ms|card:low|#host:a,env:prod");
  // Other tags are another stream; a key-only tag sorts with the rest.
  Send("web/req:99|ms|#host:b,env:prod\nweb/req:5|ms|#canary,host:a,env:prod");
  ExpectStream("web/req;env:prod;host:a", {10, 20, 30, 40});
  ExpectStream("web/req;env:prod;host:b", {99});
  ExpectStream("web/req;canary;env:prod;host:a", {5});
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates all, QueryEstimates(*client_, {"web/*"}));
  EXPECT_EQ(all.estimates_size(), 3);
}

TEST_F(StatsdTest, SignedGaugesAreDeltasFromTheLastValue) {
  StartDaemon();
  Send("q/depth:10|g\nq/depth:+3|g\nq/depth:-5|g");
  Send("q/depth:-0.5|g|@0.5\nq/depth:100|g\nq/depth:+1e-7|g\n");
  // A gauge never seen moves from 0.
  Send("q/fresh:-4|g\nq/fresh:+1|g|#\n");
  ExpectStream("q/depth", {10, 13, 8, 7.5, 100, 100 + 1e-7});
  ExpectStream("q/fresh", {-4, -3});
}

TEST_F(StatsdTest, CounterIsOneRateSamplePerIntervalWithZeroWhenIdle) {
  StartDaemon();
  // One datagram: all increments land in one interval. Sum of value/rate = 1 + 4 + 30 + 0.5.
  Send("hits:1|c\nhits:2|c|@0.5\nhits:3|c|@0.1\nhits:0.5|c|#\n");
  // Wait for a few flushes after it: one sample with the rate, then zeros.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, WaitForCount("hits", 4));
  const double sum = 1.0 / 1 + 2.0 / 0.5 + 3.0 / 0.1 + 0.5;
  std::vector<double> rates(estimate.count(), 0.0);
  rates[0] = sum / kFlushSeconds;
  EXPECT_TRUE(EstimateMatches(estimate, TwoPassReference(rates, 1), 1e-12))
      << "count " << estimate.count() << ", mean " << estimate.mean(0);
}

TEST_F(StatsdTest, CounterRatesSumToTheIncrementsOverInterval) {
  StartDaemon();
  // Increments spread over several datagrams, so over one or more intervals: whichever way
  // they fall, the rate samples sum to (sum of value/rate) / interval.
  double sum = 0;
  for (int i = 0; i < 20; ++i) {
    const double value = 1 + i % 7;
    Send(absl::StrCat("spread:", value, "|c|@0.25\nspread:", -value / 2, "|c"));
    sum += value / 0.25 - value / 2;
  }
  Send("spread:1e-7|c\nspread:1e+3|c|@0.5");
  sum += 1e-7 + 2e3;
  // The last datagram is in once the stats count it; one more flush after that and every
  // increment is in a rate sample.
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.statsd_datagrams() >= 21;
                       }));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate first, WaitForCount("spread", 1));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate,
                       WaitForCount("spread", first.count() + 2));
  const double rate_sum = estimate.mean(0) * static_cast<double>(estimate.count());
  EXPECT_NEAR(rate_sum * kFlushSeconds, sum, 1e-9 * sum);
  EXPECT_EQ(stats.statsd_lines(), 42u);
}

TEST_F(StatsdTest, MalformedLinesAreCountedAndTheRestApplied) {
  StartDaemon();
  Send("m/ok:1|ms\nno_colon_or_bar\nm/ok:x|ms\nm/ok:2|zz\n:3|ms\nm/ok:2|ms\nm/ok:nan|g\n"
       "m/ok:1|ms|@0\nm/ok:1|ms|@2\nm/ok:inf|ms\nm/ok:3|ms");
  Send("users:alice|s\nusers:bob|s|#env:prod\nm/ok:4|ms\n");
  ExpectStream("m/ok", {1, 2, 3, 4});
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.statsd_datagrams() >= 2;
                       }));
  EXPECT_EQ(stats.statsd_datagrams(), 2u);
  EXPECT_EQ(stats.statsd_lines(), 14u);
  EXPECT_EQ(stats.statsd_lines_malformed(), 8u);
  EXPECT_EQ(stats.statsd_sets(), 2u);
  EXPECT_EQ(stats.samples_accepted_statsd(), 4u);
  EXPECT_EQ(stats.samples_accepted(), 4u);
  EXPECT_EQ(stats.samples_rejected(), 0u);
  EXPECT_EQ(stats.statsd_receive_drops(), 0u);
  // Sets make no stream.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates all, QueryEstimates(*client_, {}));
  EXPECT_EQ(all.estimates_size(), 1);
}

TEST_F(StatsdTest, CountersOfEveryKindAreReported) {
  StartDaemon();
  Send("a:1|ms\na:2|ms\n");                             // 2 lines, 2 samples
  Send("a:3|h|@0.5\nbad line\nu:v|s\nb:1:2:3|d");       // 4 lines: 4 samples, 1 malformed, 1 set
  Send("g:5|g\ng:+1|g");                                // 2 lines, 2 samples
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.statsd_datagrams() >= 3;
                       }));
  EXPECT_EQ(stats.statsd_datagrams(), 3u);
  EXPECT_EQ(stats.statsd_lines(), 8u);
  EXPECT_EQ(stats.statsd_lines_malformed(), 1u);
  EXPECT_EQ(stats.statsd_sets(), 1u);
  EXPECT_EQ(stats.samples_accepted_statsd(), 8u);
  EXPECT_EQ(stats.samples_accepted_udp(), 0u);
  EXPECT_EQ(stats.samples_accepted_tcp(), 0u);
  EXPECT_EQ(stats.udp_datagrams(), 0u);
  EXPECT_EQ(stats.statsd_receive_drops(), 0u);
  EXPECT_EQ(stats.streams(), 3u);
}

TEST_F(StatsdTest, InvalidValuesAndNamesAreRejectedLikeAnyOtherSample) {
  StartDaemon({"--max_abs_value=1e6", "--max_name_bytes=16"});
  // Too large a value (the engine's limit), a name too long for a timer (the applier) and for
  // a gauge and a counter (refused before they take state): counted as rejected samples.
  Send("v/ok:1|ms\nv/ok:1e7|ms\nthis_name_is_too_long:1|ms\nthis_name_is_too_long:1|g\n"
       "this_name_is_too_long:1|c\nv/ok:2|ms");
  ExpectStream("v/ok", {1, 2});
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.samples_rejected() >= 4;
                       }));
  EXPECT_EQ(stats.samples_rejected(), 4u);
  ASSERT_EQ(stats.samples_rejected_by_code().count("INVALID_ARGUMENT"), 1u);
  EXPECT_EQ(stats.samples_rejected_by_code().at("INVALID_ARGUMENT"), 4u);
  EXPECT_EQ(stats.samples_accepted_statsd(), 2u);
}

TEST_F(StatsdTest, GaugeAndCounterNamesAreBoundedByMaxStreams) {
  StartDaemon({"--max_streams=2"});
  Send("b/g1:1|g\nb/g2:2|g\nb/g3:3|g\nb/c1:1|c\nb/g1:+1|g");
  ExpectStream("b/g1", {1, 2});
  ExpectStream("b/g2", {2});
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.samples_rejected() >= 2;
                       }));
  EXPECT_EQ(stats.samples_rejected(), 2u);
  ASSERT_EQ(stats.samples_rejected_by_code().count("RESOURCE_EXHAUSTED"), 1u);
  EXPECT_EQ(stats.samples_rejected_by_code().at("RESOURCE_EXHAUSTED"), 2u);
  EXPECT_EQ(stats.streams(), 2u);
}

TEST_F(StatsdTest, OversizedDatagramIsCountedAndDropped) {
  StartDaemon({"--max_datagram_bytes=64"});
  std::string big;
  while (big.size() <= 64) big += "big:1|ms\n";
  Send(big);
  Send("small:1|ms\nsmall:2|ms");
  ExpectStream("small", {1, 2});
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.statsd_datagrams() >= 2;
                       }));
  EXPECT_EQ(stats.statsd_lines_malformed(), 1u);
  EXPECT_EQ(stats.samples_accepted_statsd(), 2u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates all, QueryEstimates(*client_, {"big"}));
  EXPECT_EQ(all.estimates_size(), 0);
}

TEST_F(StatsdTest, ManyDatagramsInABurstAreAllApplied) {
  StartDaemon();
  // More datagrams than one recvmmsg call returns, each of several lines.
  std::vector<double> values;
  for (int d = 0; d < 300; ++d) {
    std::string datagram;
    for (int l = 0; l < 5; ++l) {
      const double x = d * 5 + l;
      values.push_back(x);
      absl::StrAppend(&datagram, "burst:", x, "|ms\n");
    }
    Send(datagram);
  }
  // Loopback UDP may drop under a burst only if the receive buffer overflows, which the 32 MiB
  // default rules out here; the kernel's count would say so.
  ExpectStream("burst", values);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));
  EXPECT_EQ(stats.statsd_receive_drops(), 0u);
  EXPECT_EQ(stats.statsd_datagrams(), 300u);
}

// The protobuf UDP socket shares the StatsD socket's receiver (daemon/udp_receiver): batches of
// datagrams, oversized ones counted and dropped, and the two sockets' counters kept apart.
TEST_F(StatsdTest, ProtobufUdpSocketUsesTheSameReceiver) {
  StartDaemon({"--max_datagram_bytes=512"});
  std::vector<double> values;
  for (int d = 0; d < 150; ++d) {
    mled::v1::Ingest ingest;
    *ingest.add_samples() = MakeSample("udp/x", {static_cast<double>(d)});
    values.push_back(d);
    ASSERT_OK(SendDatagram(daemon_->udp_address(), ingest.SerializeAsString()));
  }
  mled::v1::Ingest big;
  *big.add_batches() = MakeBatch("udp/big", 1, std::vector<double>(100, 1.0));
  ASSERT_GT(big.ByteSizeLong(), 512u);
  ASSERT_OK(SendDatagram(daemon_->udp_address(), big.SerializeAsString()));
  Send("s/x:1|ms");
  ExpectStream("udp/x", values);
  ExpectStream("s/x", {1});
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [](const mled::v1::DaemonStats& s) {
                         return s.udp_datagrams() >= 151;
                       }));
  EXPECT_EQ(stats.udp_datagrams(), 151u);
  EXPECT_EQ(stats.udp_datagrams_malformed(), 1u);
  EXPECT_EQ(stats.samples_accepted_udp(), 150u);
  EXPECT_EQ(stats.samples_accepted_statsd(), 1u);
  EXPECT_EQ(stats.statsd_datagrams(), 1u);
  EXPECT_EQ(stats.udp_receive_drops(), 0u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimates none, QueryEstimates(*client_, {"udp/big"}));
  EXPECT_EQ(none.estimates_size(), 0);
}

TEST_F(StatsdTest, KernelDropsAreCountedExactly) {
  // A tiny receive buffer, so a burst may overflow it (how much depends on the machine): every
  // datagram sent is then either received or counted as dropped by the kernel, even when the
  // drops come last and no later datagram carries their count.
  StartDaemon({"--udp_receive_buffer_bytes=4096"});
  constexpr uint64_t kDatagrams = 3000;
  constexpr uint64_t kLines = 30;
  std::string datagram;
  for (uint64_t l = 0; l < kLines; ++l) absl::StrAppend(&datagram, "drops/x:", l, "|ms\n");
  // From one connected socket, as fast as it goes: faster than the daemon applies 30 lines.
  const size_t colon = daemon_->statsd_address().rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(daemon_->statsd_address().substr(colon + 1))));
  ASSERT_EQ(inet_pton(AF_INET, daemon_->statsd_address().substr(0, colon).c_str(), &to.sin_addr), 1);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)), 0);
  for (uint64_t i = 0; i < kDatagrams; ++i) {
    ASSERT_EQ(send(fd, datagram.data(), datagram.size(), 0),
              static_cast<ssize_t>(datagram.size()));
  }
  close(fd);
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats,
                       PollStats(*client_, [&](const mled::v1::DaemonStats& s) {
                         return s.statsd_datagrams() + s.statsd_receive_drops() >= kDatagrams;
                       }));
  EXPECT_EQ(stats.statsd_datagrams() + stats.statsd_receive_drops(), kDatagrams);
  EXPECT_EQ(stats.samples_accepted_statsd(), stats.statsd_datagrams() * kLines);
  RecordProperty("kernel_drops", static_cast<int>(stats.statsd_receive_drops()));
}

}  // namespace
}  // namespace mled::integration
