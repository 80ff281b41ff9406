// mlectl subscribe: follow the estimates of the matching streams as mled publishes them.
//
// Three ways to show them: a live table redrawn in place when stdout is a terminal (every stream
// seen so far, each with its latest estimate, since a tick only carries the streams that
// changed), appended table blocks otherwise (one per update, just the streams it carries), or
// one JSON line per message with --json. Anomaly events (score_lines.h) are shown the moment they
// arrive in every style: appended as a line, or redrawn below the live table.
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/estimate_table.h"
#include "tools/mlectl/json_line.h"
#include "tools/mlectl/score_lines.h"
#include "tools/mlectl/value_text.h"

ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "how often mled sends updates (sent as Subscribe.interval_ms; 0 = the daemon's\n"
          "--publish_interval); a tick with no changed matching stream sends nothing");
ABSL_FLAG(int64_t, count, 0, "exit after this many updates (0 = run until Ctrl-C or --timeout)");
ABSL_FLAG(bool, anomalies, false,
          "also receive anomaly events of the matching streams and print each one as it\n"
          "arrives (see the description for its line)");

namespace mled::mlectl {
namespace {

// How many recent anomalies the live table keeps on screen.
constexpr size_t kAnomaliesShown = 5;
// Connecting gets this long when --timeout is 0 (no limit on the subscription itself).
constexpr absl::Duration kDefaultConnectTimeout = absl::Seconds(5);

// Table rows the terminal has room for, leaving lines for the header and anomalies.
size_t TerminalRows() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) {
    return std::numeric_limits<size_t>::max();
  }
  const size_t reserved = 4 + kAnomaliesShown;
  return size.ws_row > reserved ? size.ws_row - reserved : 1;
}

// Shows each message as it arrives, in the chosen style.
class Display {
 public:
  enum class Style { kLive, kBlocks, kJson };

  Display(Style style, std::string address) : style_(style), address_(std::move(address)) {}

  void Show(const mled::v1::ServerMessage& message) {
    if (style_ == Style::kJson) {
      std::printf("%s\n", ToJsonLine(message).c_str());
    } else if (message.has_anomaly()) {
      anomalies_.push_back(FormatAnomaly(message.anomaly()));
      if (anomalies_.size() > kAnomaliesShown) anomalies_.pop_front();
      if (style_ == Style::kBlocks) std::printf("%s\n", anomalies_.back().c_str());
    } else if (message.has_estimates()) {
      ++updates_;
      if (style_ == Style::kBlocks) {
        std::printf("# update %lld at %s: %d streams\n%s\n", static_cast<long long>(updates_),
                    FormatLocalTime(message.estimates().time_unix_nano()).c_str(),
                    message.estimates().estimates_size(),
                    FormatEstimateTable(message.estimates()).c_str());
      } else {
        for (const mled::v1::Estimate& estimate : message.estimates().estimates()) {
          latest_[estimate.stream()] = estimate;
        }
        time_unix_nano_ = message.estimates().time_unix_nano();
      }
    }
    if (style_ == Style::kLive) Redraw();
    // Flushed at once, also into a pipe or file: an anomaly is worth nothing late.
    std::fflush(stdout);
  }

 private:
  void Redraw() const {
    std::vector<const mled::v1::Estimate*> rows;
    rows.reserve(latest_.size());
    for (const auto& [name, estimate] : latest_) rows.push_back(&estimate);
    // Home the cursor and clear the screen, then draw.
    std::printf("\x1b[H\x1b[2J");
    std::printf("mled %s  update %lld at %s  %zu streams  (Ctrl-C to quit)\n\n", address_.c_str(),
                static_cast<long long>(updates_),
                updates_ == 0 ? "-" : FormatLocalTime(time_unix_nano_).c_str(), latest_.size());
    std::fputs(FormatEstimateTable(rows, TerminalRows()).c_str(), stdout);
    if (!anomalies_.empty()) {
      std::printf("\n%s\n", absl::StrJoin(anomalies_, "\n").c_str());
    }
  }

  Style style_;
  std::string address_;
  int64_t updates_ = 0;
  int64_t time_unix_nano_ = 0;
  std::map<std::string, mled::v1::Estimate> latest_;  // by name, for the live table
  std::deque<std::string> anomalies_;
};

