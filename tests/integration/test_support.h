// Helpers shared by the integration tests: status assertions, message builders, the common
// request/answer exchanges over mlectl's blocking Client (ingest, query, stats, subscribe, reset,
// anomalies, SIGHUP reloads), UDP datagrams, temporary files, and an independent long double
// two-pass reference for the estimates.
//
// Every wait is bounded (kWait unless told otherwise); nothing sleeps a fixed time to "let the
// daemon catch up": tests poll with a deadline instead.
#ifndef MLED_TESTS_INTEGRATION_TEST_SUPPORT_H_
#define MLED_TESTS_INTEGRATION_TEST_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mled/v1/wire.pb.h"
#include "tests/integration/daemon_process.h"
#include "tools/mlectl/client.h"

#define MLED_IT_CONCAT_INNER_(a, b) a##b
#define MLED_IT_CONCAT_(a, b) MLED_IT_CONCAT_INNER_(a, b)

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const ::absl::Status mled_it_status_ = (expr);                 \
    ASSERT_TRUE(mled_it_status_.ok()) << #expr << ": " << mled_it_status_; \
  } while (false)

#define EXPECT_OK(expr)                                            \
  do {                                                             \
    const ::absl::Status mled_it_status_ = (expr);                 \
    EXPECT_TRUE(mled_it_status_.ok()) << #expr << ": " << mled_it_status_; \
  } while (false)

// ASSERT_OK_AND_ASSIGN(auto x, StatusOrExpression());
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  MLED_IT_ASSIGN_IMPL_(MLED_IT_CONCAT_(mled_it_statusor_, __LINE__), lhs, expr)
#define MLED_IT_ASSIGN_IMPL_(statusor, lhs, expr)                           \
  auto statusor = (expr);                                                   \
  ASSERT_TRUE(statusor.ok()) << #expr << ": " << statusor.status();        \
  lhs = std::move(statusor).value()

namespace mled::integration {

using Client = mled::mlectl::Client;

// The default bound of every wait: long, because a sanitizer build on a loaded 2-core machine
// can be slow; a healthy daemon answers in milliseconds.
inline constexpr absl::Duration kWait = absl::Seconds(15);

// Turns anomaly scoring off, for tests that compare estimates with a two-pass reference over
// every accepted row: under the default policy an (unlikely, but possible) anomaly would stay out
// of the model. Scoring is tested in anomaly_test, rules_test and reset_test.
inline constexpr char kEstimatesOnly[] = "--default_rule=anomaly { enabled: false }";

// Connects to `address` (HOST:PORT) within kWait.
absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& address);

// ---- Builders ------------------------------------------------------------------------------

mled::v1::Sample MakeSample(const std::string& stream, std::vector<double> x,
                            int64_t time_unix_nano = 0);
// `values` row after row; `times` empty or one per row.
mled::v1::StreamBatch MakeBatch(const std::string& stream, uint32_t dim,
                                std::vector<double> values, std::vector<int64_t> times = {});
mled::v1::ClientMessage IngestMessage(const mled::v1::Ingest& ingest);

// ---- Exchanges -----------------------------------------------------------------------------

// Sends `ingest` (seq must be non-zero) and returns its Ack, skipping subscription updates.
// An Ack with another seq, or an Error, is an error (FAILED_PRECONDITION naming it).
absl::StatusOr<mled::v1::Ack> IngestAndWaitAck(Client& client, const mled::v1::Ingest& ingest,
                                               absl::Duration timeout = kWait);

// Queries `streams` (names or globs; empty: all) and returns the Estimates answering it.
absl::StatusOr<mled::v1::Estimates> QueryEstimates(Client& client,
                                                   const std::vector<std::string>& streams,
                                                   absl::Duration timeout = kWait);

// The estimate of one stream, or NOT_FOUND if the daemon does not know it.
absl::StatusOr<mled::v1::Estimate> QueryStream(Client& client, const std::string& stream,
                                               absl::Duration timeout = kWait);

// Queries `streams` until `done(answer)` holds; DEADLINE_EXCEEDED (with the last answer) if it
// does not within `timeout`.
absl::StatusOr<mled::v1::Estimates> PollQuery(
    Client& client, const std::vector<std::string>& streams,
    const std::function<bool(const mled::v1::Estimates&)>& done, absl::Duration timeout = kWait);

// The daemon's counters.
absl::StatusOr<mled::v1::DaemonStats> FetchDaemonStats(Client& client,
                                                       absl::Duration timeout = kWait);

// Fetches stats until `done(stats)` holds, or DEADLINE_EXCEEDED.
absl::StatusOr<mled::v1::DaemonStats> PollStats(
    Client& client, const std::function<bool(const mled::v1::DaemonStats&)>& done,
    absl::Duration timeout = kWait);

