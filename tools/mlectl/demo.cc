// mlectl demo: feeds the synthetic sensor streams of demo_signals.h to mled in real time, so
// that the dashboard (and `mlectl subscribe`) has something live to show.
//
// One TCP connection; every tick (1/--rate seconds) one Ingest with one Sample per stream, with
// a seq, stamped with the local clock. Between ticks the command waits for Acks, so a rejection
// is reported within a tick of its cause and a silent daemon within --timeout. Ctrl-C and
// SIGTERM cancel the wait (Client::CancelOnSignals) and the command stops cleanly.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/base/host_port.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/demo_signals.h"

ABSL_FLAG(uint64_t, seed, 1, "seed of the random generator: the same seed sends the same values");

namespace mled::mlectl {
namespace {

using Clock = std::chrono::steady_clock;

// How often a progress line is printed.
constexpr Clock::duration kProgressEvery = std::chrono::seconds(5);
// Ingests sent ahead of their Acks before the command waits (mled acks within milliseconds;
// this only bounds a daemon that stalls).
constexpr size_t kMaxInFlight = 256;
// Rejections printed one by one; the counts always cover all.
constexpr int kMaxRejectionsShown = 10;
// When the command falls this far behind its schedule (a stalled machine), it skips ticks
// instead of sending the backlog in a burst.
constexpr Clock::duration kMaxLag = std::chrono::seconds(1);
// mled's default --http port, for the hint where the dashboard is.
constexpr uint16_t kDefaultHttpPort = 7071;

struct Totals {
  uint64_t sent = 0;  // samples
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  int rejections_shown = 0;
};

// Sends on schedule and accounts for the Acks.
class DemoRun {
 public:
  DemoRun(Client& client, double rate, absl::Duration timeout, uint64_t seed)
      : client_(client),
        signals_(seed, rate),
        timeout_(timeout),
        interval_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(1.0 / rate))) {}

  // Runs until `duration` (zero: until a signal) has passed. OK when stopped by the duration or
  // a signal; the error otherwise.
  absl::Status Run(absl::Duration duration) {
    start_ = Clock::now();
    const bool forever = duration == absl::ZeroDuration();
    const Clock::time_point end = start_ + absl::ToChronoNanoseconds(duration);
    Clock::time_point next_progress = start_ + kProgressEvery;
    for (int64_t tick = 0;; ++tick) {
      Clock::time_point due = start_ + interval_ * tick;
      if (Clock::now() - due > kMaxLag) {
        tick = (Clock::now() - start_) / interval_;
        due = start_ + interval_ * tick;
      }
      if (!forever && due >= end) break;
      absl::Status status = WaitUntil(due);
      if (status.code() == absl::StatusCode::kCancelled) return Stopped();
      if (!status.ok()) return status;
      status = SendTick(tick);
      if (status.code() == absl::StatusCode::kCancelled) return Stopped();
      if (!status.ok()) return status;
      if (Clock::now() >= next_progress) {
        PrintProgress();
        next_progress += kProgressEvery;
      }
    }
    // The duration is over: collect the outstanding Acks.
    while (!in_flight_.empty()) {
      absl::Status status = ReceiveAck(in_flight_.front().sent + Timeout());
      if (status.code() == absl::StatusCode::kCancelled) return Stopped();
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  const Totals& totals() const { return totals_; }
  int64_t faults() const { return signals_.faults(); }
  size_t unacknowledged() const { return in_flight_.size(); }
  double seconds() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }

  void PrintProgress() const {
    std::printf("demo: %3.0fs  sent %llu samples, acknowledged %llu (accepted %llu, rejected "
                "%llu), %lld fault bursts\n",
                seconds(), static_cast<unsigned long long>(totals_.sent),
                static_cast<unsigned long long>(totals_.accepted + totals_.rejected),
                static_cast<unsigned long long>(totals_.accepted),
                static_cast<unsigned long long>(totals_.rejected),
                static_cast<long long>(signals_.faults()));
    std::fflush(stdout);
  }

 private:
  struct InFlight {
    uint64_t seq;
    Clock::time_point sent;
  };

  Clock::duration Timeout() const {
    // --timeout=0 means no limit; a day stands in for it.
    return timeout_ == absl::ZeroDuration()
               ? Clock::duration(std::chrono::hours(24))
               : std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(timeout_));
  }

