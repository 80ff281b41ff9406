// Helpers for the engine_anomaly_test binary: stream rules from config text, Ingest builders,
// and an independent long double reference for (weighted) means and covariances.
//
// The clock is injected everywhere: samples carry explicit time_unix_nano and the receipt time
// is an argument of IngestApplier::Apply; nothing here reads the wall clock. Test-only.
#ifndef MLED_TESTS_ENGINE_ANOMALY_TEST_UTIL_H_
#define MLED_TESTS_ENGINE_ANOMALY_TEST_UTIL_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_rules.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/config.pb.h"
#include "mled/v1/wire.pb.h"

namespace mled::engine::anomaly_test {

inline constexpr int64_t kMillisecond = 1'000'000;
inline constexpr int64_t kSecond = 1'000'000'000;
// An arbitrary but realistic epoch for sample times (2023-11-14), so bucket alignment and decay
// are exercised on real-sized Unix nanoseconds.
inline constexpr int64_t kEpoch = 1'700'000'000 * kSecond;

// Engine limits for tests that drive sample time on their own, ahead of a fixed receipt time:
// no limit on how far ahead of the receipt time a sample's time may be.
inline EngineLimits FreeSampleTimeLimits() {
  EngineLimits limits;
  limits.ingest.max_time_ahead_ns = std::numeric_limits<int64_t>::max();
  return limits;
}

// The rules of a `mled.v1.Config` in text format (its `rules` and `default_rule`); fails the
// test on a parse or validation error.
inline std::shared_ptr<const StreamRules> RulesFromText(const std::string& config_text) {
  mled::v1::Config config;
  if (!google::protobuf::TextFormat::ParseFromString(config_text, &config)) {
    ADD_FAILURE() << "config text does not parse:\n" << config_text;
    return std::make_shared<const StreamRules>();
  }
  absl::StatusOr<std::shared_ptr<const StreamRules>> rules =
      StreamRules::FromConfig(config.rules(), config.default_rule(), RuleLimits());
  if (!rules.ok()) {
    ADD_FAILURE() << rules.status();
    return std::make_shared<const StreamRules>();
  }
  return *rules;
}

inline void AddSample(mled::v1::Ingest* ingest, absl::string_view stream,
                      absl::Span<const double> x, int64_t time) {
  mled::v1::Sample* sample = ingest->add_samples();
  sample->set_stream(std::string(stream));
  sample->mutable_x()->Add(x.begin(), x.end());
  sample->set_time_unix_nano(time);
}

// Rows [first, first + count) of `values` (dim values per row) as one StreamBatch; times from
// `times` (same rows), or none when `times` is empty.
inline void AddBatch(mled::v1::Ingest* ingest, absl::string_view stream, uint32_t dim,
                     absl::Span<const double> values, absl::Span<const int64_t> times,
                     size_t first, size_t count) {
  mled::v1::StreamBatch* batch = ingest->add_batches();
  batch->set_stream(std::string(stream));
  batch->set_dim(dim);
  const absl::Span<const double> rows = values.subspan(first * dim, count * dim);
  batch->mutable_values()->Add(rows.begin(), rows.end());
  if (!times.empty()) {
    const absl::Span<const int64_t> row_times = times.subspan(first, count);
    batch->mutable_time_unix_nano()->Add(row_times.begin(), row_times.end());
  }
}

inline mled::v1::Estimate EstimateOf(const StreamTable& table, absl::string_view stream) {
  mled::v1::Estimate estimate;
  EXPECT_TRUE(table.GetEstimate(stream, &estimate)) << "no stream " << stream;
  return estimate;
}

// Times kEpoch + i * step for i in [0, n).
inline std::vector<int64_t> EvenTimes(size_t n, int64_t step, int64_t start = kEpoch) {
  std::vector<int64_t> times(n);
  for (size_t i = 0; i < n; ++i) times[i] = start + static_cast<int64_t>(i) * step;
  return times;
}

// n samples of N(mean, stddev²), deterministic per seed.
inline std::vector<double> NormalSamples(uint64_t seed, size_t n, double mean, double stddev) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(n);
  for (double& x : xs) x = mean + stddev * normal(rng);
  return xs;
}

