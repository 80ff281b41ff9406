// The state StatsD semantics need between lines: each gauge's last value (for signed deltas) and
// each counter's running sum (for per-interval rates). No I/O and no clock: the StatsD listener
// (daemon/statsd_listener) feeds it parsed lines and calls Flush on its timer.
//
//   StatsdAggregator aggregator(limits.max_streams, limits.ingest);
//   double value;
//   if (aggregator.Gauge("queue", 3, /*delta=*/true, &value) == StatsdOutcome::kApplied) ...
//   aggregator.Count("hits", 1, /*sample_rate=*/0.1);           // adds 1 / 0.1 = 10
//   aggregator.Flush(10.0, /*idle_counters=*/true,
//                    [](absl::string_view stream, double rate) { ... });  // "hits": 1.0 per s
//
// - A gauge line sets the gauge; a signed one ("+3", "-5") moves it from its last value, or from
//   0 for a gauge never seen (StatsD's rule). A result that is not finite is returned (ingest
//   rejects it) but not kept, so one overflow does not poison the gauge.
// - Counter increments are scaled by 1/sample_rate (the client sent one line in 1/rate) and
//   summed; Flush turns each sum into a rate, sum / interval, and starts the next interval at 0.
//   A counter seen before with no increment in the interval gets a 0 rate, as in StatsD.
// - The state is bounded: gauges plus counters hold at most `max_names` names (the listener
//   passes the engine's max_streams; each name is a stream). A new name beyond it, or a name the
//   engine would reject (lib/wire/validation.h), is refused and never stored. Names are kept for
//   the daemon's life, as StatsD keeps them.
//
// Not thread-safe: one aggregator per listener, used from its receive thread.
#ifndef MLED_LIB_ENGINE_STATSD_AGGREGATOR_H_
#define MLED_LIB_ENGINE_STATSD_AGGREGATOR_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "lib/wire/validation.h"

namespace mled::engine {

enum class StatsdOutcome {
  kApplied,
  // The name is not a valid stream name (INVALID_ARGUMENT on the wire).
  kInvalidName,
  // The name is new and `max_names` are held (RESOURCE_EXHAUSTED on the wire).
  kFull,
};

class StatsdAggregator {
 public:
  StatsdAggregator(uint64_t max_names, wire::IngestLimits limits);

  StatsdAggregator(const StatsdAggregator&) = delete;
  StatsdAggregator& operator=(const StatsdAggregator&) = delete;

  // Sets the gauge `stream` to `value`, or with `delta` adds `value` to its last value. On
  // kApplied `*new_value` is the gauge's value after the line: the sample to ingest.
  StatsdOutcome Gauge(absl::string_view stream, double value, bool delta, double* new_value);

  // Adds `value / sample_rate` (sample_rate in (0, 1]) to the counter `stream`.
  StatsdOutcome Count(absl::string_view stream, double value, double sample_rate);

  // Calls `on_rate(stream, sum / interval_seconds)` for each counter (interval_seconds > 0) and
  // zeroes the sums. With `idle_counters` false, counters with no increment since the last flush
  // are left out (the last, partial interval at shutdown). Order unspecified.
  void Flush(double interval_seconds, bool idle_counters,
             absl::FunctionRef<void(absl::string_view stream, double rate)> on_rate);

  uint64_t gauge_count() const { return gauges_.size(); }
  uint64_t counter_count() const { return counters_.size(); }

 private:
  struct CounterState {
    double sum = 0;
    bool incremented = false;  // since the last flush
  };

  // kApplied when a new name may be stored.
  StatsdOutcome Admit(absl::string_view stream) const;

  const uint64_t max_names_;
  const wire::IngestLimits limits_;
  absl::flat_hash_map<std::string, double> gauges_;
  absl::flat_hash_map<std::string, CounterState> counters_;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STATSD_AGGREGATOR_H_
