// The HTTP interface end to end (--http): every route of the JSON API with values checked
// against the long double two-pass reference, JSON and binary ingest, the error statuses with
// their messages (400, 404, 405, 413, 415, 431, 503), keep-alive, HEAD, /metrics, the dashboard
// path, and Server-Sent Events on /v1/events: the snapshot, updates after new samples, anomaly
// events, a client that never reads being disconnected while others go on, and SIGTERM with an
// event stream open.
//
// The client here is a small synchronous wrapper over Beast with a deadline on every operation.
// DaemonStats has a map field, which Debian's protobuf cannot parse from JSON under TSan, so
// /v1/stats is read by pattern (StatCounter), never parsed into the message.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;

using Response = http::response<http::string_body>;

// "127.0.0.1:PORT" -> endpoint.
tcp::endpoint Endpoint(const std::string& address) {
  const std::vector<std::string> parts = absl::StrSplit(address, ':');
  int port = 0;
  EXPECT_EQ(parts.size(), 2u) << address;
  EXPECT_TRUE(absl::SimpleAtoi(parts.back(), &port)) << address;
  return tcp::endpoint(asio::ip::make_address(parts.front()), static_cast<uint16_t>(port));
}

// One keep-alive HTTP connection; every operation has a deadline (kWait).
class HttpClient {
 public:
  explicit HttpClient(const std::string& address) : address_(address), stream_(io_) {}

  absl::Status Connect() {
    beast::error_code error;
    stream_.expires_after(std::chrono::seconds(15));
    stream_.async_connect(Endpoint(address_), [&](beast::error_code e) { error = e; });
    Run();
    if (error) return absl::UnavailableError(absl::StrCat("connect: ", error.message()));
    return absl::OkStatus();
  }

  // Sends one request and reads its response. `content_type` empty: no Content-Type header.
  absl::StatusOr<Response> Send(http::verb method, const std::string& target,
                                const std::string& body = "",
                                const std::string& content_type = "application/json") {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, address_);
    if (!content_type.empty() && method == http::verb::post) {
      request.set(http::field::content_type, content_type);
    }
    request.body() = body;
    request.prepare_payload();
    beast::error_code error;
    stream_.expires_after(std::chrono::seconds(15));
    http::async_write(stream_, request, [&](beast::error_code e, size_t) { error = e; });
    Run();
    if (error) return absl::UnavailableError(absl::StrCat("write: ", error.message()));
    return Read(method == http::verb::head);
  }

  absl::StatusOr<Response> Get(const std::string& target) { return Send(http::verb::get, target); }

  // Sends `bytes` as they are (a hand-made request) and reads one response.
  absl::StatusOr<Response> SendRaw(const std::string& bytes) {
    beast::error_code error;
    stream_.expires_after(std::chrono::seconds(15));
    asio::async_write(stream_, asio::buffer(bytes), [&](beast::error_code e, size_t) { error = e; });
    Run();
    if (error) return absl::UnavailableError(absl::StrCat("write: ", error.message()));
    return Read(false);
  }

  // True once the daemon has closed the connection (EOF or reset) within kWait.
  bool ClosedByPeer() {
    beast::error_code error;
    char byte;
    stream_.expires_after(std::chrono::seconds(15));
    stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, size_t) { error = e; });
    Run();
    return error && error != beast::error::timeout;
  }

 private:
  absl::StatusOr<Response> Read(bool head) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 30);
    parser.skip(head);
    beast::error_code error;
    stream_.expires_after(std::chrono::seconds(15));
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { error = e; });
    Run();
    if (error) return absl::UnavailableError(absl::StrCat("read: ", error.message()));
    return parser.release();
  }

  void Run() {
    io_.restart();
    io_.run();
  }

  std::string address_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// A connected client, or a test failure.
std::unique_ptr<HttpClient> Connected(const std::string& address) {
  auto client = std::make_unique<HttpClient>(address);
  const absl::Status status = client->Connect();
  EXPECT_TRUE(status.ok()) << status;
  return client;
}

template <typename Message>
testing::AssertionResult ParseJson(const std::string& json, Message* message) {
  const auto status = google::protobuf::util::JsonStringToMessage(json, message);
  if (status.ok()) return testing::AssertionSuccess();
  return testing::AssertionFailure() << status.ToString() << " in " << json;
}