  static absl::Time ToAbsl(Clock::time_point when) {
    return absl::Now() + absl::FromChrono(when - Clock::now());
  }

  absl::Status Stopped() const { return absl::OkStatus(); }

  // Takes Acks until `due`; fails when the oldest unacknowledged Ingest is older than --timeout.
  absl::Status WaitUntil(Clock::time_point due) {
    while (true) {
      Clock::time_point until = due;
      if (!in_flight_.empty()) until = std::min(until, in_flight_.front().sent + Timeout());
      absl::Status status = ReceiveAck(until);
      if (status.code() != absl::StatusCode::kDeadlineExceeded) {
        if (!status.ok()) return status;
        continue;
      }
      if (Clock::now() >= due && (in_flight_.empty() ||
                                  Clock::now() < in_flight_.front().sent + Timeout())) {
        return absl::OkStatus();
      }
      if (!in_flight_.empty() && Clock::now() >= in_flight_.front().sent + Timeout()) {
        return absl::DeadlineExceededError(absl::StrCat(
            "no acknowledgement from mled within --timeout=", absl::FormatDuration(timeout_)));
      }
    }
  }

  // Receives one message by `deadline`; an Ack is checked against the oldest Ingest in flight
  // and counted, anything else is skipped.
  absl::Status ReceiveAck(Clock::time_point deadline) {
    absl::Status status = client_.Receive(ToAbsl(deadline), &reply_);
    if (!status.ok()) return status;
    if (!reply_.has_ack()) return absl::OkStatus();
    const mled::v1::Ack& ack = reply_.ack();
    if (in_flight_.empty() || ack.seq() != in_flight_.front().seq) {
      return absl::DataLossError(absl::StrCat("mled acknowledged seq ", ack.seq(),
                                              " out of order (expected seq ",
                                              in_flight_.empty() ? 0 : in_flight_.front().seq,
                                              ")"));
    }
    in_flight_.pop_front();
    totals_.accepted += ack.accepted();
    totals_.rejected += ack.rejected();
    for (const mled::v1::Rejection& rejection : ack.rejections()) {
      if (totals_.rejections_shown++ >= kMaxRejectionsShown) break;
      absl::FPrintF(stderr, "mlectl demo: mled rejected a sample of %s: %s: %s\n",
                    rejection.stream(), mled::v1::Code_Name(rejection.code()),
                    rejection.message());
    }
    return absl::OkStatus();
  }

  absl::Status SendTick(int64_t tick) {
    while (in_flight_.size() >= kMaxInFlight) {
      absl::Status status = ReceiveAck(in_flight_.front().sent + Timeout());
      if (status.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(absl::StrCat(
            "no acknowledgement from mled within --timeout=", absl::FormatDuration(timeout_)));
      }
      if (!status.ok()) return status;
    }
    request_.Clear();
    mled::v1::Ingest& ingest = *request_.mutable_ingest();
    ingest.set_seq(++seq_);
    const int64_t now_ns = absl::ToUnixNanos(absl::Now());
    const absl::Span<const DemoStream> streams = DemoSignals::Streams();
    for (size_t s = 0; s < streams.size(); ++s) {
      signals_.Next(s, tick, &x_);
      mled::v1::Sample& sample = *ingest.add_samples();
      sample.set_stream(streams[s].name);
      sample.mutable_x()->Add(x_.begin(), x_.end());
      sample.set_time_unix_nano(now_ns);
    }
    absl::Status status = client_.Send(request_, DeadlineAfter(timeout_));
    if (!status.ok()) return status;
    in_flight_.push_back({seq_, Clock::now()});
    totals_.sent += streams.size();
    return absl::OkStatus();
  }

  Client& client_;
  DemoSignals signals_;
  absl::Duration timeout_;
  Clock::duration interval_;
  Clock::time_point start_;
  uint64_t seq_ = 0;
  std::deque<InFlight> in_flight_;
  Totals totals_;
  mled::v1::ClientMessage request_;
  mled::v1::ServerMessage reply_;
  std::vector<double> x_;
};

