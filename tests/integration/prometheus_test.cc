// The Prometheus exposition end to end: samples ingested over TCP show up on GET /metrics with the
// daemon's own values, the page passes `promtool check metrics` with no output, a real Prometheus
// (Debian's /usr/bin/prometheus, started here on loopback) scrapes it and answers PromQL queries
// with the same numbers, and /metrics?match= and --max_metrics_streams select and cap the streams.
// promtool and prometheus come with Debian's `prometheus` package (scripts/setup installs it); the
// tests that need them skip, saying so, when they are missing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kPrometheus[] = "/usr/bin/prometheus";
// Prometheus needs a scrape or two after it starts; on a loaded machine under TSan that can take a
// while. The tests poll, so a healthy run takes about two seconds whatever this is.
constexpr absl::Duration kPrometheusWait = absl::Seconds(90);

bool Installed(const char* path) { return access(path, X_OK) == 0; }

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// A minimal blocking HTTP/1.1 GET with `Connection: close` (the body ends at EOF, or is chunked) to
// "HOST:PORT"; every socket operation is bounded by kWait.
absl::StatusOr<HttpResponse> HttpGet(const std::string& address, const std::string& target) {
  const std::vector<std::string> parts = absl::StrSplit(address, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad address ", address));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, parts[0].c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad host ", address));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(absl::ToInt64Seconds(kWait));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  const std::string request =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", address, "\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError("send failed");
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[65536];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) return absl::DeadlineExceededError(absl::StrCat("recv from ", address, " failed"));
    raw.append(buffer, static_cast<size_t>(n));
  }

  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    return absl::DataLossError(absl::StrCat("no end of headers in: ", Tail(raw, 500)));
  }
  HttpResponse response;
  const std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, header_end), "\r\n");
  const std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    std::string name = lines[i].substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response.headers[name] = std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  std::string body = raw.substr(header_end + 4);
  if (absl::EqualsIgnoreCase(response.headers["transfer-encoding"], "chunked")) {
    size_t at = 0;
    while (true) {
      const size_t line_end = body.find("\r\n", at);
      if (line_end == std::string::npos) return absl::DataLossError("truncated chunk size");
      size_t size = 0;
      if (!absl::SimpleHexAtoi(body.substr(at, line_end - at), &size)) {
        return absl::DataLossError("bad chunk size");
      }
      if (size == 0) break;
      if (line_end + 2 + size > body.size()) return absl::DataLossError("truncated chunk");
      response.body.append(body, line_end + 2, size);
      at = line_end + 2 + size + 2;
    }
  } else {
    response.body = std::move(body);
  }
  return response;
}

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// `promtool check metrics` on `page`: everything it printed (must be empty) and its status.
ProgramResult Promtool(const std::string& page) {
  static int counter = 0;
  TempFile file(absl::StrCat("metrics_", ++counter, ".txt"), page);
  return RunProgram(kPromtool, {"check", "metrics"}, absl::Seconds(60), file.path());
}

// The sample lines of `page` as (series with labels, value text): `name{labels}` -> "1.5".
std::map<std::string, std::string> Samples(const std::string& page) {
  std::map<std::string, std::string> samples;
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return samples;
}

// The value of `series` on `page`, or nullopt.
std::optional<double> PageValue(const std::map<std::string, std::string>& samples,
                                const std::string& series) {
  const auto it = samples.find(series);
  double value = 0;
  if (it == samples.end() || !absl::SimpleAtod(it->second, &value)) return std::nullopt;
  return value;
}

// The streams with an `mled_samples` series on `page`.
std::set<std::string> StreamsOnPage(const std::string& page) {
  std::set<std::string> streams;
  for (const auto& [series, value] : Samples(page)) {
    constexpr absl::string_view kPrefix = "mled_samples{stream=\"";
    if (absl::StartsWith(series, kPrefix)) {
      streams.insert(series.substr(kPrefix.size(), series.size() - kPrefix.size() - 2));
    }
  }
  return streams;
}

