#include "tests/integration/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numbers>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace mled::integration {

namespace {

std::atomic<uint64_t> next_query_id{1000};

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& address) {
  return Client::Connect(address, kWait);
}

mled::v1::Sample MakeSample(const std::string& stream, std::vector<double> x,
                            int64_t time_unix_nano) {
  mled::v1::Sample sample;
  sample.set_stream(stream);
  sample.mutable_x()->Add(x.begin(), x.end());
  sample.set_time_unix_nano(time_unix_nano);
  return sample;
}

mled::v1::StreamBatch MakeBatch(const std::string& stream, uint32_t dim,
                                std::vector<double> values, std::vector<int64_t> times) {
  mled::v1::StreamBatch batch;
  batch.set_stream(stream);
  batch.set_dim(dim);
  batch.mutable_values()->Add(values.begin(), values.end());
  batch.mutable_time_unix_nano()->Add(times.begin(), times.end());
  return batch;
}

mled::v1::ClientMessage IngestMessage(const mled::v1::Ingest& ingest) {
  mled::v1::ClientMessage message;
  *message.mutable_ingest() = ingest;
  return message;
}

absl::StatusOr<mled::v1::ServerMessage> ReceiveAny(Client& client, absl::Duration timeout) {
  mled::v1::ServerMessage message;
  const absl::Status status = client.Receive(absl::Now() + timeout, &message);
  if (status.ok()) return message;
  // Client::Receive turns an Error into FAILED_PRECONDITION but leaves the message filled.
  if (status.code() == absl::StatusCode::kFailedPrecondition && message.has_error()) {
    return message;
  }
  return status;
}

namespace {

// Receives until the Ack of `seq` (of an Ingest or a Reset, named `what`), skipping subscription
// updates and anomalies. Another Ack, or an Error, is FAILED_PRECONDITION.
absl::StatusOr<mled::v1::Ack> WaitForAck(Client& client, uint64_t seq, absl::string_view what,
                                         absl::Time deadline) {
  while (true) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client, deadline - absl::Now());
    if (!message.ok()) {
      return absl::Status(message.status().code(),
                          absl::StrCat("waiting for the ack of ", what, " seq ", seq, ": ",
                                       message.status().message()));
    }
    if (message->has_error()) {
      return absl::FailedPreconditionError(absl::StrCat("Error instead of the ack of ", what,
                                                        " seq ", seq, ": ",
                                                        message->error().ShortDebugString()));
    }
    if (message->has_ack()) {
      if (message->ack().seq() != seq) {
        return absl::FailedPreconditionError(absl::StrCat("expected the ack of ", what, " seq ",
                                                          seq, ", got ",
                                                          message->ack().ShortDebugString()));
      }
      return message->ack();
    }
    // A subscription update or anomaly: not ours.
  }
}

}  // namespace

absl::StatusOr<mled::v1::Ack> IngestAndWaitAck(Client& client, const mled::v1::Ingest& ingest,
                                               absl::Duration timeout) {
  if (ingest.seq() == 0) return absl::InvalidArgumentError("IngestAndWaitAck needs seq != 0");
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status sent = client.Send(IngestMessage(ingest), deadline); !sent.ok()) return sent;
  return WaitForAck(client, ingest.seq(), "ingest", deadline);
}

absl::StatusOr<mled::v1::Ack> IngestBatch(Client& client, uint64_t seq, const std::string& stream,
                                          uint32_t dim, std::vector<double> values,
                                          absl::Duration timeout) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  *ingest.add_batches() = MakeBatch(stream, dim, std::move(values));
  return IngestAndWaitAck(client, ingest, timeout);
}

mled::v1::ClientMessage ResetRequest(const std::vector<std::string>& streams, uint64_t seq) {
  mled::v1::ClientMessage message;
  for (const std::string& stream : streams) message.mutable_reset()->add_streams(stream);
  message.mutable_reset()->set_seq(seq);
  return message;
}

absl::StatusOr<mled::v1::Ack> ResetAndWaitAck(Client& client,
                                              const std::vector<std::string>& streams,
                                              uint64_t seq, absl::Duration timeout) {
  if (seq == 0) return absl::InvalidArgumentError("ResetAndWaitAck needs seq != 0");
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status sent = client.Send(ResetRequest(streams, seq), deadline); !sent.ok()) {
    return sent;
  }
  return WaitForAck(client, seq, "reset", deadline);
}

