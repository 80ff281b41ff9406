#include "lib/engine/statsd_aggregator.h"

#include <cmath>
#include <string_view>

namespace mled::engine {

StatsdAggregator::StatsdAggregator(uint64_t max_names, wire::IngestLimits limits)
    : max_names_(max_names), limits_(limits) {}

StatsdOutcome StatsdAggregator::Admit(absl::string_view stream) const {
  if (!wire::ValidateStreamName(std::string_view(stream.data(), stream.size()), limits_).ok()) {
    return StatsdOutcome::kInvalidName;
  }
  if (gauges_.size() + counters_.size() >= max_names_) return StatsdOutcome::kFull;
  return StatsdOutcome::kApplied;
}

StatsdOutcome StatsdAggregator::Gauge(absl::string_view stream, double value, bool delta,
                                      double* new_value) {
  // One lookup for a known gauge, the hot case; a new name is checked before it is stored.
  auto it = gauges_.find(stream);
  if (it == gauges_.end()) {
    if (const StatsdOutcome admit = Admit(stream); admit != StatsdOutcome::kApplied) return admit;
    it = gauges_.emplace(stream, 0.0).first;
  }
  const double next = delta ? it->second + value : value;
  if (std::isfinite(next)) it->second = next;
  *new_value = next;
  return StatsdOutcome::kApplied;
}

StatsdOutcome StatsdAggregator::Count(absl::string_view stream, double value, double sample_rate) {
  auto it = counters_.find(stream);
  if (it == counters_.end()) {
    if (const StatsdOutcome admit = Admit(stream); admit != StatsdOutcome::kApplied) return admit;
    it = counters_.emplace(stream, CounterState{}).first;
  }
  it->second.sum += value / sample_rate;
  it->second.incremented = true;
  return StatsdOutcome::kApplied;
}

void StatsdAggregator::Flush(double interval_seconds, bool idle_counters,
                             absl::FunctionRef<void(absl::string_view, double)> on_rate) {
  for (auto& [stream, state] : counters_) {
    if (idle_counters || state.incremented) on_rate(stream, state.sum / interval_seconds);
    state = CounterState{};
  }
}

}  // namespace mled::engine