// The value of a uint64 counter in /v1/stats JSON ("name":"123"); -1 if absent.
int64_t StatCounter(const std::string& json, const std::string& name) {
  std::smatch match;
  const std::regex pattern("\"" + name + "\":\"([0-9]+)\"");
  if (!std::regex_search(json, match, pattern)) return -1;
  int64_t value = -1;
  if (!absl::SimpleAtoi(match[1].str(), &value)) return -1;
  return value;
}

std::string IngestJson(const mled::v1::Ingest& ingest) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(ingest, &json).ok());
  return json;
}

// One event of an event stream.
struct Event {
  std::string name;  // "estimates", "anomaly"
  std::string data;
};

// A client of GET /v1/events that parses the stream as it arrives.
class EventClient {
 public:
  // Opens the stream and reads the response head. `rcvbuf` > 0 shrinks the receive buffer.
  absl::Status Open(const std::string& address, const std::string& target) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return absl::InternalError("socket");
    const timeval tick{0, 50'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    const tcp::endpoint endpoint = Endpoint(address);
    sockaddr_in to;
    std::memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(endpoint.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
    }
    const std::string request =
        absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: ", address, "\r\nAccept: text/event-stream\r\n\r\n");
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return absl::UnavailableError("send");
    }
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      const size_t end = text_.find("\r\n\r\n");
      if (end != std::string::npos) {
        head_ = text_.substr(0, end);
        text_.erase(0, end + 4);
        return absl::OkStatus();
      }
      if (!ReadSome()) break;
    }
    return absl::DeadlineExceededError(absl::StrCat("no response head; got: ", text_));
  }

  ~EventClient() {
    if (fd_ >= 0) close(fd_);
  }

  const std::string& head() const { return head_; }
  bool retry_seen() const { return retry_seen_; }
  bool closed() const { return closed_; }

  // The next event named `name` (others skipped), within kWait.
  std::optional<Event> Next(const std::string& name) {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      while (true) {
        const size_t end = text_.find("\n\n");
        if (end == std::string::npos) break;
        const std::string block = text_.substr(0, end);
        text_.erase(0, end + 2);
        Event event;
        for (absl::string_view line : absl::StrSplit(block, '\n')) {
          if (absl::ConsumePrefix(&line, "event: ")) event.name = std::string(line);
          if (absl::ConsumePrefix(&line, "data: ")) event.data = std::string(line);
          if (absl::StartsWith(line, "retry: 2000")) retry_seen_ = true;
        }
        if (event.name == name) return event;
      }
      if (!ReadSome() && closed_) return std::nullopt;
    }
    return std::nullopt;
  }

  // Reads until the daemon closes the connection; false if it is still open after kWait.
  bool WaitClosed() {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline && !closed_) {
      ReadSome();
      text_.clear();
    }
    return closed_;
  }

 private:
  // One recv (up to 50 ms); false when nothing came.
  bool ReadSome() {
    char buffer[65536];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      closed_ = true;
      return false;
    }
    if (n < 0) return false;
    text_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string text_;
  std::string head_;
  bool retry_seen_ = false;
  bool closed_ = false;
};

mled::v1::Estimate EstimateOf(const mled::v1::Estimates& estimates, const std::string& stream) {
  for (const mled::v1::Estimate& estimate : estimates.estimates()) {
    if (estimate.stream() == stream) return estimate;
  }
  return {};
}