int RunSubscribe(const std::vector<std::string>& globs) {
  const absl::Duration interval = absl::GetFlag(FLAGS_interval);
  const int64_t interval_ms = absl::ToInt64Milliseconds(interval);
  if (interval < absl::ZeroDuration() || interval_ms > std::numeric_limits<uint32_t>::max() ||
      (interval > absl::ZeroDuration() && interval_ms == 0)) {
    return UsageError(SubscribeCommand(), "--interval must be 0 or from 1ms to 49 days");
  }
  const int64_t count = absl::GetFlag(FLAGS_count);
  if (count < 0) return UsageError(SubscribeCommand(), "--count must be >= 0");
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);

  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(absl::GetFlag(FLAGS_addr),
                      timeout == absl::ZeroDuration() ? kDefaultConnectTimeout : timeout);
  if (!client.ok()) return Fail(client.status());
  (*client)->CancelOnSignals({SIGINT, SIGTERM});

  const absl::Time deadline = DeadlineAfter(timeout);
  mled::v1::ClientMessage request;
  mled::v1::Subscribe& subscribe = *request.mutable_subscribe();
  for (const std::string& glob : globs) subscribe.add_streams(glob);
  subscribe.set_interval_ms(static_cast<uint32_t>(interval_ms));
  subscribe.set_anomalies(absl::GetFlag(FLAGS_anomalies));
  absl::Status status = (*client)->Send(request, deadline);

  Display display(absl::GetFlag(FLAGS_json) ? Display::Style::kJson
                  : isatty(STDOUT_FILENO)   ? Display::Style::kLive
                                            : Display::Style::kBlocks,
                  (*client)->address());
  int64_t updates = 0;
  mled::v1::ServerMessage message;
  while (status.ok() && (count == 0 || updates < count)) {
    status = (*client)->Receive(deadline, &message);
    if (!status.ok()) break;
    // Query answers cannot arrive here (we send none); anything else is shown.
    if (message.has_estimates()) ++updates;
    display.Show(message);
  }
  if (status.ok() || status.code() == absl::StatusCode::kCancelled) return kExitOk;
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    if (count == 0) return kExitOk;  // --timeout is how long to watch
    return Fail(absl::DeadlineExceededError(
        absl::StrFormat("received %d of %d updates within --timeout=%s", updates, count,
                        absl::FormatDuration(timeout))));
  }
  return Fail(status);
}

}  // namespace

const Command& SubscribeCommand() {
  static const Command command{
      .name = "subscribe",
      .arguments = "[GLOB...]",
      .summary = "follow the estimates of the matching streams as mled publishes them",
      .description =
          "Subscribes to the streams matching the GLOBs (names or fnmatch patterns, '*' also\n"
          "matching '/'; quote them for the shell; none means every stream) and prints each\n"
          "update mled publishes. Each update carries the streams that changed since the last.\n"
          "On a terminal the table is redrawn in place and keeps every stream seen so far;\n"
          "otherwise each update is appended as a block starting with a '# update' line; with\n"
          "--json each message is one line of JSON (mled.v1.ServerMessage). The columns are\n"
          "those of 'mlectl query'. Ctrl-C ends the subscription (exit 0).\n"
          "\n"
          "With --anomalies every anomaly event is printed the moment it arrives, as one line\n"
          "(below the live table, or appended; with --json as its ServerMessage):\n"
          "\n"
          "  TIME anomaly STREAM rule=RULE x=X mean=MEAN score=S threshold=T p=P d2=D2 [z=Z]\n"
          "       [(+N suppressed)]\n"
          "\n"
          "TIME is local, to the millisecond; X is the sample (\"[x1,x2,...]\" for D > 1) and\n"
          "MEAN the mean of the model it was scored against; S = -log p(x) in nats crossed the\n"
          "threshold T; P is the p-value and D2 the squared Mahalanobis distance; for D = 1,\n"
          "Z = sign(x - mean)*sqrt(D2). '(+N suppressed)' counts the anomalies of the stream\n"
          "whose events the cooldown suppressed since the previous event.\n",
      .flags = {kAddrFlag, {"interval"}, {"count"}, {"timeout", "0"}, {"anomalies"}, {"json"}},
      .run = RunSubscribe,
  };
  return command;
}

}  // namespace mled::mlectl
