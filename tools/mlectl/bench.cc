// mlectl bench: a load generator that measures ingest throughput and acknowledgement latency.
//
// Each connection runs on its own thread with its own Client (or DatagramSender), all sharing
// one immutable BenchFrames prepared before the clock starts. Over TCP a connection keeps up to
// --window Ingests in flight and times each from its send to its Ack (acks come in order, so a
// FIFO of send times pairs them). Over UDP there are no acks; the daemon's counters before and
// after tell how much of what was sent it accepted.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/mlectl/bench_frames.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/datagram_sender.h"
#include "tools/mlectl/requests.h"

ABSL_FLAG(int32_t, connections, 1, "connections (or UDP sockets), each on its own thread");
ABSL_FLAG(int64_t, streams, 10000, "distinct streams, named bench/0000..., sent round-robin");
ABSL_FLAG(int32_t, dim, 1, "dimension D of every sample");
ABSL_FLAG(std::string, mode, "sample",
          "sample: each Ingest carries --batch Sample messages of consecutive streams;\n"
          "batch: each Ingest carries one StreamBatch of --batch rows of one stream");

namespace mled::mlectl {
namespace {

using Clock = std::chrono::steady_clock;

// Runs longer than this print a progress line on stderr every second.
constexpr absl::Duration kProgressAfter = absl::Seconds(3);

// What every connection needs to know; read-only once the threads start.
struct Plan {
  const BenchFrames* frames = nullptr;
  BenchFrames::Transport transport = BenchFrames::Transport::kTcp;
  std::string address;
  int connections = 1;
  size_t window = 1;
  absl::Duration timeout;
  Clock::duration duration{};
  // Time between messages of one connection; zero for no rate limit.
  Clock::duration interval{};
};

// The starting line: every connection connects, reports ready, and waits for `go`, so that
// connecting is not timed and all start together.
struct Start {
  explicit Start(int connections) : ready(connections), running(connections) {}
  std::latch ready;
  std::latch go{1};
  Clock::time_point time;    // written before go opens
  bool abort = false;        // likewise: a connection failed, do not start
  std::atomic<int> running;  // connections not finished yet
};

struct ConnectionResult {
  absl::Status status;
  uint64_t messages = 0;
  uint64_t samples = 0;
  uint64_t bytes = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  std::string first_rejection;
  std::vector<int64_t> ack_latency_ns;
  Clock::time_point finished;
  // Samples acknowledged (TCP) or sent (UDP) so far, read by the main thread for progress.
  std::atomic<uint64_t> progress{0};
};

// One TCP connection: send while the window and the rate allow, then wait for acks.
class TcpLoad {
 public:
  TcpLoad(const Plan& plan, std::unique_ptr<Client> client, ConnectionResult* result)
      : plan_(plan), client_(std::move(client)), result_(result), headers_(plan.window) {}

  absl::Status Run(Clock::time_point start, uint64_t first_index) {
    const Clock::time_point end = start + plan_.duration;
    uint64_t index = first_index;
    while (true) {
      Clock::time_point now = Clock::now();
      if (now >= end) break;
      // Send every message the window and the schedule allow, in one gathered write.
      all_pieces_.clear();
      size_t count = 0;
      while (sent_at_.size() + count < plan_.window && Due(start, sent_ + count) <= now) {
        plan_.frames->Encode(index++, ++seq_, plan_.transport, &headers_[count], &pieces_);
        for (absl::string_view piece : pieces_) result_->bytes += piece.size();
        all_pieces_.insert(all_pieces_.end(), pieces_.begin(), pieces_.end());
        ++count;
      }
      if (count > 0) {
        absl::Status status = client_->SendBytes(all_pieces_, DeadlineAfter(plan_.timeout));
        if (!status.ok()) return status;
        sent_at_.insert(sent_at_.end(), count, now);
        sent_ += count;
      }
      // Wait for an ack: as long as --timeout allows when the window is full, else only until
      // the next message is due.
      const Clock::time_point next_due = std::min(Due(start, sent_), end);
      if (sent_at_.empty()) {
        std::this_thread::sleep_until(next_due);
        continue;
      }
      const bool full = sent_at_.size() == plan_.window;
      absl::Status status =
          AwaitAck(full ? DeadlineAfter(plan_.timeout)
                        : absl::Now() + absl::FromChrono(next_due - Clock::now()));
      if (full || status.code() != absl::StatusCode::kDeadlineExceeded) {
        if (!status.ok()) return NoAck(status);
      }
      // Take the acks that have already arrived, without waiting.
      while (status.ok() && !sent_at_.empty()) {
        status = AwaitAck(absl::InfinitePast());
        if (!status.ok() && status.code() != absl::StatusCode::kDeadlineExceeded) return status;
      }
    }
    while (!sent_at_.empty()) {
      absl::Status status = AwaitAck(DeadlineAfter(plan_.timeout));
      if (!status.ok()) return NoAck(status);
    }
    return absl::OkStatus();
  }