// Sends a Subscribe and returns once the daemon has registered it: frames of one connection are
// handled in order, so once a later query on `client` is answered, the Subscribe was handled.
absl::Status SubscribeAndSync(Client& client, const std::vector<std::string>& streams,
                              uint32_t interval_ms, bool anomalies,
                              absl::Duration timeout = kWait);

// Sends a barrier query and returns every message that arrived before its answer (the answer
// itself left out). A session's strand runs what was posted to it in order, so everything the
// daemon had queued for this connection before it read the barrier (an Anomaly posted by another
// connection's ingest whose Ack the test has already seen, say) is in the result.
absl::StatusOr<std::vector<mled::v1::ServerMessage>> DrainUntilBarrier(
    Client& client, absl::Duration timeout = kWait);

// Receives until an Anomaly arrives, skipping anything else (updates, acks); DEADLINE_EXCEEDED
// if none does within `timeout`.
absl::StatusOr<mled::v1::Anomaly> WaitForAnomaly(Client& client, absl::Duration timeout = kWait);

// Ingests one StreamBatch (`values` row after row) with `seq` != 0 and returns its Ack.
absl::StatusOr<mled::v1::Ack> IngestBatch(Client& client, uint64_t seq, const std::string& stream,
                                          uint32_t dim, std::vector<double> values,
                                          absl::Duration timeout = kWait);

// A Reset of `streams` (names or globs) with `seq` (0: no Ack).
mled::v1::ClientMessage ResetRequest(const std::vector<std::string>& streams, uint64_t seq);

// Sends a Reset with `seq` != 0 and returns its Ack, skipping other messages.
absl::StatusOr<mled::v1::Ack> ResetAndWaitAck(Client& client,
                                              const std::vector<std::string>& streams,
                                              uint64_t seq, absl::Duration timeout = kWait);

// Sends SIGHUP to `daemon` (started with --config) and waits until it has finished that reload,
// applied or refused, by polling its DaemonStats over `client` until config_reloads +
// config_reloads_failed has grown. Returns the stats after the reload. Reloads are counted only
// after the new rules are in place, so whatever the test sends next sees them.
absl::StatusOr<mled::v1::DaemonStats> ReloadConfig(DaemonProcess& daemon, Client& client,
                                                   absl::Duration timeout = kWait);

// Receives the next message within `timeout`. Unlike Client::Receive, an `Error` from the daemon
// is returned as a message (has_error()), so tests can inspect it. UNAVAILABLE when the daemon
// closed the connection.
absl::StatusOr<mled::v1::ServerMessage> ReceiveAny(Client& client, absl::Duration timeout = kWait);

// Sends one UDP datagram to `address` (HOST:PORT).
absl::Status SendDatagram(const std::string& address, const std::string& bytes);

// ---- Files and output ----------------------------------------------------------------------

// A file under the test's temporary directory, removed when it goes out of scope.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& contents);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Replaces the contents.
  void Write(const std::string& contents);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The number of non-blank lines of `text`.
size_t LineCount(const std::string& text);

// ---- Reference ------------------------------------------------------------------------------

// Mean, MLE covariance and NLL at the MLE by the textbook two-pass formulas in long double; the
// log-determinant by a long double Cholesky factorization. Shares no code with lib/stats.
struct Reference {
  uint64_t count = 0;
  uint32_t dim = 1;
  std::vector<long double> mean;        // D
  std::vector<long double> covariance;  // D×D row-major, divided by N
  std::optional<long double> nll;       // (N/2)(D log 2π + log|Σ̂| + D); none when degenerate
};
Reference TwoPassReference(const std::vector<double>& rows, uint32_t dim);

// Compares an Estimate with the reference: count and dim exactly; each mean within
// `rel_tol`·max(|μ|, scale); each covariance entry within `rel_tol`·sqrt(Σii·Σjj); nll within
// `rel_tol`·max(|nll|, N) and mean_nll = nll/N alike; absence of nll iff the reference is
// degenerate.
testing::AssertionResult EstimateMatches(const mled::v1::Estimate& estimate,
                                         const Reference& reference, double rel_tol);

// Largest relative error of the (co)variance entries, for diagnostics.
double CovarianceRelError(const mled::v1::Estimate& estimate, const Reference& reference);

// n·dim values: x = offset + scale·z (z standard normal, deterministic per seed), with the
// columns of multivariate rows correlated through a fixed lower-triangular mixing.
std::vector<double> GaussianRows(uint64_t seed, size_t n, uint32_t dim, double offset,
                                 double scale);

}  // namespace mled::integration

#endif  // MLED_TESTS_INTEGRATION_TEST_SUPPORT_H_
