// The routes of the HTTP interface: one parsed request in, one complete response out (or the
// parameters of an event stream). No sockets: HttpSession reads and writes, HttpApi decides.
//
//   GET  /, /index.html, ...     the embedded dashboard (dashboard_assets.h)
//   GET  /metrics?match=GLOB     Prometheus text of the matching streams and daemon counters
//   GET  /v1/streams?match=GLOB  Estimates JSON (all streams without `match`)
//   GET  /v1/streams/{name}      Estimate JSON of one stream (percent-decoded, may contain '/')
//   POST /v1/ingest              Ingest as JSON or binary protobuf -> Ack in the same format
//   POST /v1/reset               Reset JSON -> Ack JSON
//   GET  /v1/stats               DaemonStats JSON
//   GET  /v1/events?streams=GLOB[,GLOB]&interval_ms=N&anomalies=1   Server-Sent Events
//
// JSON is protobuf's JSON mapping of the wire messages (proto field names, default values
// printed; 64-bit integers are strings), so the HTTP API has no schema of its own. Errors are
// the wire `Error` message as JSON ({"code":"INVALID_ARGUMENT","message":"..."}) with the HTTP
// status saying what the client can do:
//   400 INVALID_ARGUMENT  bad query parameters, names or globs, percent escapes
//   400 MALFORMED_FRAME   a body (or, from HttpSession, a request) that does not decode
//   404 INVALID_ARGUMENT  no such path or stream
//   405 INVALID_ARGUMENT  wrong method, with `Allow`
//   415 INVALID_ARGUMENT  a POST body type other than JSON or protobuf
// (HttpSession adds 413 FRAME_TOO_LARGE, 431 RESOURCE_EXHAUSTED; HttpServer 503.) A POST body
// is JSON when Content-Type is application/json or absent, binary protobuf when it is
// application/x-protobuf, application/protobuf, application/vnd.google.protobuf or
// application/octet-stream. Ingest and reset answer 200 with the Ack even when it rejects
// entries, as over TCP. GET routes also answer HEAD. Unknown query parameters are 400, so a
// typo ("stream=" for "streams=") is reported rather than silently ignored.
//
// Thread-safety: one HttpApi per connection, used on that connection's strand (it owns the
// connection's IngestApplier and reused messages). The context's parts are thread-safe.
#ifndef MLED_DAEMON_HTTP_API_H_
#define MLED_DAEMON_HTTP_API_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/status/statusor.h"
#include "daemon/http_server.h"
#include "google/protobuf/message.h"
#include "lib/engine/ingest_applier.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// What GET /v1/events asked for, validated.
struct EventStreamRequest {
  std::vector<std::string> patterns;  // names or globs; empty: every stream
  uint32_t interval_ms = 0;           // 0: the daemon's publish_interval
  bool anomalies = false;             // also send `event: anomaly`
};

// The answer to one request.
struct HttpAnswer {
  // Complete (status, headers, body and Content-Length) unless `events` is set.
  HttpResponse response;
  // Set when the request opens an event stream; `response` is then unused.
  std::optional<EventStreamRequest> events;
  // Why the request was refused, for the rate-limited client-error log; empty: nothing to log
  // (success, or a plain 404/405).
  std::string client_error;
};

// Limits of GET /v1/events?interval_ms= (0 is also accepted: the default interval).
inline constexpr uint32_t kMinEventIntervalMs = 10;
inline constexpr uint32_t kMaxEventIntervalMs = 3'600'000;

class HttpApi {
 public:
  // `context` must outlive the HttpApi.
  explicit HttpApi(const HttpContext& context);

  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Routes `request` and answers it. Never fails: every problem is an error response.
  HttpAnswer Handle(const HttpRequest& request);

  // A complete error response: `status`, the wire Error {code, message} as JSON.
  static HttpResponse ErrorResponse(boost::beast::http::status status, mled::v1::Code code,
                                    absl::string_view message, unsigned version);

  // The API's JSON of `message` (proto field names, defaults printed), without a newline.
  static std::string ToJson(const google::protobuf::Message& message);

 private:
  HttpAnswer Metrics(const HttpRequest& request, absl::string_view query);
  HttpAnswer Streams(const HttpRequest& request, absl::string_view query);
  HttpAnswer OneStream(const HttpRequest& request, absl::string_view raw_name);
  HttpAnswer Ingest(const HttpRequest& request);
  HttpAnswer Reset(const HttpRequest& request);
  HttpAnswer Stats(const HttpRequest& request);
  HttpAnswer Events(const HttpRequest& request, absl::string_view query);

  const HttpContext& context_;
  engine::IngestApplier applier_;
  mled::v1::Ingest ingest_;  // reused: keeps its memory between requests
  mled::v1::Ack ack_;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// INVALID_ARGUMENT on a '%' not followed by two hex digits.
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space);

// The name=value pairs of a query string ("a=1&b=x%20y"), decoded, in order; a pair without '='
// has an empty value. INVALID_ARGUMENT on a bad escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    absl::string_view query);

}  // namespace mled::daemon

#endif  // MLED_DAEMON_HTTP_API_H_
