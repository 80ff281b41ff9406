#include "daemon/http_api.h"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "daemon/dashboard_assets.h"
#include "google/protobuf/util/json_util.h"
#include "lib/engine/stream_matcher.h"
#include "lib/wire/prometheus_text.h"
#include "lib/wire/validation.h"

namespace mled::daemon {

namespace http = boost::beast::http;

namespace {

absl::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }
boost::beast::string_view BeastView(absl::string_view text) { return {text.data(), text.size()}; }

constexpr absl::string_view kJsonType = "application/json";
constexpr absl::string_view kProtobufType = "application/x-protobuf";
constexpr absl::string_view kStreamsPrefix = "/v1/streams/";

// The body formats of POST requests.
enum class BodyFormat { kJson, kProtobuf, kUnsupported };

// By Content-Type, parameters (";charset=...") ignored. No Content-Type is taken as JSON, the
// format people type by hand.
BodyFormat FormatOf(const HttpRequest& request) {
  const auto it = request.find(http::field::content_type);
  if (it == request.end()) return BodyFormat::kJson;
  std::string type(it->value().data(), it->value().size());
  type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type.substr(0, type.find(';'))));
  if (type == "application/json") return BodyFormat::kJson;
  if (type == "application/x-protobuf" || type == "application/protobuf" ||
      type == "application/octet-stream" || type == "application/vnd.google.protobuf") {
    return BodyFormat::kProtobuf;
  }
  return BodyFormat::kUnsupported;
}

HttpAnswer Answer(HttpResponse response) {
  HttpAnswer answer;
  answer.response = std::move(response);
  return answer;
}

HttpResponse MakeResponse(http::status status, absl::string_view content_type, std::string body,
                          unsigned version) {
  HttpResponse response(status, version);
  response.set(http::field::server, "mled");
  response.set(http::field::content_type, BeastView(content_type));
  response.body() = std::move(body);
  return response;
}

HttpAnswer Error(http::status status, mled::v1::Code code, std::string message,
                 const HttpRequest& request, bool log = true) {
  HttpAnswer answer = Answer(HttpApi::ErrorResponse(status, code, message, request.version()));
  if (log) answer.client_error = std::move(message);
  return answer;
}

HttpAnswer BadRequest(std::string message, const HttpRequest& request) {
  return Error(http::status::bad_request, mled::v1::INVALID_ARGUMENT, std::move(message), request);
}

HttpAnswer NotFound(std::string message, const HttpRequest& request) {
  // Not logged: a 404 is an ordinary answer (a stream that is gone), not a broken client.
  return Error(http::status::not_found, mled::v1::INVALID_ARGUMENT, std::move(message), request,
               /*log=*/false);
}

HttpAnswer MethodNotAllowed(absl::string_view allow, const HttpRequest& request) {
  HttpAnswer answer = Error(http::status::method_not_allowed, mled::v1::INVALID_ARGUMENT,
                            absl::StrCat("method ", View(request.method_string()),
                                         " is not allowed on ", View(request.target()),
                                         "; use ", allow),
                            request, /*log=*/false);
  answer.response.set(http::field::allow, BeastView(allow));
  return answer;
}

HttpAnswer Json(const google::protobuf::Message& message, const HttpRequest& request) {
  return Answer(MakeResponse(http::status::ok, kJsonType,
                             absl::StrCat(HttpApi::ToJson(message), "\n"), request.version()));
}

bool IsGetOrHead(const HttpRequest& request) {
  return request.method() == http::verb::get || request.method() == http::verb::head;
}

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Parses `query` and checks that every parameter is one of `known`.
absl::StatusOr<QueryParams> ParseParams(absl::string_view query,
                                        std::initializer_list<absl::string_view> known) {
  absl::StatusOr<QueryParams> params = ParseQueryString(query);
  if (!params.ok()) return params.status();
  for (const auto& [name, value] : *params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown query parameter \"", name, "\"; this path accepts ",
          known.size() == 0 ? std::string("none") : absl::StrJoin(known, ", ")));
    }
  }
  return params;
}