// Escapes a label value as the text format (and PromQL's double-quoted strings) do.
std::string Quoted(absl::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// `name` as a glob that matches only itself (queries take fnmatch patterns, where a backslash
// quotes the next character).
std::string GlobLiteral(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '\\' || c == '*' || c == '?' || c == '[') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

class PrometheusTest : public testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> flags) {
    flags.push_back("--http=127.0.0.1:0");
    flags.push_back(kEstimatesOnly);
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start(flags));
    ASSERT_FALSE(daemon_->http_address().empty()) << daemon_->startup_line();
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
  }

  // Ingests `rows` into `stream` over TCP (one StreamBatch) and remembers them.
  void Ingest(const std::string& stream, uint32_t dim, const std::vector<double>& rows) {
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestBatch(*client_, ++seq_, stream, dim, rows));
    ASSERT_EQ(ack.rejected(), 0u) << ack.DebugString();
    std::vector<double>& all = rows_[stream];
    all.insert(all.end(), rows.begin(), rows.end());
  }

  // The estimate of `stream` (queries take globs, so the name is quoted as one).
  absl::StatusOr<mled::v1::Estimate> QueryOne(const std::string& stream) {
    absl::StatusOr<mled::v1::Estimates> answer = QueryEstimates(*client_, {GlobLiteral(stream)});
    if (!answer.ok()) return answer.status();
    for (const mled::v1::Estimate& estimate : answer->estimates()) {
      if (estimate.stream() == stream) return estimate;
    }
    return absl::NotFoundError(
        absl::StrCat("no estimate of ", stream, " in ", answer->ShortDebugString()));
  }

  absl::StatusOr<std::string> FetchMetrics(const std::string& target = "/metrics") {
    absl::StatusOr<HttpResponse> response = HttpGet(daemon_->http_address(), target);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return absl::FailedPreconditionError(
          absl::StrCat("GET ", target, ": ", response->status, " ", response->body));
    }
    EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    return response->body;
  }

  void ExpectPromtoolQuiet(const std::string& page) {
    if (!Installed(kPromtool)) {
      std::cerr << "note: " << kPromtool << " is not installed; page not linted\n";
      return;
    }
    const ProgramResult lint = Promtool(page);
    EXPECT_EQ(lint.out + lint.err, "") << "promtool on the page:\n" << Tail(page);
    EXPECT_TRUE(lint.status.ExitedWith(0)) << lint.status.ToString();
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
  uint64_t seq_ = 0;
  std::map<std::string, std::vector<double>> rows_;
};

// Stream names that exercise the label escaping end to end (the daemon refuses control characters,
// so no newline here; lib/wire's tests cover it).
const char kOddName[] =
    "odd/quote\"back\\slash/\xC2\xB0"
    "C/\xE6\xB8\xA9\xE5\xBA\xA6 x";