// Weighted moments computed independently of lib/stats: textbook two-pass in long double.
struct Reference {
  size_t count = 0;
  long double weight_sum = 0;         // W = sum w
  long double weight_square_sum = 0;  // W2 = sum w^2
  std::vector<long double> mean;      // D
  std::vector<long double> covariance;  // D×D row-major MLE: sum w (x-m)(x-m)^T / W

  long double effective_count() const {
    return weight_square_sum > 0 ? weight_sum * weight_sum / weight_square_sum : 0;
  }
};

// Two-pass (weighted) mean and MLE covariance of the rows of `rows` (dim values each) selected
// by `include` (empty: all), with weights `weights` (empty: all 1).
inline Reference TwoPassReference(absl::Span<const double> rows, int dim,
                                  const std::vector<bool>& include = {},
                                  const std::vector<long double>& weights = {}) {
  const size_t d = static_cast<size_t>(dim);
  const size_t n = rows.size() / d;
  Reference r;
  r.mean.assign(d, 0);
  r.covariance.assign(d * d, 0);
  auto used = [&](size_t i) { return include.empty() || include[i]; };
  auto weight = [&](size_t i) { return weights.empty() ? 1.0L : weights[i]; };
  for (size_t i = 0; i < n; ++i) {
    if (!used(i)) continue;
    ++r.count;
    r.weight_sum += weight(i);
    r.weight_square_sum += weight(i) * weight(i);
    for (size_t k = 0; k < d; ++k) r.mean[k] += weight(i) * rows[i * d + k];
  }
  if (r.weight_sum == 0) return r;
  for (long double& m : r.mean) m /= r.weight_sum;
  for (size_t i = 0; i < n; ++i) {
    if (!used(i)) continue;
    for (size_t a = 0; a < d; ++a) {
      for (size_t b = 0; b < d; ++b) {
        r.covariance[a * d + b] += weight(i) * (rows[i * d + a] - r.mean[a]) *
                                   (rows[i * d + b] - r.mean[b]);
      }
    }
  }
  for (long double& c : r.covariance) c /= r.weight_sum;
  return r;
}

// Expects the published mean and covariance to match `reference` within `relative` of the
// data's scale (|mean| + sd for means, sd_a sd_b for covariances).
inline void ExpectMomentsNear(const mled::v1::Estimate& estimate, const Reference& reference,
                              double relative) {
  const size_t d = reference.mean.size();
  ASSERT_EQ(static_cast<size_t>(estimate.mean_size()), d);
  ASSERT_EQ(static_cast<size_t>(estimate.covariance_size()), d * d);
  for (size_t a = 0; a < d; ++a) {
    const long double sd_a = std::sqrt(reference.covariance[a * d + a]);
    EXPECT_NEAR(estimate.mean(static_cast<int>(a)), static_cast<double>(reference.mean[a]),
                relative * static_cast<double>(std::fabs(reference.mean[a]) + sd_a))
        << estimate.stream() << " mean[" << a << "]";
    for (size_t b = 0; b < d; ++b) {
      const long double sd_b = std::sqrt(reference.covariance[b * d + b]);
      EXPECT_NEAR(estimate.covariance(static_cast<int>(a * d + b)),
                  static_cast<double>(reference.covariance[a * d + b]),
                  relative * static_cast<double>(sd_a * sd_b))
          << estimate.stream() << " covariance[" << a << "][" << b << "]";
    }
  }
}

// The sample indices that the Anomaly events of `events` report, for samples at times
// `start + index * step`.
inline std::vector<size_t> EventIndices(const std::vector<mled::v1::Anomaly>& events,
                                        absl::string_view stream, int64_t start, int64_t step) {
  std::vector<size_t> indices;
  for (const mled::v1::Anomaly& event : events) {
    if (event.stream() != stream) continue;
    indices.push_back(static_cast<size_t>((event.time_unix_nano() - start) / step));
  }
  return indices;
}

// -log N(x; mean, variance) for D = 1: 0.5 (log 2 pi + log variance + d2).
inline double PlugInNll1(double variance, double mahalanobis2) {
  return 0.5 * (std::log(2 * std::numbers::pi) + std::log(variance) + mahalanobis2);
}

}  // namespace mled::engine::anomaly_test

#endif  // MLED_TESTS_ENGINE_ANOMALY_TEST_UTIL_H_