// The values of every `name=` parameter, each split at commas when `split_commas`, checked as
// stream names (a glob obeys the same rules as a name: 1..max_name_bytes of UTF-8, no control
// characters).
absl::StatusOr<std::vector<std::string>> Patterns(const QueryParams& params, absl::string_view name,
                                                  bool split_commas,
                                                  const wire::IngestLimits& limits) {
  std::vector<std::string> patterns;
  for (const auto& [key, value] : params) {
    if (key != name) continue;
    std::vector<std::string> parts;
    if (split_commas) {
      parts = absl::StrSplit(value, ',');
    } else {
      parts.push_back(value);
    }
    for (std::string& part : parts) {
      const absl::Status status = wire::ValidateStreamName(part, limits);
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter ", name, "=\"", part, "\" is not a valid name or glob: ",
                         absl::string_view(status.message())));
      }
      patterns.push_back(std::move(part));
    }
  }
  return patterns;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const bool complete = i + 2 < text.size();
      const int high = complete ? HexValue(text[i + 1]) : -1;
      const int low = complete ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad percent escape at byte ", i, " of \"", text, "\"; '%' must be followed by two "
            "hex digits (write %25 for a literal '%')"));
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t equals = pair.find('=');
    absl::StatusOr<std::string> name = PercentDecode(pair.substr(0, equals), true);
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value = PercentDecode(
        equals == absl::string_view::npos ? absl::string_view() : pair.substr(equals + 1), true);
    if (!value.ok()) return value.status();
    params.emplace_back(*std::move(name), *std::move(value));
  }
  return params;
}

HttpApi::HttpApi(const HttpContext& context) : context_(context), applier_(context.table) {}

std::string HttpApi::ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid message cannot fail (no Any fields to resolve); keep the contract anyway.
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::StrCat("{\"code\":\"INTERNAL\",\"message\":\"cannot print JSON: ",
                        absl::string_view(status.message().data(), status.message().size()),
                        "\"}");
  }
  return json;
}

HttpResponse HttpApi::ErrorResponse(http::status status, mled::v1::Code code,
                                    absl::string_view message, unsigned version) {
  mled::v1::Error error;
  error.set_code(code);
  error.set_message(std::string(message));
  HttpResponse response =
      MakeResponse(status, kJsonType, absl::StrCat(ToJson(error), "\n"), version);
  response.prepare_payload();
  return response;
}

HttpAnswer HttpApi::Handle(const HttpRequest& request) {
  const absl::string_view target(request.target().data(), request.target().size());
  const size_t question = target.find('?');
  const absl::string_view path = target.substr(0, question);
  const absl::string_view query =
      question == absl::string_view::npos ? absl::string_view() : target.substr(question + 1);

  HttpAnswer answer;
  constexpr absl::string_view kGet = "GET, HEAD";
  constexpr absl::string_view kPost = "POST";
  if (path == "/metrics") {
    answer = IsGetOrHead(request) ? Metrics(request, query) : MethodNotAllowed(kGet, request);
  } else if (path == "/v1/streams") {
    answer = IsGetOrHead(request) ? Streams(request, query) : MethodNotAllowed(kGet, request);
  } else if (path.substr(0, kStreamsPrefix.size()) == kStreamsPrefix) {
    if (!IsGetOrHead(request)) {
      answer = MethodNotAllowed(kGet, request);
    } else if (!query.empty()) {
      answer = BadRequest("GET /v1/streams/{name} takes no query parameters", request);
    } else {
      answer = OneStream(request, path.substr(kStreamsPrefix.size()));
    }
  } else if (path == "/v1/ingest") {
    answer = request.method() == http::verb::post ? Ingest(request)
                                                   : MethodNotAllowed(kPost, request);
  } else if (path == "/v1/reset") {
    answer = request.method() == http::verb::post ? Reset(request)
                                                   : MethodNotAllowed(kPost, request);
  } else if (path == "/v1/stats") {
    answer = IsGetOrHead(request) ? Stats(request) : MethodNotAllowed(kGet, request);
  } else if (path == "/v1/events") {
    answer = request.method() == http::verb::get ? Events(request, query)
                                                  : MethodNotAllowed("GET", request);
  } else if (const DashboardAsset* asset =
                 FindDashboardAsset(std::string_view(path.data(), path.size()));
             asset != nullptr) {
    if (IsGetOrHead(request)) {
      answer.response = MakeResponse(http::status::ok,
                                     absl::string_view(asset->content_type.data(),
                                                       asset->content_type.size()),
                                     std::string(asset->body), request.version());
      // The assets change with the binary; revalidate rather than run a stale dashboard.
      answer.response.set(http::field::cache_control, "no-cache");
    } else {
      answer = MethodNotAllowed(kGet, request);
    }
  } else {
    answer = NotFound(absl::StrCat("no such path: ", path,
                                   " (the API is under /v1/: streams, ingest, reset, stats, "
                                   "events; metrics at /metrics; the dashboard at /)"),
                      request);
  }
  if (answer.events.has_value()) return answer;
  answer.response.prepare_payload();
  if (request.method() == http::verb::head) {
    // Same headers as GET, Content-Length included, and no body.
    const size_t length = answer.response.body().size();
    answer.response.body().clear();
    answer.response.content_length(length);
  }
  return answer;
}