 private:
  // When message `n` of this connection is due.
  Clock::time_point Due(Clock::time_point start, uint64_t n) const {
    return start + plan_.interval * static_cast<int64_t>(n);
  }

  // A DEADLINE_EXCEEDED from waiting for an ack, explained.
  absl::Status NoAck(const absl::Status& status) const {
    if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
    return absl::DeadlineExceededError(absl::StrCat(
        "no acknowledgement from mled within --timeout=", absl::FormatDuration(plan_.timeout)));
  }

  // Receives the next Ack by `deadline` and accounts for it.
  absl::Status AwaitAck(absl::Time deadline) {
    do {
      absl::Status status = client_->Receive(deadline, &reply_);
      if (!status.ok()) return status;
    } while (!reply_.has_ack());
    const mled::v1::Ack& ack = reply_.ack();
    if (ack.seq() != ++acked_seq_) {
      return absl::DataLossError(absl::StrCat("mled acknowledged seq ", ack.seq(), " while seq ",
                                              acked_seq_, " was the oldest unacknowledged"));
    }
    result_->ack_latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent_at_.front())
            .count());
    sent_at_.pop_front();
    ++result_->messages;
    result_->samples += ack.accepted() + ack.rejected();
    result_->accepted += ack.accepted();
    result_->rejected += ack.rejected();
    if (result_->first_rejection.empty() && ack.rejections_size() > 0) {
      const mled::v1::Rejection& r = ack.rejections(0);
      result_->first_rejection = absl::StrCat(
          "stream \"", r.stream(), "\": ", mled::v1::Code_Name(r.code()), ": ", r.message());
    }
    result_->progress.fetch_add(ack.accepted() + ack.rejected(), std::memory_order_relaxed);
    return absl::OkStatus();
  }

  const Plan& plan_;
  std::unique_ptr<Client> client_;
  ConnectionResult* result_;
  std::vector<std::string> headers_;  // one per message of a write
  std::vector<absl::string_view> pieces_;
  std::vector<absl::string_view> all_pieces_;
  std::deque<Clock::time_point> sent_at_;  // send time of each unacknowledged message
  uint64_t sent_ = 0;
  uint64_t seq_ = 0;
  uint64_t acked_seq_ = 0;
  mled::v1::ServerMessage reply_;
};