absl::Status SubscribeAndSync(Client& client, const std::vector<std::string>& streams,
                              uint32_t interval_ms, bool anomalies, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  mled::v1::ClientMessage message;
  for (const std::string& stream : streams) message.mutable_subscribe()->add_streams(stream);
  message.mutable_subscribe()->set_interval_ms(interval_ms);
  message.mutable_subscribe()->set_anomalies(anomalies);
  if (absl::Status sent = client.Send(message, deadline); !sent.ok()) return sent;
  return QueryEstimates(client, {"no-such-stream-just-a-barrier"}, deadline - absl::Now())
      .status();
}

absl::StatusOr<std::vector<mled::v1::ServerMessage>> DrainUntilBarrier(Client& client,
                                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  mled::v1::ClientMessage request;
  const uint64_t id = next_query_id.fetch_add(1);
  request.mutable_query()->set_id(id);
  request.mutable_query()->add_streams("no-such-stream-just-a-barrier");
  if (absl::Status sent = client.Send(request, deadline); !sent.ok()) return sent;
  std::vector<mled::v1::ServerMessage> before;
  while (true) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client, deadline - absl::Now());
    if (!message.ok()) return message.status();
    if (message->has_estimates() && message->estimates().query_id() == id) return before;
    before.push_back(*std::move(message));
  }
}

absl::StatusOr<mled::v1::Anomaly> WaitForAnomaly(Client& client, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<mled::v1::ServerMessage> message = ReceiveAny(client, deadline - absl::Now());
    if (!message.ok()) {
      return absl::Status(message.status().code(), absl::StrCat("waiting for an Anomaly: ",
                                                                message.status().message()));
    }
    if (message->has_anomaly()) return message->anomaly();
  }
}

absl::StatusOr<mled::v1::DaemonStats> ReloadConfig(DaemonProcess& daemon, Client& client,
                                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<mled::v1::DaemonStats> before = FetchDaemonStats(client, timeout);
  if (!before.ok()) return before.status();
  const uint64_t reloads = before->config_reloads() + before->config_reloads_failed();
  if (!daemon.SendSignal(SIGHUP)) {
    return absl::InternalError(absl::StrCat("cannot send SIGHUP to mled (pid ", daemon.pid(), ")"));
  }
  absl::StatusOr<mled::v1::DaemonStats> after = PollStats(
      client,
      [reloads](const mled::v1::DaemonStats& stats) {
        return stats.config_reloads() + stats.config_reloads_failed() > reloads;
      },
      std::max(deadline - absl::Now(), absl::Seconds(1)));
  if (!after.ok()) {
    return absl::Status(after.status().code(),
                        absl::StrCat("SIGHUP: ", after.status().message(), "\nmled stderr:\n",
                                     Tail(daemon.StderrText())));
  }
  return after;
}

absl::StatusOr<mled::v1::Estimates> QueryEstimates(Client& client,
                                                   const std::vector<std::string>& streams,
                                                   absl::Duration timeout) {
  mled::v1::ClientMessage request;
  const uint64_t id = next_query_id.fetch_add(1);
  request.mutable_query()->set_id(id);
  for (const std::string& stream : streams) request.mutable_query()->add_streams(stream);
  absl::StatusOr<mled::v1::ServerMessage> answer = client.Call(
      request,
      [id](const mled::v1::ServerMessage& m) {
        return m.has_estimates() && m.estimates().query_id() == id;
      },
      "query answer", timeout);
  if (!answer.ok()) return answer.status();
  return answer->estimates();
}

absl::StatusOr<mled::v1::Estimate> QueryStream(Client& client, const std::string& stream,
                                               absl::Duration timeout) {
  absl::StatusOr<mled::v1::Estimates> answer = QueryEstimates(client, {stream}, timeout);
  if (!answer.ok()) return answer.status();
  for (const mled::v1::Estimate& estimate : answer->estimates()) {
    if (estimate.stream() == stream) return estimate;
  }
  return absl::NotFoundError(absl::StrCat("no estimate of \"", stream, "\" in ",
                                          answer->ShortDebugString()));
}

absl::StatusOr<mled::v1::Estimates> PollQuery(
    Client& client, const std::vector<std::string>& streams,
    const std::function<bool(const mled::v1::Estimates&)>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration nap = absl::Milliseconds(2);
  while (true) {
    absl::StatusOr<mled::v1::Estimates> answer =
        QueryEstimates(client, streams, std::max(deadline - absl::Now(), absl::Seconds(1)));
    if (!answer.ok()) return answer.status();
    if (done(*answer)) return answer;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("condition not met within ", absl::FormatDuration(timeout),
                       "; last answer: ", answer->ShortDebugString().substr(0, 2000)));
    }
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(50));
  }
}

