// The /metrics page: rendering the Prometheus text exposition (lib/wire/prometheus_text.h) of many
// streams. Results and how to run them: bench/README.md, "/metrics render".
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "lib/wire/prometheus_text.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {
namespace {

// `streams` estimates of dimension `dim` as a query snapshot holds them, sorted by name, with
// full-precision values (the costly case for shortest-round-trip printing), every optional field
// present.
std::vector<mled::v1::Estimate> Estimates(int streams, int dim) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> value(20.0, 3.0);
  std::vector<mled::v1::Estimate> estimates(static_cast<size_t>(streams));
  for (int i = 0; i < streams; ++i) {
    mled::v1::Estimate& e = estimates[static_cast<size_t>(i)];
    e.set_stream(absl::StrFormat("sensors/host-%06d/temperature", i));
    e.set_count(1000 + static_cast<uint64_t>(i));
    e.set_dim(static_cast<uint32_t>(dim));
    for (int r = 0; r < dim; ++r) e.add_mean(value(rng));
    for (int r = 0; r < dim; ++r) {
      for (int c = 0; c < dim; ++c) e.add_covariance(r == c ? value(rng) / 3 : 0.01);
    }
    e.set_nll(value(rng) * 100);
    e.set_mean_nll(value(rng) / 10);
    e.set_anomalies(static_cast<uint64_t>(i % 7));
    e.set_last_score(value(rng) / 7);
    e.set_estimator(mled::v1::ESTIMATOR_CUMULATIVE);
    e.set_effective_count(static_cast<double>(e.count()));
  }
  return estimates;
}

// A fresh std::string per page, as the HTTP handler builds one per request.
void BM_RenderMetrics(benchmark::State& state) {
  const std::vector<mled::v1::Estimate> estimates =
      Estimates(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  mled::v1::DaemonStats stats;
  stats.set_samples_accepted_tcp(123456789);
  (*stats.mutable_samples_rejected_by_code())["INVALID_ARGUMENT"] = 17;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string page;
    AppendPrometheusText(estimates, 0, stats, &page);
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // streams
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderMetrics)
    ->ArgNames({"streams", "dim"})
    ->Args({100000, 1})
    ->Args({10000, 4})
    ->Args({1000, 1})
    ->Unit(benchmark::kMillisecond);

// The same into a string reused across pages (its capacity kept): the rendering alone, without the
// page allocation and its first-touch page faults.
void BM_RenderMetricsReused(benchmark::State& state) {
  const std::vector<mled::v1::Estimate> estimates =
      Estimates(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const mled::v1::DaemonStats stats;
  std::string page;
  for (auto _ : state) {
    page.clear();
    AppendPrometheusText(estimates, 0, stats, &page);
    benchmark::DoNotOptimize(page.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(page.size()));
}
BENCHMARK(BM_RenderMetricsReused)
    ->ArgNames({"streams", "dim"})
    ->Args({100000, 1})
    ->Args({10000, 4})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mled::wire

BENCHMARK_MAIN();