class HttpTest : public testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> flags = {}) {
    flags.push_back("--http=127.0.0.1:0");
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start(flags));
    ASSERT_FALSE(daemon_->http_address().empty()) << daemon_->startup_line();
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(HttpTest, IngestJsonAndBinaryMatchTheTwoPassReference) {
  StartDaemon({kEstimatesOnly});
  auto client = Connected(daemon_->http_address());

  // JSON: a univariate stream whose name contains '/', in single samples.
  const std::vector<double> temps = GaussianRows(1, 500, 1, 1e6, 3.0);
  mled::v1::Ingest json_ingest;
  json_ingest.set_seq(7);
  for (double x : temps) *json_ingest.add_samples() = MakeSample("plant/temp", {x});
  ASSERT_OK_AND_ASSIGN(Response json_reply,
                       client->Send(http::verb::post, "/v1/ingest", IngestJson(json_ingest)));
  ASSERT_EQ(json_reply.result_int(), 200) << json_reply.body();
  EXPECT_EQ(json_reply[http::field::content_type], "application/json");
  mled::v1::Ack json_ack;
  ASSERT_TRUE(ParseJson(json_reply.body(), &json_ack));
  EXPECT_EQ(json_ack.seq(), 7u);
  EXPECT_EQ(json_ack.accepted(), temps.size());
  EXPECT_EQ(json_ack.rejected(), 0u);
  EXPECT_TRUE(absl::StrContains(json_reply.body(), "\"accepted\":\"500\"")) << json_reply.body();

  // Binary protobuf on the same connection (keep-alive): a D = 3 batch and one bad sample.
  const std::vector<double> rows = GaussianRows(2, 300, 3, -50.0, 0.5);
  mled::v1::Ingest binary_ingest;
  binary_ingest.set_seq(8);
  *binary_ingest.add_batches() = MakeBatch("plant/xyz", 3, rows);
  // Samples are applied before batches: this one fixes plant/bad's dimension at 1.
  *binary_ingest.add_samples() = MakeSample("plant/bad", {1.0});
  *binary_ingest.add_batches() = MakeBatch("plant/bad", 2, {1.0, 2.0});  // wrong dimension
  ASSERT_OK_AND_ASSIGN(Response binary_reply,
                       client->Send(http::verb::post, "/v1/ingest",
                                    binary_ingest.SerializeAsString(), "application/x-protobuf"));
  ASSERT_EQ(binary_reply.result_int(), 200) << binary_reply.body();
  EXPECT_EQ(binary_reply[http::field::content_type], "application/x-protobuf");
  mled::v1::Ack binary_ack;
  ASSERT_TRUE(binary_ack.ParseFromString(binary_reply.body()));
  EXPECT_EQ(binary_ack.seq(), 8u);
  EXPECT_EQ(binary_ack.accepted(), 301u);
  EXPECT_EQ(binary_ack.rejected(), 1u);
  ASSERT_EQ(binary_ack.rejections_size(), 1);
  EXPECT_EQ(binary_ack.rejections(0).code(), mled::v1::DIMENSION_MISMATCH);

  // GET /v1/streams: every stream, sorted, each equal to the reference.
  ASSERT_OK_AND_ASSIGN(Response all, client->Get("/v1/streams"));
  ASSERT_EQ(all.result_int(), 200) << all.body();
  mled::v1::Estimates estimates;
  ASSERT_TRUE(ParseJson(all.body(), &estimates));
  ASSERT_EQ(estimates.estimates_size(), 3) << all.body();
  EXPECT_EQ(estimates.estimates(0).stream(), "plant/bad");
  EXPECT_EQ(estimates.estimates(1).stream(), "plant/temp");
  EXPECT_EQ(estimates.estimates(2).stream(), "plant/xyz");
  EXPECT_TRUE(EstimateMatches(estimates.estimates(1), TwoPassReference(temps, 1), 1e-9));
  EXPECT_TRUE(EstimateMatches(estimates.estimates(2), TwoPassReference(rows, 3), 1e-9));
  // 64-bit integers are strings in the JSON mapping; field names as in the .proto.
  EXPECT_TRUE(absl::StrContains(all.body(), "\"count\":\"500\"")) << all.body();
  EXPECT_TRUE(absl::StrContains(all.body(), "\"mean_nll\":")) << all.body();

  // ?match= selects (repeatable).
  ASSERT_OK_AND_ASSIGN(Response matched, client->Get("/v1/streams?match=*xyz&match=nothing*"));
  mled::v1::Estimates only_xyz;
  ASSERT_TRUE(ParseJson(matched.body(), &only_xyz));
  ASSERT_EQ(only_xyz.estimates_size(), 1) << matched.body();
  EXPECT_EQ(only_xyz.estimates(0).stream(), "plant/xyz");

  // GET /v1/streams/{name}: '/' in the name, plain or percent-encoded.
  for (const std::string target : {"/v1/streams/plant/temp", "/v1/streams/plant%2Ftemp"}) {
    ASSERT_OK_AND_ASSIGN(Response one, client->Get(target));
    ASSERT_EQ(one.result_int(), 200) << target << ": " << one.body();
    mled::v1::Estimate estimate;
    ASSERT_TRUE(ParseJson(one.body(), &estimate));
    EXPECT_TRUE(EstimateMatches(estimate, TwoPassReference(temps, 1), 1e-9)) << target;
  }
  ASSERT_OK_AND_ASSIGN(Response missing, client->Get("/v1/streams/plant/none"));
  EXPECT_EQ(missing.result_int(), 404);
  mled::v1::Error error;
  ASSERT_TRUE(ParseJson(missing.body(), &error));
  EXPECT_TRUE(absl::StrContains(error.message(), "plant/none")) << missing.body();

  // HEAD: the GET's headers and Content-Length, no body.
  ASSERT_OK_AND_ASSIGN(Response head, client->Send(http::verb::head, "/v1/streams/plant/temp"));
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_NE(head[http::field::content_length], "0");

  // /v1/stats counts the HTTP samples, requests and errors.
  ASSERT_OK_AND_ASSIGN(Response stats, client->Get("/v1/stats"));
  ASSERT_EQ(stats.result_int(), 200);
  EXPECT_EQ(StatCounter(stats.body(), "samples_accepted_http"), 801) << stats.body();
  EXPECT_EQ(StatCounter(stats.body(), "streams"), 3) << stats.body();
  EXPECT_GE(StatCounter(stats.body(), "http_requests"), 7) << stats.body();
  EXPECT_EQ(StatCounter(stats.body(), "http_errors"), 1) << stats.body();  // the 404
  EXPECT_EQ(StatCounter(stats.body(), "http_connections_current"), 1) << stats.body();

  // POST /v1/reset clears by glob and answers an Ack.
  ASSERT_OK_AND_ASSIGN(Response reset,
                       client->Send(http::verb::post, "/v1/reset", R"({"streams":["*temp"]})"));
  ASSERT_EQ(reset.result_int(), 200) << reset.body();
  mled::v1::Ack reset_ack;
  ASSERT_TRUE(ParseJson(reset.body(), &reset_ack));
  EXPECT_EQ(reset_ack.accepted(), 1u);
  ASSERT_OK_AND_ASSIGN(Response gone, client->Get("/v1/streams/plant/temp"));
  EXPECT_EQ(gone.result_int(), 404);
}