HttpAnswer HttpApi::Metrics(const HttpRequest& request, absl::string_view query) {
  absl::StatusOr<QueryParams> params = ParseParams(query, {"match"});
  if (!params.ok()) return BadRequest(std::string(params.status().message()), request);
  absl::StatusOr<std::vector<std::string>> patterns =
      Patterns(*params, "match", /*split_commas=*/false, context_.table->limits().ingest);
  if (!patterns.ok()) return BadRequest(std::string(patterns.status().message()), request);

  const engine::StreamMatcher matcher(*patterns);
  const size_t limit = context_.options.max_metrics_streams;
  google::protobuf::RepeatedPtrField<mled::v1::Estimate> found;
  const size_t matched = context_.table->Query(matcher, limit, &found);
  const uint64_t omitted = matched - static_cast<size_t>(found.size());
  std::vector<mled::v1::Estimate> estimates(found.size());
  for (int i = 0; i < found.size(); ++i) estimates[i].Swap(found.Mutable(i));

  mled::v1::DaemonStats stats;
  context_.handler->Stats(mled::v1::StatsRequest(), &stats);
  std::string body;
  wire::AppendPrometheusText(estimates, omitted, stats, &body);
  return Answer(MakeResponse(http::status::ok, wire::kPrometheusContentType, std::move(body),
                             request.version()));
}

HttpAnswer HttpApi::Streams(const HttpRequest& request, absl::string_view query) {
  absl::StatusOr<QueryParams> params = ParseParams(query, {"match"});
  if (!params.ok()) return BadRequest(std::string(params.status().message()), request);
  absl::StatusOr<std::vector<std::string>> patterns =
      Patterns(*params, "match", /*split_commas=*/false, context_.table->limits().ingest);
  if (!patterns.ok()) return BadRequest(std::string(patterns.status().message()), request);
  mled::v1::Query request_query;
  for (std::string& pattern : *patterns) request_query.add_streams(std::move(pattern));
  mled::v1::Estimates estimates;
  context_.handler->Query(request_query, &estimates);
  return Json(estimates, request);
}

HttpAnswer HttpApi::OneStream(const HttpRequest& request, absl::string_view raw_name) {
  absl::StatusOr<std::string> name = PercentDecode(raw_name, /*plus_is_space=*/false);
  if (!name.ok()) return BadRequest(std::string(name.status().message()), request);
  const absl::Status valid = wire::ValidateStreamName(*name, context_.table->limits().ingest);
  if (!valid.ok()) return BadRequest(std::string(valid.message()), request);
  context_.counters->queries.fetch_add(1, std::memory_order_relaxed);
  mled::v1::Estimate estimate;
  if (!context_.table->GetEstimate(*name, &estimate)) {
    return NotFound(absl::StrCat("no stream named \"", *name, "\""), request);
  }
  return Json(estimate, request);
}