absl::StatusOr<mled::v1::DaemonStats> FetchDaemonStats(Client& client, absl::Duration timeout) {
  mled::v1::ClientMessage request;
  const uint64_t id = next_query_id.fetch_add(1);
  request.mutable_stats()->set_id(id);
  absl::StatusOr<mled::v1::ServerMessage> answer = client.Call(
      request, [id](const mled::v1::ServerMessage& m) { return m.has_stats() && m.stats().id() == id; },
      "stats answer", timeout);
  if (!answer.ok()) return answer.status();
  return answer->stats();
}

absl::StatusOr<mled::v1::DaemonStats> PollStats(
    Client& client, const std::function<bool(const mled::v1::DaemonStats&)>& done,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration nap = absl::Milliseconds(2);
  while (true) {
    absl::StatusOr<mled::v1::DaemonStats> stats =
        FetchDaemonStats(client, std::max(deadline - absl::Now(), absl::Seconds(1)));
    if (!stats.ok()) return stats.status();
    if (done(*stats)) return stats;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("stats condition not met within ", absl::FormatDuration(timeout),
                       "; last: ", stats->ShortDebugString()));
    }
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(50));
  }
}

absl::Status SendDatagram(const std::string& address, const std::string& bytes) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad UDP address ", address));
  }
  sockaddr_in to;
  std::memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", address));
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const ssize_t sent = sendto(fd, bytes.data(), bytes.size(), 0,
                              reinterpret_cast<const sockaddr*>(&to), sizeof to);
  const int error = errno;
  close(fd);
  if (sent != static_cast<ssize_t>(bytes.size())) {
    return absl::InternalError(absl::StrCat("sendto ", address, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

TempFile::TempFile(const std::string& name, const std::string& contents)
    : path_(absl::StrCat(testing::TempDir(), "mled_it_", getpid(), "_", name)) {
  Write(contents);
}

TempFile::~TempFile() { std::remove(path_.c_str()); }

void TempFile::Write(const std::string& contents) {
  // A new file renamed over the old one: the daemon never reads a half-written config.
  const std::string temporary = absl::StrCat(path_, ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << contents;
  }
  std::rename(temporary.c_str(), path_.c_str());
}

size_t LineCount(const std::string& text) {
  size_t lines = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StripAsciiWhitespace(line).empty()) ++lines;
  }
  return lines;
}

Reference TwoPassReference(const std::vector<double>& rows, uint32_t dim) {
  const size_t d = dim;
  Reference ref;
  ref.dim = dim;
  ref.count = rows.size() / d;
  const size_t n = ref.count;
  ref.mean.assign(d, 0.0L);
  ref.covariance.assign(d * d, 0.0L);
  if (n == 0) return ref;
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < d; ++i) ref.mean[i] += static_cast<long double>(rows[r * d + i]);
  }
  for (long double& m : ref.mean) m /= static_cast<long double>(n);
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < d; ++i) {
      const long double di = static_cast<long double>(rows[r * d + i]) - ref.mean[i];
      for (size_t j = 0; j < d; ++j) {
        const long double dj = static_cast<long double>(rows[r * d + j]) - ref.mean[j];
        ref.covariance[i * d + j] += di * dj;
      }
    }
  }
  for (long double& c : ref.covariance) c /= static_cast<long double>(n);
  if (n <= d) return ref;  // degenerate: no nll

  // Cholesky in long double: log|Σ| = 2 Σ log L_ii.
  std::vector<long double> l(d * d, 0.0L);
  long double log_det = 0.0L;
  for (size_t j = 0; j < d; ++j) {
    long double diag = ref.covariance[j * d + j];
    for (size_t k = 0; k < j; ++k) diag -= l[j * d + k] * l[j * d + k];
    if (!(diag > 0.0L)) return ref;  // not positive definite: degenerate
    l[j * d + j] = std::sqrt(diag);
    log_det += 2.0L * std::log(l[j * d + j]);
    for (size_t i = j + 1; i < d; ++i) {
      long double v = ref.covariance[i * d + j];
      for (size_t k = 0; k < j; ++k) v -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = v / l[j * d + j];
    }
  }
  const long double two_pi = 2.0L * std::numbers::pi_v<long double>;
  ref.nll = 0.5L * static_cast<long double>(n) *
            (static_cast<long double>(d) * std::log(two_pi) + log_det + static_cast<long double>(d));
  return ref;
}

double CovarianceRelError(const mled::v1::Estimate& estimate, const Reference& reference) {
  const size_t d = reference.dim;
  double worst = 0;
  if (static_cast<size_t>(estimate.covariance_size()) != d * d) return INFINITY;
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < d; ++j) {
      const long double scale =
          std::sqrt(std::fabs(reference.covariance[i * d + i] * reference.covariance[j * d + j]));
      const long double error = std::fabs(
          static_cast<long double>(estimate.covariance(static_cast<int>(i * d + j))) -
          reference.covariance[i * d + j]);
      worst = std::max(worst, static_cast<double>(scale > 0 ? error / scale : error));
    }
  }
  return worst;
}

