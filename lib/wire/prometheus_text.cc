#include "lib/wire/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

namespace mled::wire {
namespace {

using mled::v1::DaemonStats;
using mled::v1::Estimate;

// One family's preamble. `help` is a literal of ours, so it needs no escaping.
void AppendHeader(std::string_view name, std::string_view type, std::string_view help,
                  std::string* out) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendUint(uint64_t value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

// Shortest representation that parses back to the same double (std::to_chars without a precision),
// in the spellings Go's strconv.ParseFloat and the text format accept.
void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one (overlong forms,
// surrogates and code points past U+10FFFF included).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;
    if (lead == 0xED) max_second = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;
    if (lead == 0xF4) max_second = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// Appends `value` escaped as a label value: backslash, double quote and line feed take a backslash
// escape. The daemon only admits valid UTF-8 names, but a page promtool or Prometheus would reject
// (it refuses invalid UTF-8 in label values) must never be served, so stray bytes become U+FFFD
// rather than trusting the caller.
void AppendLabelValue(std::string_view value, std::string* out) {
  // Fast path: almost every name is plain ASCII without the three specials. The scan has no early
  // exit so that GCC vectorizes it (std::none_of took a fifth of the page's time).
  unsigned special = 0;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    special |= static_cast<unsigned>(byte == '\\') | static_cast<unsigned>(byte == '"') |
               static_cast<unsigned>(byte == '\n') | (byte >> 7);
  }
  if (special == 0) {
    out->append(value);
    return;
  }
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out->push_back(c);
    } else {
      const size_t length = Utf8SequenceLength(value, i);
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++i;
        continue;
      }
      out->append(value.substr(i, length));
      i += length;
      continue;
    }
    ++i;
  }
}

// `name{label="value"} ` for a daemon counter with one label.
void AppendLabeledSample(std::string_view name, std::string_view label, std::string_view value,
                         uint64_t sample, std::string* out) {
  out->append(name).append("{").append(label).append("=\"");
  AppendLabelValue(value, out);
  out->append("\"} ");
  AppendUint(sample, out);
  out->push_back('\n');
}

void AppendUintFamily(std::string_view name, std::string_view type, std::string_view help,
                      uint64_t value, std::string* out) {
  AppendHeader(name, type, help, out);
  out->append(name).push_back(' ');
  AppendUint(value, out);
  out->push_back('\n');
}

// `name{stream="..."` (the caller closes the label set).
void AppendStreamSeriesStart(std::string_view name, const Estimate& estimate, std::string* out) {
  out->append(name).append("{stream=\"");
  AppendLabelValue(estimate.stream(), out);
  out->push_back('"');
}

void AppendStreamDouble(std::string_view name, const Estimate& estimate, double value,
                        std::string* out) {
  AppendStreamSeriesStart(name, estimate, out);
  out->append("} ");
  AppendDouble(value, out);
  out->push_back('\n');
}

// The number of components rendered for an estimate: the length of `mean` (which is D), at least 1
// for the size estimate.
size_t DimOf(const Estimate& estimate) {
  return static_cast<size_t>(std::max<int>(estimate.mean_size(), 1));
}

// One series per component: no `dim` label for D = 1, so that univariate streams, the common case,
// read as plain `mled_mean{stream="x"}`. For the variance, component k is the covariance diagonal
// entry k*(D+1) of the row-major D×D matrix.
void AppendVectorFamily(std::string_view name, absl::Span<const Estimate> estimates, bool variance,
                        std::string* out) {
  for (const Estimate& estimate : estimates) {
    const size_t dim = static_cast<size_t>(estimate.mean_size());
    if (dim == 0) continue;  // no samples yet: nothing to say
    const size_t stride = variance ? dim + 1 : 1;
    const auto& values = variance ? estimate.covariance() : estimate.mean();
    if (dim == 1) {
      if (values.empty()) continue;
      AppendStreamDouble(name, estimate, values[0], out);
      continue;
    }
    for (size_t k = 0; k < dim; ++k) {
      const size_t index = k * stride;
      if (index >= static_cast<size_t>(values.size())) break;
      AppendStreamSeriesStart(name, estimate, out);
      out->append(",dim=\"");
      AppendUint(k, out);
      out->append("\"} ");
      AppendDouble(values[static_cast<int>(index)], out);
      out->push_back('\n');
    }
  }
}

