// Renders the daemon's estimates and counters as a Prometheus text exposition (format 0.0.4),
// the page served at GET /metrics.
//
// Per stream (label `stream`, escaped per the format: backslash, double quote and newline; bytes
// that are not valid UTF-8 become U+FFFD so that the page always parses):
//   mled_samples            gauge    the sample count; Kish's effective count when the
//                                    estimator is exponential
//   mled_mean               gauge    D = 1: no dim label; D > 1: one series per component,
//                                    label dim="0".."D-1"
//   mled_variance           gauge    the MLE variance; D > 1: the covariance diagonal, label dim
//   mled_nll, mled_mean_nll gauge    nats; absent while the model is degenerate
//   mled_anomalies_total    counter
//   mled_last_score         gauge    nats; absent before any sample was scored
// A stream with no mean (reset to nothing) has only mled_samples and mled_anomalies_total.
// Every per-stream family's # HELP and # TYPE lines are written even when no stream has a
// sample in it, so the page always names the same families.
//
// Daemon families from DaemonStats (nanosecond fields are exported in seconds):
//   gauges: mled_uptime_seconds, mled_streams, mled_metrics_streams_omitted, mled_connections,
//     mled_subscribers, mled_http_connections, mled_sse_clients
//   labelled counters: mled_samples_accepted_total{transport="tcp|udp|http|statsd"},
//     mled_samples_rejected_total{code="<mled.v1.Code name>"} (every code but
//     CODE_UNSPECIFIED, at 0 too, then map keys this build does not know, sorted),
//     mled_udp_datagrams_total{socket="udp|statsd"},
//     mled_udp_receive_drops_total{socket="udp|statsd"}
//   counters: frames, bytes, connections, queries, updates, slow clients, anomalies
//     (daemon-wide: mled_anomalies_flagged_total), resets, StatsD lines, HTTP requests and
//     errors, publish ticks and their time (mled_publish_tick_seconds_total), config reloads.
// The totals `samples_accepted` and `samples_rejected` are not exported: they are the sums of
// the labelled series. Families are grouped (each family's samples together, after its # HELP
// and # TYPE); numbers print as the shortest text that parses back to the same double (+Inf,
// -Inf and NaN spelt as the format wants); `promtool check metrics` reports nothing.
//
// Cost: one pass per family over `estimates`, appending into `out` after one reserve() of an
// upper bound of the page size; no other allocation but a small vector when the rejection map
// holds codes this build does not know (bench/metrics_bench.cc).
//
// Pure function of its inputs: no I/O, no clock. Thread-compatible.
#ifndef MLED_LIB_WIRE_PROMETHEUS_TEXT_H_
#define MLED_LIB_WIRE_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {

// The Content-Type of the page.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Appends the exposition of `estimates` (in the order given; callers pass them sorted by name)
// and `stats` to `out`. `streams_omitted` is how many matching streams the page left out for
// its cap; it is exported as mled_metrics_streams_omitted so a cut page says so.
void AppendPrometheusText(absl::Span<const mled::v1::Estimate> estimates, uint64_t streams_omitted,
                          const mled::v1::DaemonStats& stats, std::string* out);

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_PROMETHEUS_TEXT_H_