// "http://HOST:7071/": mled's dashboard if it runs with its default --http on the host of --addr.
std::string DashboardUrl(const std::string& addr) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(addr);
  HostPort http{parsed.ok() ? parsed->host : "127.0.0.1", kDefaultHttpPort};
  return absl::StrCat("http://", http.ToString(), "/");
}

int RunDemo(const std::vector<std::string>& positional) {
  const Command& command = DemoCommand();
  if (!positional.empty()) return UsageError(command, "takes no arguments");
  const double rate = absl::GetFlag(FLAGS_rate);
  if (!(rate > 0 && rate <= 10000)) {
    return UsageError(command, "--rate must be above 0 and at most 10000 samples/s");
  }
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (duration < absl::ZeroDuration()) return UsageError(command, "--duration must be >= 0");
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);

  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(addr, timeout);
  if (!client.ok()) return Fail(client.status());
  (*client)->CancelOnSignals({SIGINT, SIGTERM});

  std::printf("mlectl demo: sending %zu streams to mled at %s, %g samples/s each (seed %llu):\n",
              DemoSignals::Streams().size(), addr.c_str(), rate,
              static_cast<unsigned long long>(seed));
  for (const DemoStream& stream : DemoSignals::Streams()) {
    std::printf("  %-24s D=%u  %s\n", stream.name.c_str(), stream.dim,
                stream.description.c_str());
  }
  std::printf("open %s (the dashboard; mled's --http address) or run\n"
              "  mlectl subscribe --anomalies 'demo/*'\n"
              "%s\n",
              DashboardUrl(addr).c_str(),
              duration == absl::ZeroDuration()
                  ? "Ctrl-C stops."
                  : absl::StrCat("Stops after ", absl::FormatDuration(duration), ".").c_str());
  std::fflush(stdout);

  DemoRun run(**client, rate, timeout, seed);
  const absl::Status status = run.Run(duration);
  const Totals& totals = run.totals();
  std::printf("demo: stopped after %.1fs: sent %llu samples, accepted %llu, rejected %llu%s\n",
              run.seconds(), static_cast<unsigned long long>(totals.sent),
              static_cast<unsigned long long>(totals.accepted),
              static_cast<unsigned long long>(totals.rejected),
              run.unacknowledged() == 0
                  ? ""
                  : absl::StrCat(", ", run.unacknowledged(), " Ingests not acknowledged yet")
                        .c_str());
  std::fflush(stdout);
  if (!status.ok()) return Fail(status);
  if (totals.rejected > 0) {
    return Fail(absl::FailedPreconditionError("mled rejected samples (see above)"));
  }
  return kExitOk;
}

}  // namespace

const Command& DemoCommand() {
  static const Command command{
      .name = "demo",
      .arguments = "",
      .summary = "feed synthetic sensor streams in real time, for the dashboard",
      .description =
          "Sends four synthetic sensor streams to mled in real time, each at --rate\n"
          "samples/s, until Ctrl-C or SIGTERM (or for --duration):\n"
          "  demo/plant/temperature  steady noise\n"
          "  demo/plant/pressure     noise on a slow drift\n"
          "  demo/robot/accel        D=3, correlated (a full covariance)\n"
          "  demo/pump/vibration     with a burst of fault spikes every 15-20 s, the first\n"
          "                          after about 6 s, so anomalies show within a minute\n"
          "Open mled's dashboard (http://127.0.0.1:7071/ by default) to watch them, or run\n"
          "'mlectl subscribe --anomalies demo/*'. The values depend only on --seed and\n"
          "--rate. Every Ingest carries a seq; rejections are printed as their Acks arrive,\n"
          "and a progress line every 5s. Exit status 1 if mled rejected anything.\n",
      .flags = {kAddrFlag, {"rate", "10"}, {"duration", "0"}, {"seed"}, {"timeout"}},
      .run = RunDemo,
  };
  return command;
}

}  // namespace mled::mlectl