// Every family's header is written even when no stream has a series in it, so that the page names
// the same families whatever the streams' state (promtool and Prometheus accept a family without
// samples).
void AppendStreams(absl::Span<const Estimate> estimates, std::string* out) {
  AppendHeader("mled_samples", "gauge",
               "Samples the stream's model stands on: the count for cumulative "
               "and window "
               "estimators, Kish's effective count for exponential ones.",
               out);
  for (const Estimate& estimate : estimates) {
    AppendStreamSeriesStart("mled_samples", estimate, out);
    out->append("} ");
    if (estimate.estimator() == mled::v1::ESTIMATOR_EXPONENTIAL) {
      AppendDouble(estimate.effective_count(), out);
    } else {
      AppendUint(estimate.count(), out);
    }
    out->push_back('\n');
  }

  AppendHeader("mled_mean", "gauge",
               "MLE of the stream's mean; one series per component (label dim) "
               "when D > 1.",
               out);
  AppendVectorFamily("mled_mean", estimates, /*variance=*/false, out);

  AppendHeader("mled_variance", "gauge",
               "MLE of the stream's variance (divisor N); the covariance "
               "diagonal, one series per "
               "component (label dim), when D > 1.",
               out);
  AppendVectorFamily("mled_variance", estimates, /*variance=*/true, out);

  AppendHeader("mled_nll", "gauge",
               "Negative log-likelihood of the stream's samples at the MLE, in "
               "nats; absent "
               "while the model is degenerate.",
               out);
  for (const Estimate& estimate : estimates) {
    if (estimate.has_nll()) AppendStreamDouble("mled_nll", estimate, estimate.nll(), out);
  }

  AppendHeader("mled_mean_nll", "gauge",
               "Negative log-likelihood per sample at the MLE, in nats; absent "
               "while the model "
               "is degenerate.",
               out);
  for (const Estimate& estimate : estimates) {
    if (estimate.has_mean_nll()) {
      AppendStreamDouble("mled_mean_nll", estimate, estimate.mean_nll(), out);
    }
  }

  AppendHeader("mled_anomalies_total", "counter",
               "Samples of the stream flagged as anomalies since it began or was reset.", out);
  for (const Estimate& estimate : estimates) {
    AppendStreamSeriesStart("mled_anomalies_total", estimate, out);
    out->append("} ");
    AppendUint(estimate.anomalies(), out);
    out->push_back('\n');
  }

  AppendHeader("mled_last_score", "gauge",
               "Anomaly score (negative log-likelihood, nats) of the stream's "
               "latest scored "
               "sample; absent before any.",
               out);
  for (const Estimate& estimate : estimates) {
    if (estimate.has_last_score()) {
      AppendStreamDouble("mled_last_score", estimate, estimate.last_score(), out);
    }
  }
}

void AppendRejections(const DaemonStats& stats, std::string* out) {
  static constexpr char kName[] = "mled_samples_rejected_total";
  AppendHeader(kName, "counter", "Samples rejected, by wire error code.", out);
  // Every code is present from the start, at 0, so that rate() sees the first rejection.
  const auto& by_code = stats.samples_rejected_by_code();
  for (int code = mled::v1::Code_MIN; code <= mled::v1::Code_MAX; ++code) {
    if (!mled::v1::Code_IsValid(code) || code == mled::v1::CODE_UNSPECIFIED) continue;
    const std::string& code_name = mled::v1::Code_Name(static_cast<mled::v1::Code>(code));
    const auto it = by_code.find(code_name);
    AppendLabeledSample(kName, "code", code_name, it == by_code.end() ? 0 : it->second, out);
  }
  // Keys this build does not know (a newer daemon, or CODE_UNSPECIFIED), sorted so the page is
  // deterministic whatever the map's order.
  std::vector<std::pair<std::string_view, uint64_t>> others;
  for (const auto& [key, value] : by_code) {
    mled::v1::Code parsed;
    if (!mled::v1::Code_Parse(key, &parsed) || parsed == mled::v1::CODE_UNSPECIFIED) {
      others.emplace_back(key, value);
    }
  }
  std::sort(others.begin(), others.end());
  for (const auto& [key, value] : others) AppendLabeledSample(kName, "code", key, value, out);
}