TEST_F(HttpTest, MetricsAndDashboardPaths) {
  StartDaemon({kEstimatesOnly, "--max_metrics_streams=1"});
  auto client = Connected(daemon_->http_address());
  mled::v1::Ingest ingest;
  *ingest.add_samples() = MakeSample("m/a", {1.0});
  *ingest.add_samples() = MakeSample("m/a", {3.0});
  *ingest.add_samples() = MakeSample("m/b", {2.0});
  ASSERT_OK_AND_ASSIGN(Response ack, client->Send(http::verb::post, "/v1/ingest", IngestJson(ingest)));
  ASSERT_EQ(ack.result_int(), 200);

  ASSERT_OK_AND_ASSIGN(Response metrics, client->Get("/metrics"));
  ASSERT_EQ(metrics.result_int(), 200) << metrics.body();
  EXPECT_TRUE(absl::StartsWith(std::string(metrics[http::field::content_type]), "text/plain; version=0.0.4"));
  EXPECT_TRUE(absl::StrContains(metrics.body(), "stream=\"m/a\"")) << metrics.body();
  EXPECT_FALSE(absl::StrContains(metrics.body(), "stream=\"m/b\"")) << metrics.body();
  EXPECT_TRUE(absl::StrContains(metrics.body(), "mled_metrics_streams_omitted 1")) << metrics.body();
  ASSERT_OK_AND_ASSIGN(Response matched, client->Get("/metrics?match=m/b"));
  EXPECT_TRUE(absl::StrContains(matched.body(), "stream=\"m/b\"")) << matched.body();
  EXPECT_TRUE(absl::StrContains(matched.body(), "mled_metrics_streams_omitted 0")) << matched.body();

  // The dashboard's index, or 404 while the binary has none embedded; either way no-cache on 200.
  ASSERT_OK_AND_ASSIGN(Response index, client->Get("/"));
  if (index.result_int() == 200) {
    EXPECT_EQ(index[http::field::cache_control], "no-cache");
    EXPECT_TRUE(absl::StartsWith(std::string(index[http::field::content_type]), "text/html"));
  } else {
    EXPECT_EQ(index.result_int(), 404);
  }
}