TEST_F(PrometheusTest, PageHasTheEstimatesAndPassesPromtool) {
  StartDaemon({});
  Ingest("temp/a", 1, GaussianRows(1, 1000, 1, 1e9, 1.0));
  Ingest(kOddName, 1, GaussianRows(2, 200, 1, -5.0, 0.25));
  Ingest("xyz", 3, GaussianRows(3, 500, 3, 10.0, 2.0));
  Ingest("single", 1, {42.0});  // degenerate: no nll

  ASSERT_OK_AND_ASSIGN(const std::string page, FetchMetrics());
  ExpectPromtoolQuiet(page);
  const auto samples = Samples(page);

  for (const auto& [stream, rows] : rows_) {
    ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryOne(stream));
    const uint32_t dim = estimate.dim();
    const Reference reference = TwoPassReference(rows, dim);
    const std::string label = absl::StrCat("{stream=", Quoted(stream));
    SCOPED_TRACE(label);
    EXPECT_EQ(PageValue(samples, absl::StrCat("mled_samples", label, "}")),
              static_cast<double>(rows.size() / dim));
    for (uint32_t k = 0; k < dim; ++k) {
      const std::string dim_label = dim == 1 ? "}" : absl::StrCat(",dim=\"", k, "\"}");
      const std::optional<double> mean =
          PageValue(samples, absl::StrCat("mled_mean", label, dim_label));
      const std::optional<double> variance =
          PageValue(samples, absl::StrCat("mled_variance", label, dim_label));
      ASSERT_TRUE(mean.has_value() && variance.has_value()) << Tail(page);
      // The page prints the daemon's doubles so that they parse back exactly...
      EXPECT_EQ(*mean, estimate.mean(static_cast<int>(k)));
      EXPECT_EQ(*variance, estimate.covariance(static_cast<int>(k * (dim + 1))));
      // ...and those match the long double two-pass reference.
      const double ref_mean = static_cast<double>(reference.mean[k]);
      const double ref_var = static_cast<double>(reference.covariance[k * (dim + 1)]);
      EXPECT_NEAR(*mean, ref_mean, 1e-12 * std::max(std::abs(ref_mean), 1.0));
      EXPECT_NEAR(*variance, ref_var, 1e-9 * std::max(ref_var, 1e-300));
    }
    const std::optional<double> nll = PageValue(samples, absl::StrCat("mled_nll", label, "}"));
    EXPECT_EQ(nll.has_value(), reference.nll.has_value());
    if (nll.has_value() && reference.nll.has_value()) {
      EXPECT_EQ(*nll, estimate.nll());
      EXPECT_NEAR(
          *nll, static_cast<double>(*reference.nll),
          1e-9 * std::max(std::abs(static_cast<double>(*reference.nll)), 1.0 * rows.size()));
      EXPECT_EQ(PageValue(samples, absl::StrCat("mled_mean_nll", label, "}")), estimate.mean_nll());
    }
    EXPECT_EQ(PageValue(samples, absl::StrCat("mled_anomalies_total", label, "}")), 0.0);
  }
  EXPECT_EQ(PageValue(samples, "mled_streams"), 4.0);
  EXPECT_EQ(PageValue(samples, "mled_samples_accepted_total{transport=\"tcp\"}"),
            1000.0 + 200 + 500 + 1);
  EXPECT_EQ(PageValue(samples, "mled_samples_accepted_total{transport=\"udp\"}"), 0.0);
  EXPECT_EQ(PageValue(samples, "mled_samples_rejected_total{code=\"INVALID_ARGUMENT\"}"), 0.0);
  EXPECT_EQ(PageValue(samples, "mled_metrics_streams_omitted"), 0.0);
  EXPECT_GE(PageValue(samples, "mled_http_requests_total").value_or(-1), 0.0);
  EXPECT_GT(PageValue(samples, "mled_uptime_seconds").value_or(-1), 0.0);
}

