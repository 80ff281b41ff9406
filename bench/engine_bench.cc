// The cost of scoring in the engine: rows applied to one stream of a StreamTable with the default
// anomaly policy (every row scored against the model before it, p < 1e-6) against the same rows
// with scoring off. Both take the same table, locking and model update; the difference is the
// scoring. D = 1, 4, 16, as blocks of 1000 rows (a StreamBatch) and one row at a time (a Sample
// per message); every estimator for D = 1.
//
// items_per_second counts rows (samples).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/engine/stream_rules.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/config.pb.h"

namespace mled::engine {
namespace {

constexpr size_t kRows = 100'000;
constexpr int64_t kSecond = 1'000'000'000;

std::shared_ptr<const StreamRules> Rules(bool scoring, mled::v1::Estimator estimator) {
  mled::v1::StreamRule rule;
  rule.mutable_anomaly()->set_enabled(scoring);
  if (estimator == mled::v1::ESTIMATOR_EXPONENTIAL) {
    rule.mutable_exponential()->set_half_life("10m");
  } else if (estimator == mled::v1::ESTIMATOR_WINDOW) {
    rule.mutable_window()->set_length("5m");
  }
  return *StreamRules::FromConfig({}, rule, RuleLimits());
}

// kRows correlated Gaussian rows of dimension `dim` around 1e3.
std::vector<double> Rows(int dim) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  std::vector<double> rows(kRows * static_cast<size_t>(dim));
  for (size_t r = 0; r < kRows; ++r) {
    const double common = normal(rng);
    for (int c = 0; c < dim; ++c) {
      rows[r * static_cast<size_t>(dim) + static_cast<size_t>(c)] = 1e3 + common + normal(rng);
    }
  }
  return rows;
}

// Args: dim, rows per Apply, scoring (0/1), estimator (mled::v1::Estimator).
void BM_ApplyRows(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const size_t per_apply = static_cast<size_t>(state.range(1));
  const bool scoring = state.range(2) != 0;
  const auto estimator = static_cast<mled::v1::Estimator>(state.range(3));
  const std::vector<double> rows = Rows(dim);
  StreamTable table(EngineLimits(), 1, Rules(scoring, estimator));
  std::vector<mled::v1::Anomaly> anomalies;
  ApplyOutputs outputs{.anomalies = &anomalies};
  size_t next = 0;
  int64_t time = kSecond;
  for (auto _ : state) {
    if (next + per_apply > kRows) next = 0;
    // 1000 samples per second of sample time, so windows expire and weights decay.
    time += static_cast<int64_t>(per_apply) * 1'000'000;
    const absl::Status status = table.Apply(
        "bench/stream", static_cast<uint32_t>(dim),
        absl::MakeConstSpan(rows).subspan(next * static_cast<size_t>(dim),
                                           per_apply * static_cast<size_t>(dim)),
        time, &outputs);
    benchmark::DoNotOptimize(status);
    anomalies.clear();
    next += per_apply;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(per_apply));
}

constexpr int64_t kCumulative = mled::v1::ESTIMATOR_CUMULATIVE;
constexpr int64_t kExponential = mled::v1::ESTIMATOR_EXPONENTIAL;
constexpr int64_t kWindow = mled::v1::ESTIMATOR_WINDOW;

BENCHMARK(BM_ApplyRows)
    ->ArgNames({"dim", "rows", "scoring", "estimator"})
    ->ArgsProduct({{1, 4, 16}, {1, 1000}, {0, 1}, {kCumulative}})
    ->ArgsProduct({{1}, {1, 1000}, {0, 1}, {kExponential, kWindow}});

}  // namespace
}  // namespace mled::engine

BENCHMARK_MAIN();
