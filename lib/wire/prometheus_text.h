// Renders the daemon's estimates and counters as a Prometheus text exposition (format 0.0.4),
// the page served at GET /metrics.
//
// Per stream (label `stream`, escaped per the format: backslash, double quote and newline):
//   mled_samples            gauge  the sample count, or the effective count under forgetting
//   mled_mean               gauge  D = 1; for D > 1 one series per component, label dim="0".."D-1"
//   mled_variance           gauge  D = 1; for D > 1 the diagonal of the covariance, label dim
//   mled_nll, mled_mean_nll gauge  absent while the model is degenerate
//   mled_anomalies_total    counter
//   mled_last_score         gauge  absent before any sample was scored
// and the daemon's own counters from DaemonStats (samples by transport, rejections by code,
// connections, subscribers, dropped updates, kernel UDP drops, StatsD lines, HTTP requests,
// publish tick time), each family with its # HELP and # TYPE lines, so that
// `promtool check metrics` reports nothing.
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