TEST_F(PrometheusTest, MatchSelectsStreamsAndTheCapIsReported) {
  StartDaemon({"--max_metrics_streams=3"});
  for (int i = 0; i < 5; ++i) Ingest(absl::StrCat("cap/", i), 1, {1.0 * i, 2.0 * i + 1});
  Ingest("other/x", 1, {1, 2, 3});

  // No filter: 3 of the 6 streams, and the page says 3 were left out.
  ASSERT_OK_AND_ASSIGN(const std::string all, FetchMetrics());
  ExpectPromtoolQuiet(all);
  EXPECT_EQ(StreamsOnPage(all).size(), 3u) << all;
  EXPECT_EQ(PageValue(Samples(all), "mled_metrics_streams_omitted"), 3.0);
  EXPECT_EQ(PageValue(Samples(all), "mled_streams"), 6.0);

  // A filter under the cap: exactly the matching stream, nothing omitted.
  ASSERT_OK_AND_ASSIGN(const std::string other,
                       FetchMetrics(absl::StrCat("/metrics?match=", UrlEncode("other/*"))));
  ExpectPromtoolQuiet(other);
  EXPECT_EQ(StreamsOnPage(other), std::set<std::string>({"other/x"}));
  EXPECT_EQ(PageValue(Samples(other), "mled_metrics_streams_omitted"), 0.0);
  // The daemon counters are on every page, filtered or not.
  EXPECT_EQ(PageValue(Samples(other), "mled_samples_accepted_total{transport=\"tcp\"}"), 13.0);

  // A filter over the cap: 3 of the 5 matches, and exactly the other 2 reported left out.
  ASSERT_OK_AND_ASSIGN(const std::string cap,
                       FetchMetrics(absl::StrCat("/metrics?match=", UrlEncode("cap/*"))));
  const std::set<std::string> streams = StreamsOnPage(cap);
  EXPECT_EQ(streams.size(), 3u) << cap;
  for (const std::string& stream : streams) EXPECT_TRUE(absl::StartsWith(stream, "cap/"));
  EXPECT_EQ(PageValue(Samples(cap), "mled_metrics_streams_omitted"), 2.0);

  // Several match parameters are a union.
  ASSERT_OK_AND_ASSIGN(const std::string two,
                       FetchMetrics(absl::StrCat("/metrics?match=", UrlEncode("cap/1"),
                                                 "&match=", UrlEncode("other/x"))));
  EXPECT_EQ(StreamsOnPage(two), std::set<std::string>({"cap/1", "other/x"}));

  // A match nothing satisfies: no streams, still a valid page.
  ASSERT_OK_AND_ASSIGN(const std::string none,
                       FetchMetrics(absl::StrCat("/metrics?match=", UrlEncode("nothing/*"))));
  ExpectPromtoolQuiet(none);
  EXPECT_TRUE(StreamsOnPage(none).empty());
}

// ---- A real Prometheus scraping mled -------------------------------------------------------

// A fresh directory, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string pattern = absl::StrCat(testing::TempDir(), "mled_prometheus_XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback port nobody listens on right now (the kernel's choice for an ephemeral bind).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// The values of an instant-vector answer of Prometheus' /api/v1/query, e.g.
//   {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},
//    "value":[1700000000.1,"20.5"]}]}}  ->  {20.5}.
// Label values may hold anything, but a value is always `"value":[<time>,"<number>"]`, which no
// escaped label value can contain unescaped.
std::vector<double> VectorValues(const std::string& json) {
  std::vector<double> values;
  constexpr std::string_view kKey = "\"value\":[";
  for (size_t at = json.find(kKey); at != std::string::npos; at = json.find(kKey, at + 1)) {
    const size_t open = json.find(",\"", at);
    const size_t close = json.find('"', open + 2);
    if (open == std::string::npos || close == std::string::npos) break;
    double value = 0;
    if (absl::SimpleAtod(json.substr(open + 2, close - open - 2), &value)) values.push_back(value);
  }
  return values;
}