testing::AssertionResult EstimateMatches(const mled::v1::Estimate& estimate,
                                         const Reference& reference, double rel_tol) {
  const size_t d = reference.dim;
  if (estimate.count() != reference.count) {
    return testing::AssertionFailure() << estimate.stream() << ": count " << estimate.count()
                                       << ", expected " << reference.count;
  }
  if (estimate.dim() != reference.dim) {
    return testing::AssertionFailure() << estimate.stream() << ": dim " << estimate.dim()
                                       << ", expected " << reference.dim;
  }
  if (static_cast<size_t>(estimate.mean_size()) != d ||
      static_cast<size_t>(estimate.covariance_size()) != d * d) {
    return testing::AssertionFailure()
           << estimate.stream() << ": " << estimate.mean_size() << " means and "
           << estimate.covariance_size() << " covariance entries for dim " << d;
  }
  for (size_t i = 0; i < d; ++i) {
    const long double expected = reference.mean[i];
    const long double scale = std::max(std::fabs(expected), std::sqrt(reference.covariance[i * d + i]));
    const long double error =
        std::fabs(static_cast<long double>(estimate.mean(static_cast<int>(i))) - expected);
    if (!(error <= rel_tol * scale)) {
      return testing::AssertionFailure()
             << estimate.stream() << ": mean[" << i << "] = " << estimate.mean(static_cast<int>(i))
             << ", reference " << static_cast<double>(expected) << " (relative error "
             << static_cast<double>(error / scale) << " > " << rel_tol << ")";
    }
  }
  const double cov_error = CovarianceRelError(estimate, reference);
  if (!(cov_error <= rel_tol)) {
    std::string got;
    std::string want;
    for (size_t k = 0; k < d * d; ++k) {
      absl::StrAppend(&got, k ? ", " : "", estimate.covariance(static_cast<int>(k)));
      absl::StrAppend(&want, k ? ", " : "", static_cast<double>(reference.covariance[k]));
    }
    return testing::AssertionFailure() << estimate.stream() << ": covariance [" << got
                                       << "], reference [" << want << "] (relative error "
                                       << cov_error << " > " << rel_tol << ")";
  }
  if (!reference.nll.has_value()) {
    if (estimate.has_nll() || estimate.has_mean_nll()) {
      return testing::AssertionFailure()
             << estimate.stream() << ": degenerate model but nll " << estimate.nll() << " is set";
    }
    return testing::AssertionSuccess();
  }
  if (!estimate.has_nll() || !estimate.has_mean_nll()) {
    return testing::AssertionFailure() << estimate.stream() << ": nll/mean_nll absent, expected "
                                       << static_cast<double>(*reference.nll);
  }
  const long double n = static_cast<long double>(reference.count);
  const long double nll_scale = std::max(std::fabs(*reference.nll), n);
  const long double nll_error = std::fabs(static_cast<long double>(estimate.nll()) - *reference.nll);
  if (!(nll_error <= rel_tol * nll_scale)) {
    return testing::AssertionFailure()
           << estimate.stream() << ": nll " << estimate.nll() << ", reference "
           << static_cast<double>(*reference.nll) << " (relative error "
           << static_cast<double>(nll_error / nll_scale) << ")";
  }
  const long double mean_nll = *reference.nll / n;
  const long double mean_nll_error =
      std::fabs(static_cast<long double>(estimate.mean_nll()) - mean_nll);
  if (!(mean_nll_error <= rel_tol * std::max(std::fabs(mean_nll), 1.0L))) {
    return testing::AssertionFailure()
           << estimate.stream() << ": mean_nll " << estimate.mean_nll() << ", reference "
           << static_cast<double>(mean_nll);
  }
  return testing::AssertionSuccess();
}

std::vector<double> GaussianRows(uint64_t seed, size_t n, uint32_t dim, double offset,
                                 double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const size_t d = dim;
  std::vector<double> rows(n * d);
  std::vector<double> z(d);
  for (size_t r = 0; r < n; ++r) {
    for (double& v : z) v = normal(rng);
    for (size_t i = 0; i < d; ++i) {
      double v = 0;
      for (size_t j = 0; j <= i; ++j) {
        const double a = (i == j) ? 1.0 + 0.25 * static_cast<double>(i)
                                  : 0.4 * (((i + j) % 2 == 0) ? -1.0 : 1.0);
        v += a * z[j];
      }
      rows[r * d + i] = offset + static_cast<double>(i) * 3.0 + scale * v;
    }
  }
  return rows;
}

}  // namespace mled::integration