HttpAnswer HttpApi::Ingest(const HttpRequest& request) {
  const BodyFormat format = FormatOf(request);
  if (format == BodyFormat::kUnsupported) {
    return Error(http::status::unsupported_media_type, mled::v1::INVALID_ARGUMENT,
                 absl::StrCat("Content-Type \"",
                              View(request[http::field::content_type]),
                              "\" is not supported; send a mled.v1.Ingest as application/json "
                              "or as binary protobuf (application/x-protobuf)"),
                 request);
  }
  const std::string& body = request.body();
  context_.counters->bytes_received.fetch_add(body.size(), std::memory_order_relaxed);
  if (format == BodyFormat::kJson) {
    ingest_.Clear();
    const auto status = google::protobuf::util::JsonStringToMessage(body, &ingest_);
    if (!status.ok()) {
      return Error(http::status::bad_request, mled::v1::MALFORMED_FRAME,
                   absl::StrCat("body is not a mled.v1.Ingest in JSON: ",
                                absl::string_view(status.message().data(), status.message().size())),
                   request);
    }
  } else if (!ingest_.ParseFromString(body)) {
    return Error(http::status::bad_request, mled::v1::MALFORMED_FRAME,
                 absl::StrCat("body of ", body.size(),
                              " bytes is not a binary mled.v1.Ingest (bad field, truncated, or a "
                              "string that is not UTF-8)"),
                 request);
  }
  context_.handler->Ingest(applier_, ingest_, Transport::kHttp, &ack_);
  if (format == BodyFormat::kJson) return Json(ack_, request);
  return Answer(
      MakeResponse(http::status::ok, kProtobufType, ack_.SerializeAsString(), request.version()));
}

HttpAnswer HttpApi::Reset(const HttpRequest& request) {
  if (FormatOf(request) != BodyFormat::kJson) {
    return Error(http::status::unsupported_media_type, mled::v1::INVALID_ARGUMENT,
                 "POST /v1/reset takes a mled.v1.Reset as application/json, e.g. "
                 "{\"streams\": [\"sensor/*\"]}",
                 request);
  }
  mled::v1::Reset reset;
  const auto status = google::protobuf::util::JsonStringToMessage(request.body(), &reset);
  if (!status.ok()) {
    return Error(http::status::bad_request, mled::v1::MALFORMED_FRAME,
                 absl::StrCat("body is not a mled.v1.Reset in JSON: ",
                              absl::string_view(status.message().data(), status.message().size())),
                 request);
  }
  mled::v1::Ack ack;
  context_.handler->Reset(reset, &ack);
  return Json(ack, request);
}

HttpAnswer HttpApi::Stats(const HttpRequest& request) {
  if (request.target() != "/v1/stats") {
    return BadRequest("GET /v1/stats takes no query parameters", request);
  }
  mled::v1::DaemonStats stats;
  context_.handler->Stats(mled::v1::StatsRequest(), &stats);
  return Json(stats, request);
}

HttpAnswer HttpApi::Events(const HttpRequest& request, absl::string_view query) {
  absl::StatusOr<QueryParams> params = ParseParams(query, {"streams", "interval_ms", "anomalies"});
  if (!params.ok()) return BadRequest(std::string(params.status().message()), request);
  absl::StatusOr<std::vector<std::string>> patterns =
      Patterns(*params, "streams", /*split_commas=*/true, context_.table->limits().ingest);
  if (!patterns.ok()) return BadRequest(std::string(patterns.status().message()), request);
  EventStreamRequest events{.patterns = *std::move(patterns)};
  for (const auto& [name, value] : *params) {
    if (name == "interval_ms") {
      if (!absl::SimpleAtoi(value, &events.interval_ms) ||
          (events.interval_ms != 0 && (events.interval_ms < kMinEventIntervalMs ||
                                       events.interval_ms > kMaxEventIntervalMs))) {
        return BadRequest(absl::StrCat("interval_ms=\"", value, "\" must be 0 (the daemon's "
                                       "publish_interval) or between ",
                                       kMinEventIntervalMs, " and ", kMaxEventIntervalMs),
                          request);
      }
    } else if (name == "anomalies") {
      if (value == "1" || value == "true") {
        events.anomalies = true;
      } else if (value == "0" || value == "false") {
        events.anomalies = false;
      } else {
        return BadRequest(
            absl::StrCat("anomalies=\"", value, "\" must be 1, 0, true or false"), request);
      }
    }
  }
  HttpAnswer answer;
  answer.events = std::move(events);
  return answer;
}

}  // namespace mled::daemon