TEST_F(HttpTest, ErrorsHaveStatusAndMessage) {
  StartDaemon({"--max_http_body_bytes=1024", "--max_http_header_bytes=1024"});
  const std::string address = daemon_->http_address();
  auto client = Connected(address);

  const auto expect_error = [](const Response& response, int status, const std::string& code,
                               const std::string& text) {
    EXPECT_EQ(response.result_int(), status) << response.body();
    EXPECT_EQ(response[http::field::content_type], "application/json");
    mled::v1::Error error;
    EXPECT_TRUE(ParseJson(response.body(), &error));
    EXPECT_EQ(mled::v1::Code_Name(error.code()), code) << response.body();
    EXPECT_TRUE(absl::StrContains(error.message(), text)) << response.body();
  };

  // 400: a body that is not JSON, with the parser's message; the connection goes on.
  ASSERT_OK_AND_ASSIGN(Response bad_json, client->Send(http::verb::post, "/v1/ingest", "{\"seq\": tru"));
  expect_error(bad_json, 400, "MALFORMED_FRAME", "not a mled.v1.Ingest in JSON");
  ASSERT_OK_AND_ASSIGN(Response bad_field,
                       client->Send(http::verb::post, "/v1/ingest", R"({"samples":[{"strem":"a"}]})"));
  expect_error(bad_field, 400, "MALFORMED_FRAME", "strem");
  ASSERT_OK_AND_ASSIGN(Response bad_proto, client->Send(http::verb::post, "/v1/ingest", "\xff\xff",
                                                        "application/x-protobuf"));
  expect_error(bad_proto, 400, "MALFORMED_FRAME", "not a binary mled.v1.Ingest");
  ASSERT_OK_AND_ASSIGN(Response bad_type,
                       client->Send(http::verb::post, "/v1/ingest", "x", "text/csv"));
  expect_error(bad_type, 415, "INVALID_ARGUMENT", "text/csv");
  ASSERT_OK_AND_ASSIGN(Response bad_param, client->Get("/v1/streams?stream=a"));
  expect_error(bad_param, 400, "INVALID_ARGUMENT", "unknown query parameter \"stream\"");
  ASSERT_OK_AND_ASSIGN(Response bad_escape, client->Get("/v1/streams/a%zz"));
  expect_error(bad_escape, 400, "INVALID_ARGUMENT", "percent escape");
  ASSERT_OK_AND_ASSIGN(Response bad_interval, client->Get("/v1/events?interval_ms=1"));
  expect_error(bad_interval, 400, "INVALID_ARGUMENT", "interval_ms");
  ASSERT_OK_AND_ASSIGN(Response bad_glob, client->Get("/v1/events?streams=a,,b"));
  expect_error(bad_glob, 400, "INVALID_ARGUMENT", "not a valid name or glob");
  ASSERT_OK_AND_ASSIGN(Response bad_flag, client->Get("/v1/events?anomalies=maybe"));
  expect_error(bad_flag, 400, "INVALID_ARGUMENT", "anomalies");
  ASSERT_OK_AND_ASSIGN(Response bad_reset, client->Send(http::verb::post, "/v1/reset", "[]"));
  expect_error(bad_reset, 400, "MALFORMED_FRAME", "not a mled.v1.Reset");

  // 404 and 405 (with Allow).
  ASSERT_OK_AND_ASSIGN(Response no_path, client->Get("/v2/nothing"));
  expect_error(no_path, 404, "INVALID_ARGUMENT", "no such path: /v2/nothing");
  ASSERT_OK_AND_ASSIGN(Response wrong_method, client->Get("/v1/ingest"));
  expect_error(wrong_method, 405, "INVALID_ARGUMENT", "use POST");
  EXPECT_EQ(wrong_method[http::field::allow], "POST");
  ASSERT_OK_AND_ASSIGN(Response wrong_post, client->Send(http::verb::post, "/v1/stats", "{}"));
  expect_error(wrong_post, 405, "INVALID_ARGUMENT", "GET");
  EXPECT_EQ(wrong_post[http::field::allow], "GET, HEAD");

  // Still the same connection after all of those.
  ASSERT_OK_AND_ASSIGN(Response fine, client->Get("/v1/stats"));
  EXPECT_EQ(fine.result_int(), 200);

  // 413: a body over max_http_body_bytes, refused from its Content-Length; then the daemon
  // closes that connection.
  {
    auto big = Connected(address);
    ASSERT_OK_AND_ASSIGN(Response too_large,
                         big->SendRaw("POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                      "application/json\r\nContent-Length: 5000\r\n\r\n"));
    expect_error(too_large, 413, "FRAME_TOO_LARGE", "max_http_body_bytes");
    EXPECT_TRUE(big->ClosedByPeer());
  }
  // 431: headers over max_http_header_bytes.
  {
    auto big = Connected(address);
    ASSERT_OK_AND_ASSIGN(Response too_long,
                         big->SendRaw(absl::StrCat("GET /v1/stats HTTP/1.1\r\nHost: x\r\nX-Pad: ",
                                                   std::string(2000, 'a'), "\r\n\r\n")));
    expect_error(too_long, 431, "RESOURCE_EXHAUSTED", "max_http_header_bytes");
    EXPECT_TRUE(big->ClosedByPeer());
  }
  // 400: not HTTP at all.
  {
    auto garbage = Connected(address);
    ASSERT_OK_AND_ASSIGN(Response not_http, garbage->SendRaw("HELLO\x01 THERE\r\n\r\n"));
    expect_error(not_http, 400, "MALFORMED_FRAME", "malformed HTTP request");
  }
  // The daemon keeps serving.
  ASSERT_OK_AND_ASSIGN(Response after, client->Get("/v1/stats"));
  EXPECT_EQ(after.result_int(), 200);
  EXPECT_EQ(StatCounter(after.body(), "http_errors"), 16) << after.body();
}

// curl sends "Expect: 100-continue" before bodies over 1 KiB and waits a second for the interim
// answer: the daemon sends it at once, then reads the body.
TEST_F(HttpTest, ExpectContinueIsAnsweredBeforeTheBody) {
  StartDaemon({kEstimatesOnly});
  auto client = Connected(daemon_->http_address());
  const std::string body =
      R"({"seq": 3, "batches": [{"stream": "expect/x", "dim": 1, "values": [1, 2, 4]}]})";
  ASSERT_OK_AND_ASSIGN(
      Response interim,
      client->SendRaw(absl::StrCat("POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                   "application/json\r\nExpect: 100-continue\r\nContent-Length: ",
                                   body.size(), "\r\n\r\n")));
  EXPECT_EQ(interim.result_int(), 100);
  ASSERT_OK_AND_ASSIGN(Response reply, client->SendRaw(body));
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  EXPECT_TRUE(absl::StrContains(reply.body(), "\"accepted\":\"3\"")) << reply.body();
}

TEST_F(HttpTest, ConnectionsOverTheLimitGet503) {
  StartDaemon({"--max_http_connections=1"});
  auto first = Connected(daemon_->http_address());
  ASSERT_OK_AND_ASSIGN(Response ok, first->Get("/v1/stats"));  // the first is surely accepted
  EXPECT_EQ(ok.result_int(), 200);
  auto second = Connected(daemon_->http_address());
  absl::StatusOr<Response> refused = second->Get("/v1/stats");
  // The 503 is written before the close; a reset may still overtake it on a loaded machine.
  if (refused.ok()) {
    EXPECT_EQ(refused->result_int(), 503) << refused->body();
    EXPECT_TRUE(absl::StrContains(refused->body(), "max_http_connections")) << refused->body();
  }
  ASSERT_OK_AND_ASSIGN(Response still, first->Get("/v1/stats"));
  EXPECT_EQ(StatCounter(still.body(), "connections_rejected"), 1) << still.body();
}

TEST_F(HttpTest, EventStreamSendsSnapshotUpdatesAndAnomalies) {
  StartDaemon();
  auto client = Connected(daemon_->http_address());
  // Warm a stream up past the default anomaly warm-up (30 samples).
  const std::vector<double> calm = GaussianRows(3, 100, 1, 10.0, 1.0);
  mled::v1::Ingest warmup;
  *warmup.add_batches() = MakeBatch("sse/a", 1, calm);
  ASSERT_OK_AND_ASSIGN(Response ack, client->Send(http::verb::post, "/v1/ingest", IngestJson(warmup)));
  ASSERT_EQ(ack.result_int(), 200) << ack.body();
  *warmup.mutable_batches(0) = MakeBatch("other", 1, {1.0, 2.0});
  ASSERT_OK_AND_ASSIGN(Response other_ack, client->Send(http::verb::post, "/v1/ingest", IngestJson(warmup)));

  EventClient events;
  ASSERT_OK(events.Open(daemon_->http_address(), "/v1/events?streams=sse/*,x&interval_ms=50&anomalies=1"));
  EXPECT_TRUE(absl::StartsWith(events.head(), "HTTP/1.1 200")) << events.head();
  EXPECT_TRUE(absl::StrContains(events.head(), "Content-Type: text/event-stream")) << events.head();

  // The snapshot: the matching stream as it is now.
  std::optional<Event> snapshot = events.Next("estimates");
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_TRUE(events.retry_seen());
  mled::v1::Estimates first;
  ASSERT_TRUE(ParseJson(snapshot->data, &first));
  ASSERT_EQ(first.estimates_size(), 1) << snapshot->data;
  EXPECT_EQ(first.estimates(0).stream(), "sse/a");
  EXPECT_EQ(first.estimates(0).count(), 100u);
  ASSERT_OK_AND_ASSIGN(Response sse_stats, client->Get("/v1/stats"));
  EXPECT_EQ(StatCounter(sse_stats.body(), "sse_clients_current"), 1) << sse_stats.body();

  // New samples: an update with the new count (updates before it may still show 100).
  mled::v1::Ingest more;
  *more.add_samples() = MakeSample("sse/a", {10.5});
  ASSERT_OK_AND_ASSIGN(Response more_ack, client->Send(http::verb::post, "/v1/ingest", IngestJson(more)));
  ASSERT_EQ(more_ack.result_int(), 200);
  bool updated = false;
  while (!updated) {
    std::optional<Event> update = events.Next("estimates");
    ASSERT_TRUE(update.has_value()) << "no update after new samples";
    mled::v1::Estimates estimates;
    ASSERT_TRUE(ParseJson(update->data, &estimates));
    const mled::v1::Estimate estimate = EstimateOf(estimates, "sse/a");
    EXPECT_EQ(EstimateOf(estimates, "other").stream(), "") << "a stream that does not match";
    updated = estimate.count() == 101;
  }

  // An outlier: an anomaly event at once.
  mled::v1::Ingest outlier;
  *outlier.add_samples() = MakeSample("sse/a", {1000.0});
  ASSERT_OK_AND_ASSIGN(Response outlier_ack,
                       client->Send(http::verb::post, "/v1/ingest", IngestJson(outlier)));
  ASSERT_EQ(outlier_ack.result_int(), 200);
  std::optional<Event> anomaly_event = events.Next("anomaly");
  ASSERT_TRUE(anomaly_event.has_value());
  mled::v1::Anomaly anomaly;
  ASSERT_TRUE(ParseJson(anomaly_event->data, &anomaly));
  EXPECT_EQ(anomaly.stream(), "sse/a");
  ASSERT_EQ(anomaly.x_size(), 1);
  EXPECT_EQ(anomaly.x(0), 1000.0);
  EXPECT_LT(anomaly.p_value(), 1e-6);
}

TEST_F(HttpTest, EventStreamThatNeverReadsIsDisconnectedWhileOthersGoOn) {
  // The arithmetic (as in slow_subscriber_test): a stalled client holds the write in flight
  // plus one coalesced update (latest wins), so it passes the bound only when two updates do.
  // Updates of 0.5 to 0.9 of the bound make a stalled client pass it with its first update
  // while a reading client, whose every write fits in the socket buffers at once, never does.
  constexpr int kStreams = 24;
  constexpr uint32_t kDim = 8;
  constexpr size_t kMaxWriteBytes = 65536;
  StartDaemon({kEstimatesOnly, absl::StrCat("--max_session_write_bytes=", kMaxWriteBytes)});
  const std::string address = daemon_->http_address();
  auto client = Connected(address);
  const auto ingest_all = [&](int round) {
    mled::v1::Ingest ingest;
    for (int i = 0; i < kStreams; ++i) {
      std::vector<double> x(kDim);
      for (uint32_t k = 0; k < kDim; ++k) {
        x[k] = static_cast<double>((round * 31 + i * 7 + k * k) % 97) + 0.1;
      }
      *ingest.add_samples() = MakeSample(absl::StrCat("slow/", i), x);
    }
    absl::StatusOr<Response> response = client->Send(
        http::verb::post, "/v1/ingest", ingest.SerializeAsString(), "application/x-protobuf");
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->result_int(), 200);
  };
  for (int round = 0; round < 3; ++round) ingest_all(round);
  {
    ASSERT_OK_AND_ASSIGN(Response all, client->Get("/v1/streams?match=slow/*"));
    EXPECT_GT(all.body().size(), kMaxWriteBytes / 2) << "precondition: updates too small";
    EXPECT_LT(all.body().size(), kMaxWriteBytes * 9 / 10) << "precondition: updates too large";
  }

  // The reader, on its own thread so that it really keeps up.
  EventClient reader;
  ASSERT_OK(reader.Open(address, "/v1/events?streams=slow/*&interval_ms=100"));
  std::mutex mu;
  int reader_updates = 0;
  bool stop_reader = false;
  std::thread reader_thread([&] {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop_reader) return;
      }
      std::optional<Event> event = reader.Next("estimates");
      if (!event.has_value()) return;
      std::lock_guard<std::mutex> lock(mu);
      ++reader_updates;
    }
  });

  // The non-reader: a tiny receive buffer, the request, and never a read.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int rcvbuf = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in to;
  std::memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(Endpoint(address).port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
  // A short interval, so that its kernel buffers fill after few rounds.
  const std::string request =
      "GET /v1/events?streams=slow/*&interval_ms=10 HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));

  // Changes every round until the daemon gives up on the non-reader.
  const absl::Time deadline = absl::Now() + kWait;
  int round = 3;
  int64_t disconnected = 0;
  while (absl::Now() < deadline && disconnected < 1) {
    ingest_all(round++);
    absl::StatusOr<Response> stats = client->Get("/v1/stats");
    ASSERT_TRUE(stats.ok()) << stats.status();
    disconnected = StatCounter(stats->body(), "slow_clients_disconnected");
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(disconnected, 1) << "the non-reader was not disconnected";
  RecordProperty("rounds_until_disconnect", round);
  // The reader still gets updates after that.
  int before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = reader_updates;
  }
  const absl::Time later = absl::Now() + kWait;
  bool more = false;
  while (absl::Now() < later && !more) {
    ingest_all(round++);
    absl::SleepFor(absl::Milliseconds(50));
    std::lock_guard<std::mutex> lock(mu);
    more = reader_updates > before + 1;
  }
  EXPECT_TRUE(more) << "the reading client stopped getting updates\n" << Tail(daemon_->StderrText());
  ASSERT_OK_AND_ASSIGN(Response stats, client->Get("/v1/stats"));
  EXPECT_EQ(StatCounter(stats.body(), "slow_clients_disconnected"), 1) << stats.body();
  EXPECT_EQ(StatCounter(stats.body(), "sse_clients_current"), 1) << stats.body();
  {
    std::lock_guard<std::mutex> lock(mu);
    stop_reader = true;
  }
  ingest_all(round++);  // one more event, so the reader thread wakes up and sees stop_reader
  reader_thread.join();
  close(fd);
}

TEST_F(HttpTest, SigtermWithAnOpenEventStreamStopsCleanly) {
  StartDaemon();
  EventClient events;
  ASSERT_OK(events.Open(daemon_->http_address(), "/v1/events"));
  ASSERT_TRUE(events.Next("estimates").has_value());
  auto idle = Connected(daemon_->http_address());  // and a keep-alive connection with no request
  ASSERT_TRUE(daemon_->SendSignal(SIGTERM));
  const std::optional<ExitStatus> status = daemon_->WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "mled did not stop with an event stream open";
  EXPECT_TRUE(status->ExitedWith(0)) << status->ToString() << "\n" << Tail(daemon_->StderrText());
  EXPECT_TRUE(events.WaitClosed());
  // Every connection closed at once: the stop did not wait out its grace period.
  EXPECT_FALSE(absl::StrContains(daemon_->StderrText(), "did not flush")) << daemon_->StderrText();
}

}  // namespace
}  // namespace mled::integration