TEST_F(PrometheusTest, PrometheusScrapesTheEstimates) {
  if (!Installed(kPrometheus)) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian package prometheus; scripts/setup "
                 << "installs it)";
  }
  StartDaemon({});
  Ingest("temp/a", 1, GaussianRows(11, 2000, 1, 20.0, 3.0));
  Ingest(kOddName, 1, GaussianRows(12, 300, 1, -1e6, 10.0));
  Ingest("xy", 2, GaussianRows(13, 400, 2, 0.0, 1.0));
  ASSERT_OK_AND_ASSIGN(const mled::v1::DaemonStats stats, FetchDaemonStats(*client_));

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string config = absl::StrCat(dir.path(), "/prometheus.yml");
  std::ofstream(config) << "global:\n"
                        << "  scrape_interval: 1s\n"
                        << "  scrape_timeout: 1s\n"
                        << "scrape_configs:\n"
                        << "  - job_name: mled\n"
                        << "    static_configs:\n"
                        << "      - targets: [\"" << daemon_->http_address() << "\"]\n";
  const int port = FreePort();
  ASSERT_NE(port, 0);
  const std::string prometheus_address = absl::StrCat("127.0.0.1:", port);
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ChildProcess> prometheus,
      ChildProcess::Spawn(kPrometheus, {absl::StrCat("--config.file=", config),
                                        absl::StrCat("--storage.tsdb.path=", dir.path(), "/data"),
                                        absl::StrCat("--web.listen-address=", prometheus_address),
                                        "--log.level=warn"}));

  // Polls a PromQL query until it returns `count` series; their values.
  const auto poll = [&](const std::string& query, size_t count) -> std::vector<double> {
    const absl::Time deadline = absl::Now() + kPrometheusWait;
    std::string last;
    while (absl::Now() < deadline && prometheus->Running()) {
      absl::StatusOr<HttpResponse> response =
          HttpGet(prometheus_address, absl::StrCat("/api/v1/query?query=", UrlEncode(query)));
      if (response.ok() && response->status == 200) {
        last = response->body;
        std::vector<double> values = VectorValues(response->body);
        if (values.size() == count) return values;
      } else {
        last = response.ok() ? absl::StrCat(response->status, " ", response->body)
                             : response.status().ToString();
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << "Prometheus never answered " << query << " with " << count
                  << " series; last answer: " << last
                  << "\nprometheus stderr: " << Tail(prometheus->StderrText());
    return {};
  };

  // Each scraped value equals what the daemon itself reports, printed and parsed back exactly.
  for (const std::string& stream : {std::string("temp/a"), std::string(kOddName)}) {
    SCOPED_TRACE(stream);
    ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryOne(stream));
    const Reference reference = TwoPassReference(rows_[stream], 1);
    const std::string selector = absl::StrCat("{stream=", Quoted(stream), "}");
    const std::vector<double> mean = poll(absl::StrCat("mled_mean", selector), 1);
    ASSERT_EQ(mean.size(), 1u);
    EXPECT_EQ(mean[0], estimate.mean(0));
    const double ref_mean = static_cast<double>(reference.mean[0]);
    EXPECT_NEAR(mean[0], ref_mean, 1e-12 * std::max(std::abs(ref_mean), 1.0));
    const std::vector<double> variance = poll(absl::StrCat("mled_variance", selector), 1);
    ASSERT_EQ(variance.size(), 1u);
    EXPECT_EQ(variance[0], estimate.covariance(0));
    EXPECT_NEAR(variance[0], static_cast<double>(reference.covariance[0]),
                1e-9 * static_cast<double>(reference.covariance[0]));
    const std::vector<double> samples = poll(absl::StrCat("mled_samples", selector), 1);
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0], static_cast<double>(rows_[stream].size()));
    const std::vector<double> nll = poll(absl::StrCat("mled_nll", selector), 1);
    ASSERT_EQ(nll.size(), 1u);
    EXPECT_EQ(nll[0], estimate.nll());
  }
  // A multivariate stream: one series per component.
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate xy, QueryOne("xy"));
  const std::vector<double> component = poll("mled_variance{stream=\"xy\",dim=\"1\"}", 1);
  ASSERT_EQ(component.size(), 1u);
  EXPECT_EQ(component[0], xy.covariance(3));
  EXPECT_EQ(poll("mled_mean{stream=\"xy\"}", 2).size(), 2u);

  // Daemon counters.
  const std::vector<double> accepted = poll("mled_samples_accepted_total{transport=\"tcp\"}", 1);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0], static_cast<double>(stats.samples_accepted_tcp()));
  EXPECT_EQ(accepted[0], 2000.0 + 300 + 400);
  const std::vector<double> streams = poll("mled_streams", 1);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0], 3.0);
  // Prometheus saw every family it scraped as well-formed: the target is up.
  const std::vector<double> up = poll("up{job=\"mled\"}", 1);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0], 1.0);
  const std::vector<double> requests = poll("mled_http_requests_total > 0", 1);
  EXPECT_EQ(requests.size(), 1u);

  prometheus->Kill();
}

}  // namespace
}  // namespace mled::integration