// One UDP socket: a datagram per message, on schedule.
absl::Status RunUdpLoad(const Plan& plan, DatagramSender& sender, Clock::time_point start,
                        uint64_t first_index, ConnectionResult* result) {
  const Clock::time_point end = start + plan.duration;
  std::string header;
  std::vector<absl::string_view> pieces;
  for (uint64_t n = 0;; ++n) {
    const Clock::time_point due = start + plan.interval * static_cast<int64_t>(n);
    if (due >= end) break;
    if (due > Clock::now()) std::this_thread::sleep_until(due);
    if (Clock::now() >= end) break;
    plan.frames->Encode(first_index + n, n + 1, plan.transport, &header, &pieces);
    absl::Status status = sender.Send(pieces);
    if (!status.ok()) return status;
    for (absl::string_view piece : pieces) result->bytes += piece.size();
    ++result->messages;
    result->samples += plan.frames->shape().batch;
    result->progress.fetch_add(plan.frames->shape().batch, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

void RunConnection(const Plan& plan, int connection, Start& start, ConnectionResult* result) {
  std::unique_ptr<Client> client;
  std::unique_ptr<DatagramSender> sender;
  if (plan.transport == BenchFrames::Transport::kTcp) {
    absl::StatusOr<std::unique_ptr<Client>> connected = Client::Connect(plan.address, plan.timeout);
    if (connected.ok()) client = std::move(*connected);
    result->status = connected.status();
  } else {
    absl::StatusOr<std::unique_ptr<DatagramSender>> opened = DatagramSender::Open(plan.address);
    if (opened.ok()) sender = std::move(*opened);
    result->status = opened.status();
  }
  start.ready.count_down();
  start.go.wait();
  if (!start.abort && result->status.ok()) {
    // Connections start at different points of the cycle, so they do not send the same samples.
    const uint64_t first_index = plan.frames->cycle() * connection / plan.connections;
    result->status = client != nullptr
                         ? TcpLoad(plan, std::move(client), result).Run(start.time, first_index)
                         : RunUdpLoad(plan, *sender, start.time, first_index, result);
  }
  result->finished = Clock::now();
  start.running.fetch_sub(1);
}

// The daemon's count of samples accepted over UDP, once it stops changing (datagrams may still
// sit in its socket buffer when the senders finish); nullopt if it cannot be had.
std::optional<mled::v1::DaemonStats> SettledStats(const std::string& address,
                                                  absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address, timeout);
  if (!client.ok()) return std::nullopt;
  std::optional<mled::v1::DaemonStats> last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    absl::StatusOr<mled::v1::ServerMessage> answer = FetchStats(**client, timeout);
    if (!answer.ok()) return last;
    if (last && last->samples_accepted_udp() == answer->stats().samples_accepted_udp()) break;
    last = answer->stats();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

// The flags of a run, checked.
struct Settings {
  BenchShape shape;
  std::string mode;
  int connections = 1;
  int window = 1;
  double rate = 0;
  absl::Duration duration;
  bool udp = false;
};

// INVALID_ARGUMENT (a usage error) for values out of range.
absl::StatusOr<Settings> SettingsFromFlags() {
  Settings settings;
  settings.mode = absl::GetFlag(FLAGS_mode);
  if (settings.mode != "sample" && settings.mode != "batch") {
    return absl::InvalidArgumentError("--mode must be sample or batch");
  }
  settings.connections = absl::GetFlag(FLAGS_connections);
  settings.window = absl::GetFlag(FLAGS_window);
  const int64_t streams = absl::GetFlag(FLAGS_streams);
  const int32_t dim = absl::GetFlag(FLAGS_dim);
  const int32_t batch = absl::GetFlag(FLAGS_batch);
  if (settings.connections < 1 || streams < 1 || dim < 1 || batch < 1 || settings.window < 1) {
    return absl::InvalidArgumentError(
        "--connections, --streams, --dim, --batch and --window must be at least 1");
  }
  settings.rate = absl::GetFlag(FLAGS_rate);
  settings.duration = absl::GetFlag(FLAGS_duration);
  if (!(settings.rate >= 0) || settings.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--rate must be >= 0 and --duration > 0");
  }
  settings.shape.mode =
      settings.mode == "sample" ? BenchShape::Mode::kSamples : BenchShape::Mode::kBatches;
  settings.shape.streams = static_cast<uint64_t>(streams);
  settings.shape.dim = static_cast<uint32_t>(dim);
  settings.shape.batch = static_cast<uint32_t>(batch);
  settings.udp = absl::GetFlag(FLAGS_udp);
  return settings;
}

// What a run measured, summed over its connections.
struct Report {
  double seconds = 0;
  uint64_t messages = 0;
  uint64_t samples = 0;  // acknowledged (TCP) or sent (UDP)
  uint64_t bytes = 0;
  std::optional<uint64_t> accepted;  // unknown over UDP without the daemon's counters
  std::optional<uint64_t> rejected;
  std::string first_rejection;
  std::vector<int64_t> ack_latency_ns;  // sorted
};

// Starts the connections together, prints progress while they run, and sums their results.
absl::StatusOr<Report> RunLoad(const Plan& plan) {
  Start start(plan.connections);
  std::vector<ConnectionResult> results(static_cast<size_t>(plan.connections));
  std::vector<std::thread> threads;
  for (int c = 0; c < plan.connections; ++c) {
    threads.emplace_back(RunConnection, std::cref(plan), c, std::ref(start), &results[c]);
  }
  start.ready.wait();
  for (const ConnectionResult& result : results) start.abort |= !result.status.ok();
  start.time = Clock::now();
  start.go.count_down();

  const Clock::time_point end = start.time + plan.duration;
  if (!start.abort && plan.duration > absl::ToChronoNanoseconds(kProgressAfter)) {
    uint64_t last = 0;
    for (int second = 1; Clock::now() < end && start.running > 0; ++second) {
      std::this_thread::sleep_until(std::min(start.time + std::chrono::seconds(second), end));
      uint64_t now = 0;
      for (const ConnectionResult& result : results) now += result.progress.load();
      absl::FPrintF(stderr, "bench: %ds  %d samples/s\n", second, now - last);
      last = now;
    }
  }
  for (std::thread& thread : threads) thread.join();

  Report report;
  report.accepted = report.rejected = 0;
  Clock::time_point finished = start.time;
  for (const ConnectionResult& result : results) {
    if (!result.status.ok()) return result.status;
    report.messages += result.messages;
    report.samples += result.samples;
    report.bytes += result.bytes;
    *report.accepted += result.accepted;
    *report.rejected += result.rejected;
    if (report.first_rejection.empty()) report.first_rejection = result.first_rejection;
    report.ack_latency_ns.insert(report.ack_latency_ns.end(), result.ack_latency_ns.begin(),
                                 result.ack_latency_ns.end());
    finished = std::max(finished, result.finished);
  }
  std::sort(report.ack_latency_ns.begin(), report.ack_latency_ns.end());
  report.seconds = std::chrono::duration<double>(finished - start.time).count();
  return report;
}

// The latency at quantile `q` of the sorted samples, in milliseconds.
double LatencyMs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[i]) / 1e6;
}

std::string FormatJson(const Settings& settings, const Report& report) {
  const double samples_per_s = static_cast<double>(report.samples) / report.seconds;
  const std::string latency = settings.udp
                                  ? "null"
                                  : absl::StrFormat("{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
                                                    LatencyMs(report.ack_latency_ns, 0.5),
                                                    LatencyMs(report.ack_latency_ns, 0.99),
                                                    LatencyMs(report.ack_latency_ns, 1.0));
  const auto count = [](const std::optional<uint64_t>& n) {
    return n ? absl::StrCat(*n) : std::string("null");
  };
  return absl::StrFormat(
      "{\"transport\":\"%s\",\"mode\":\"%s\",\"connections\":%d,\"streams\":%d,\"dim\":%d,"
      "\"batch\":%d,\"window\":%d,\"rate_target\":%.0f,\"seconds\":%.3f,\"messages\":%d,"
      "\"samples\":%d,\"values\":%d,\"bytes\":%d,\"samples_per_s\":%.0f,\"values_per_s\":%.0f,"
      "\"mb_per_s\":%.3f,\"ack_latency_ms\":%s,\"accepted\":%s,\"rejected\":%s}\n",
      settings.udp ? "udp" : "tcp", settings.mode, settings.connections, settings.shape.streams,
      settings.shape.dim, settings.shape.batch, settings.window, settings.rate, report.seconds,
      report.messages, report.samples, report.samples * settings.shape.dim, report.bytes,
      samples_per_s, samples_per_s * settings.shape.dim,
      static_cast<double>(report.bytes) / report.seconds / 1e6, latency, count(report.accepted),
      count(report.rejected));
}

std::string FormatText(const Settings& settings, const Report& report) {
  const double samples_per_s = static_cast<double>(report.samples) / report.seconds;
  std::string out = absl::StrFormat(
      "mlectl bench: %s, %d connection%s, %d streams, D=%d, %s mode, batch %d%s\n",
      settings.udp ? "UDP" : "TCP", settings.connections, settings.connections == 1 ? "" : "s",
      settings.shape.streams, settings.shape.dim, settings.mode, settings.shape.batch,
      settings.udp ? "" : absl::StrCat(", window ", settings.window));
  absl::StrAppendFormat(&out, "%-12s %d samples (%d values) in %d messages, %.1f MB, in %.2f s\n",
                        settings.udp ? "sent" : "acked", report.samples,
                        report.samples * settings.shape.dim, report.messages,
                        static_cast<double>(report.bytes) / 1e6, report.seconds);
  absl::StrAppendFormat(&out, "%-12s %.0f samples/s, %.0f values/s, %.1f MB/s\n", "rate",
                        samples_per_s, samples_per_s * settings.shape.dim,
                        static_cast<double>(report.bytes) / report.seconds / 1e6);
  if (!settings.udp) {
    absl::StrAppendFormat(&out, "%-12s p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", "ack latency",
                          LatencyMs(report.ack_latency_ns, 0.5),
                          LatencyMs(report.ack_latency_ns, 0.99),
                          LatencyMs(report.ack_latency_ns, 1.0));
  }
  if (!report.accepted || !report.rejected) {
    absl::StrAppendFormat(&out, "%-12s accepted and rejected unknown (no counters from it)\n",
                          "mled");
  } else if (settings.udp) {
    const uint64_t arrived = std::min(report.samples, *report.accepted + *report.rejected);
    absl::StrAppendFormat(&out,
                          "%-12s accepted %d, rejected %d: %.2f%% of the samples sent were lost\n",
                          "mled", *report.accepted, *report.rejected,
                          100.0 * static_cast<double>(report.samples - arrived) /
                              static_cast<double>(std::max<uint64_t>(report.samples, 1)));
  } else {
    absl::StrAppendFormat(&out, "%-12s accepted %d, rejected %d\n", "mled", *report.accepted,
                          *report.rejected);
  }
  return out;
}

int RunBench(const std::vector<std::string>& positional) {
  const Command& command = BenchCommand();
  if (!positional.empty()) return UsageError(command, "takes no arguments");
  const absl::StatusOr<Settings> settings = SettingsFromFlags();
  if (!settings.ok()) return UsageError(command, settings.status().message());

  const BenchFrames frames(settings->shape);
  Plan plan;
  plan.frames = &frames;
  plan.transport = settings->udp ? BenchFrames::Transport::kUdp : BenchFrames::Transport::kTcp;
  if (settings->udp && frames.MaxMessageBytes(plan.transport) > DatagramSender::kMaxDatagramBytes) {
    return UsageError(command,
                      absl::StrFormat("--batch=%d makes datagrams of up to %d bytes, "
                                      "over the UDP limit of %d; lower --batch",
                                      settings->shape.batch, frames.MaxMessageBytes(plan.transport),
                                      DatagramSender::kMaxDatagramBytes));
  }
  plan.address = absl::GetFlag(FLAGS_addr);
  plan.connections = settings->connections;
  plan.window = static_cast<size_t>(settings->window);
  plan.timeout = absl::GetFlag(FLAGS_timeout);
  plan.duration = absl::ToChronoNanoseconds(settings->duration);
  if (settings->rate > 0) {
    plan.interval = std::chrono::nanoseconds(
        static_cast<int64_t>(1e9 * settings->shape.batch * settings->connections / settings->rate));
  }

  // Over UDP only the daemon knows what arrived: compare its counters before and after.
  const std::optional<mled::v1::DaemonStats> before =
      settings->udp ? SettledStats(plan.address, plan.timeout) : std::nullopt;
  absl::StatusOr<Report> report = RunLoad(plan);
  if (!report.ok()) return Fail(report.status());
  if (settings->udp) {
    const std::optional<mled::v1::DaemonStats> after = SettledStats(plan.address, plan.timeout);
    report->accepted.reset();
    report->rejected.reset();
    if (before && after) {
      report->accepted = after->samples_accepted_udp() - before->samples_accepted_udp();
      report->rejected = after->samples_rejected() - before->samples_rejected();
    }
  }

  const std::string text =
      absl::GetFlag(FLAGS_json) ? FormatJson(*settings, *report) : FormatText(*settings, *report);
  std::fputs(text.c_str(), stdout);
  if (!report->first_rejection.empty()) {
    absl::FPrintF(stderr, "mlectl: warning: mled rejected samples; the first: %s\n",
                  report->first_rejection);
  }
  return kExitOk;
}

}  // namespace

const Command& BenchCommand() {
  static const Command command{
      .name = "bench",
      .arguments = "",
      .summary = "generate load and measure throughput and acknowledgement latency",
      .description =
          "Sends synthetic samples for --duration over --connections connections (one thread\n"
          "each), as fast as possible or at --rate samples/s in total. Messages are encoded\n"
          "before the clock starts, so the generator is not the bottleneck. Over TCP every\n"
          "Ingest has a seq and up to --window are in flight per connection; the latency of a\n"
          "message is from its send to its Ack. Prints samples/s, values/s (samples x D), MB/s,\n"
          "ack latency p50/p99/max and the accepted and rejected totals; with --udp, what\n"
          "mled's counters say it accepted (compare with what was sent to see the loss). Runs\n"
          "longer than 3s print a progress line per second on stderr.\n",
      .flags = {kAddrFlag,
                {"connections"},
                {"streams"},
                {"dim"},
                {"batch"},
                {"mode"},
                {"rate", "0"},
                {"duration", "10s"},
                {"window", "64"},
                {"udp"},
                {"timeout"},
                {"json"}},
      .run = RunBench,
  };
  return command;
}

}  // namespace mled::mlectl