void AppendDaemon(const DaemonStats& stats, uint64_t streams_omitted, std::string* out) {
  AppendHeader("mled_uptime_seconds", "gauge", "Seconds since the daemon started.", out);
  out->append("mled_uptime_seconds ");
  AppendDouble(static_cast<double>(stats.uptime_ns()) / 1e9, out);
  out->push_back('\n');

  AppendUintFamily("mled_streams", "gauge", "Streams in the stream table.", stats.streams(), out);
  AppendUintFamily("mled_metrics_streams_omitted", "gauge",
                   "Matching streams this page left out for its cap (max_metrics_streams).",
                   streams_omitted, out);

  static constexpr char kAccepted[] = "mled_samples_accepted_total";
  AppendHeader(kAccepted, "counter", "Samples accepted, by the transport that carried them.", out);
  AppendLabeledSample(kAccepted, "transport", "tcp", stats.samples_accepted_tcp(), out);
  AppendLabeledSample(kAccepted, "transport", "udp", stats.samples_accepted_udp(), out);
  AppendLabeledSample(kAccepted, "transport", "http", stats.samples_accepted_http(), out);
  AppendLabeledSample(kAccepted, "transport", "statsd", stats.samples_accepted_statsd(), out);

  AppendRejections(stats, out);

  AppendUintFamily("mled_anomalies_flagged_total", "counter",
                   "Samples flagged as anomalies across all streams since the "
                   "daemon started "
                   "(stream resets do not lower it).",
                   stats.anomalies(), out);
  AppendUintFamily("mled_anomaly_events_sent_total", "counter",
                   "Anomaly events sent to subscribers.", stats.anomaly_events_sent(), out);
  AppendUintFamily("mled_streams_reset_total", "counter", "Streams cleared by reset requests.",
                   stats.streams_reset(), out);

  AppendUintFamily("mled_frames_received_total", "counter", "TCP frames received.",
                   stats.frames_received(), out);
  AppendUintFamily("mled_frames_malformed_total", "counter",
                   "TCP frames that did not decode (answered with an Error).",
                   stats.frames_malformed(), out);
  AppendUintFamily("mled_frames_too_large_total", "counter",
                   "TCP frames over max_frame_bytes or with a corrupt length "
                   "(the connection "
                   "was closed).",
                   stats.frames_too_large(), out);
  AppendUintFamily("mled_received_bytes_total", "counter", "Bytes received over TCP.",
                   stats.bytes_received(), out);

  static constexpr char kDatagrams[] = "mled_udp_datagrams_total";
  AppendHeader(kDatagrams, "counter", "UDP datagrams received, by socket.", out);
  AppendLabeledSample(kDatagrams, "socket", "udp", stats.udp_datagrams(), out);
  AppendLabeledSample(kDatagrams, "socket", "statsd", stats.statsd_datagrams(), out);
  AppendUintFamily("mled_udp_datagrams_malformed_total", "counter",
                   "Datagrams on the protobuf UDP socket that did not decode (dropped).",
                   stats.udp_datagrams_malformed(), out);
  static constexpr char kDrops[] = "mled_udp_receive_drops_total";
  AppendHeader(kDrops, "counter",
               "Datagrams the kernel dropped because the socket's receive "
               "buffer was full, by "
               "socket.",
               out);
  AppendLabeledSample(kDrops, "socket", "udp", stats.udp_receive_drops(), out);
  AppendLabeledSample(kDrops, "socket", "statsd", stats.statsd_receive_drops(), out);

  AppendUintFamily("mled_statsd_lines_total", "counter", "StatsD lines received.",
                   stats.statsd_lines(), out);
  AppendUintFamily("mled_statsd_lines_malformed_total", "counter",
                   "StatsD lines that did not parse (skipped).", stats.statsd_lines_malformed(),
                   out);
  AppendUintFamily("mled_statsd_set_lines_total", "counter",
                   "StatsD set lines (|s), counted and skipped.", stats.statsd_sets(), out);

  AppendUintFamily("mled_connections_opened_total", "counter", "TCP connections accepted.",
                   stats.connections_opened(), out);
  AppendUintFamily("mled_connections_rejected_total", "counter",
                   "TCP connections refused at max_connections.", stats.connections_rejected(),
                   out);
  AppendUintFamily("mled_connections", "gauge", "TCP connections open.",
                   stats.connections_current(), out);
  AppendUintFamily("mled_subscribers", "gauge", "Subscriptions open over TCP.",
                   stats.subscribers_current(), out);
  AppendUintFamily("mled_queries_total", "counter", "Queries answered.", stats.queries(), out);
  AppendUintFamily("mled_updates_sent_total", "counter", "Estimate updates sent to subscribers.",
                   stats.updates_sent(), out);
  AppendUintFamily("mled_updates_coalesced_total", "counter",
                   "Estimate updates replaced by a newer one before a slow "
                   "subscriber took them.",
                   stats.updates_coalesced(), out);
  AppendUintFamily("mled_slow_clients_disconnected_total", "counter",
                   "Clients disconnected for falling more than "
                   "max_session_write_bytes behind.",
                   stats.slow_clients_disconnected(), out);

  AppendUintFamily("mled_http_requests_total", "counter", "HTTP requests answered.",
                   stats.http_requests(), out);
  AppendUintFamily("mled_http_errors_total", "counter",
                   "HTTP requests answered with a 4xx or 5xx status.", stats.http_errors(), out);
  AppendUintFamily("mled_http_connections", "gauge", "HTTP connections open.",
                   stats.http_connections_current(), out);
  AppendUintFamily("mled_sse_clients", "gauge", "HTTP event-stream (SSE) clients connected.",
                   stats.sse_clients_current(), out);

  AppendUintFamily("mled_publish_ticks_total", "counter", "Publish ticks run.",
                   stats.publish_ticks(), out);
  AppendHeader("mled_publish_tick_seconds_total", "counter",
               "Time spent in publish ticks, summed; divide its rate by that of "
               "mled_publish_ticks_total for the mean tick time.",
               out);
  out->append("mled_publish_tick_seconds_total ");
  AppendDouble(static_cast<double>(stats.publish_tick_nanos()) / 1e9, out);
  out->push_back('\n');

  AppendUintFamily("mled_config_reloads_total", "counter", "Config reloads (SIGHUP) applied.",
                   stats.config_reloads(), out);
  AppendUintFamily("mled_config_reloads_failed_total", "counter",
                   "Config reloads refused (the old config stays).", stats.config_reloads_failed(),
                   out);
}

// An upper estimate of the page's size, so that one reserve() covers it: per series the longest
// family name, the escaped name (escaping at most doubles it), labels and a number.
size_t EstimatedSize(absl::Span<const Estimate> estimates) {
  constexpr size_t kDaemonBytes = 8192;
  constexpr size_t kSeriesOverhead = 64;
  size_t total = kDaemonBytes;
  for (const Estimate& estimate : estimates) {
    const size_t series = 5 + 2 * DimOf(estimate);
    total += series * (kSeriesOverhead + estimate.stream().size());
  }
  return total;
}

}  // namespace

void AppendPrometheusText(absl::Span<const Estimate> estimates, uint64_t streams_omitted,
                          const DaemonStats& stats, std::string* out) {
  out->reserve(out->size() + EstimatedSize(estimates));
  AppendDaemon(stats, streams_omitted, out);
  AppendStreams(estimates, out);
}

}  // namespace mled::wire
