// Google Benchmark kernels for lib/stats: the accumulators' update paths, scoring and fitting.
//
// items_per_second counts sample values (a D-dimensional row is D values), so values/s and
// ns/value read straight off; the "rows" counter gives samples/s. BM_Fit counts fits.
// bench/README.md ("Kernels") records a run and the targets.
#include <benchmark/benchmark.h>

#include <boost/accumulators/accumulators.hpp>
#include <boost/accumulators/statistics/mean.hpp>
#include <boost/accumulators/statistics/stats.hpp>
#include <boost/accumulators/statistics/variance.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/gaussian_model.h"
#include "lib/stats/multivariate_gaussian.h"
#include "lib/stats/univariate_gaussian.h"

namespace mled::stats {
namespace {

// Samples around 1e9 with unit variance (the case DESIGN.md's accuracy bounds are written for;
// the speed does not depend on the values). 100,000 doubles = 800 KB: more than L2 on the
// reference machine (512 KiB per core), so a block's first pass reads from L3 and, up to
// 10,000 values (80 KB), its second pass from L2.
constexpr size_t kUnivariateSamples = 100'000;

const std::vector<double>& UnivariateData() {
  static const std::vector<double>* const kData = [] {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal(0.0, 1.0);
    auto* data = new std::vector<double>(kUnivariateSamples);
    for (double& x : *data) x = 1e9 + normal(rng);
    return data;
  }();
  return *kData;
}

// `rows` correlated rows of `dim` values (x = offset + A z), row after row.
std::vector<double> MultivariateData(int dim, size_t rows) {
  std::mt19937_64 rng(static_cast<uint64_t>(dim));
  std::normal_distribution<double> normal(0.0, 1.0);
  const size_t d = static_cast<size_t>(dim);
  std::vector<double> data(rows * d);
  std::vector<double> z(d);
  for (size_t r = 0; r < rows; ++r) {
    for (double& v : z) v = normal(rng);
    for (size_t i = 0; i < d; ++i) {
      double v = 100.0 * static_cast<double>(i) + z[i];
      if (i > 0) v += 0.5 * z[i - 1];
      data[r * d + i] = v;
    }
  }
  return data;
}

void SetRates(benchmark::State& state, int64_t rows, int64_t dim) {
  state.SetItemsProcessed(rows * dim);
  state.counters["rows"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}

void BM_UnivariateAdd(benchmark::State& state) {
  const std::vector<double>& data = UnivariateData();
  UnivariateGaussian g;
  for (auto _ : state) {
    for (double x : data) g.Add(x);
    benchmark::DoNotOptimize(g.M2());
  }
  SetRates(state, state.iterations() * static_cast<int64_t>(data.size()), 1);
}
BENCHMARK(BM_UnivariateAdd);

// One AddBlock of range(0) values per iteration, walking through the data set.
void BM_UnivariateAddBlock(benchmark::State& state) {
  const std::vector<double>& data = UnivariateData();
  const size_t block = static_cast<size_t>(state.range(0));
  UnivariateGaussian g;
  size_t offset = 0;
  for (auto _ : state) {
    g.AddBlock(absl::MakeConstSpan(data).subspan(offset, block));
    benchmark::DoNotOptimize(g.M2());
    offset += block;
    if (offset + block > data.size()) offset = 0;
  }
  SetRates(state, state.iterations() * static_cast<int64_t>(block), 1);
}
BENCHMARK(BM_UnivariateAddBlock)->Arg(1000)->Arg(10'000)->Arg(100'000);

// The baseline: Boost.Accumulators' incremental mean and variance on the same data.
void BM_BoostAccumulatorsMeanVariance(benchmark::State& state) {
  namespace acc = boost::accumulators;
  const std::vector<double>& data = UnivariateData();
  acc::accumulator_set<double, acc::stats<acc::tag::mean, acc::tag::variance>> set;
  for (auto _ : state) {
    for (double x : data) set(x);
    benchmark::DoNotOptimize(acc::variance(set));
  }
  SetRates(state, state.iterations() * static_cast<int64_t>(data.size()), 1);
}
BENCHMARK(BM_BoostAccumulatorsMeanVariance);

constexpr size_t kMultivariateRows = 8192;

// One row per iteration (Welford rank-1 update).
void BM_MultivariateAdd(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const std::vector<double> data = MultivariateData(dim, kMultivariateRows);
  const size_t d = static_cast<size_t>(dim);
  MultivariateGaussian g(dim);
  size_t row = 0;
  for (auto _ : state) {
    g.Add(absl::MakeConstSpan(data).subspan(row * d, d));
    row = (row + 1) % kMultivariateRows;
  }
  benchmark::DoNotOptimize(g.Covariance());
  SetRates(state, state.iterations(), dim);
}
BENCHMARK(BM_MultivariateAdd)->Arg(4)->Arg(16)->Arg(64);

// One block of 1000 rows per iteration (two-pass + SYRK + Chan).
void BM_MultivariateAddBlock(benchmark::State& state) {
  constexpr size_t kBlockRows = 1000;
  const int dim = static_cast<int>(state.range(0));
  const std::vector<double> data = MultivariateData(dim, kMultivariateRows);
  const size_t d = static_cast<size_t>(dim);
  MultivariateGaussian g(dim);
  size_t row = 0;
  for (auto _ : state) {
    g.AddBlock(absl::MakeConstSpan(data).subspan(row * d, kBlockRows * d));
    row += kBlockRows;
    if (row + kBlockRows > kMultivariateRows) row = 0;
  }
  benchmark::DoNotOptimize(g.Covariance());
  SetRates(state, state.iterations() * static_cast<int64_t>(kBlockRows), dim);
}
BENCHMARK(BM_MultivariateAddBlock)->Arg(4)->Arg(16)->Arg(64);

// One sample per AddRows at a steady 1 ms rate, through the Accumulator interface as the engine
// calls it (D = 1): the cumulative baseline, the exponential estimator (one decay per sample:
// an exp2 and a few multiplies) and the window (a new bucket every 60 s / range(0) of sample
// time, which expires the oldest one and rebuilds the total from the others).
// With `jitter` the steps vary by up to 6 us, as real timestamps do (the exponential estimator
// then cannot reuse its last decay factor).
template <typename MakeAccumulator>
void OneSampleAddRowsWithTimes(benchmark::State& state, MakeAccumulator make, bool jitter) {
  constexpr int64_t kMillisecond = 1'000'000;
  const std::vector<double>& data = UnivariateData();
  std::unique_ptr<Accumulator> acc = make();
  int64_t time = 1'700'000'000'000'000'000;
  size_t i = 0;
  for (auto _ : state) {
    time += kMillisecond + (jitter ? static_cast<int64_t>(i % 7) * 1000 : 0);
    acc->AddRows({&data[i], 1}, RowTimes{{&time, 1}});
    if (++i == data.size()) i = 0;
  }
  benchmark::DoNotOptimize(acc->count());
  SetRates(state, state.iterations(), 1);
}

void BM_CumulativeAddRowsTimed(benchmark::State& state) {
  OneSampleAddRowsWithTimes(state, [] { return NewAccumulator({}, 1); }, false);
}
BENCHMARK(BM_CumulativeAddRowsTimed);

// range(0): 1 for jittered times.
void BM_ExponentialAddRowsTimed(benchmark::State& state) {
  OneSampleAddRowsWithTimes(
      state,
      [] {
        return NewAccumulator(
            {.kind = mled::v1::ESTIMATOR_EXPONENTIAL, .half_life_ns = 60'000'000'000}, 1);
      },
      state.range(0) != 0);
}
BENCHMARK(BM_ExponentialAddRowsTimed)->Arg(0)->Arg(1);

// range(0) buckets over a 60 s window.
void BM_WindowAddRowsTimed(benchmark::State& state) {
  const auto buckets = static_cast<uint32_t>(state.range(0));
  OneSampleAddRowsWithTimes(
      state,
      [buckets] {
        return NewAccumulator(
            {.kind = mled::v1::ESTIMATOR_WINDOW, .window_ns = 60'000'000'000, .buckets = buckets},
            1);
      },
      false);
}
BENCHMARK(BM_WindowAddRowsTimed)->Arg(10)->Arg(60)->Arg(1000);

// Scores a stream of samples under a model fitted once (D = 1 through the univariate path).
void BM_Score(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const size_t d = static_cast<size_t>(dim);
  const std::vector<double> data = MultivariateData(dim, kMultivariateRows);
  std::unique_ptr<Accumulator> acc = NewGaussianAccumulator(dim);
  acc->AddRows(data, RowTimes{});
  const absl::StatusOr<GaussianModel> model = acc->Fit();
  if (!model.ok()) {
    state.SkipWithError("fit failed");
    return;
  }
  size_t row = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model->Score(absl::MakeConstSpan(data).subspan(row * d, d)));
    row = (row + 1) % kMultivariateRows;
  }
  SetRates(state, state.iterations(), dim);
}
BENCHMARK(BM_Score)->Arg(1)->Arg(4)->Arg(16)->Arg(64);

// Fit(): MLE mean and covariance out of the state, LLT, degeneracy checks. Items are fits.
void BM_Fit(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const std::vector<double> data = MultivariateData(dim, kMultivariateRows);
  MultivariateGaussian g(dim);
  g.AddBlock(data);
  for (auto _ : state) {
    absl::StatusOr<GaussianModel> model = g.Fit();
    benchmark::DoNotOptimize(model);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Fit)->Arg(4)->Arg(16)->Arg(64);

}  // namespace
}  // namespace mled::stats

BENCHMARK_MAIN();
