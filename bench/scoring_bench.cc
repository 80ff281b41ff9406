// Google Benchmark kernels for scoring one sample as the ingest path does: refit the model from
// the stream's moments (GaussianScorer::Fit), measure the sample (Mahalanobis2), and turn the
// distance into a p-value or NLL, plug-in or posterior predictive (sample_score.h).
//
// Items are scored samples. BM_GaussianModelFitAndScore is the older route for comparison:
// FitMle (a fresh GaussianModel, allocating) and GaussianModel::Score (which includes the chi2
// p-value).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/gaussian_model.h"
#include "lib/stats/gaussian_scorer.h"
#include "lib/stats/sample_score.h"

namespace mled::stats {
namespace {

// Distinct moments to refit from (as a stream's model changes with every sample) and samples
// to score, cycled through.
constexpr size_t kModels = 64;
constexpr size_t kRows = 4096;

struct Workload {
  std::vector<Summary> models;
  std::vector<double> rows;  // kRows × D
};

// Correlated rows x = 100 i + z_i + 0.5 z_{i-1}; the models are the moments of kModels
// overlapping windows of 500 rows.
Workload MakeWorkload(int dim) {
  const size_t d = static_cast<size_t>(dim);
  std::mt19937_64 rng(static_cast<uint64_t>(dim));
  std::normal_distribution<double> normal(0.0, 1.0);
  Workload w;
  w.rows.resize(kRows * d);
  std::vector<double> z(d);
  for (size_t r = 0; r < kRows; ++r) {
    for (double& v : z) v = normal(rng);
    for (size_t i = 0; i < d; ++i) {
      w.rows[r * d + i] = 100.0 * static_cast<double>(i) + z[i] + (i > 0 ? 0.5 * z[i - 1] : 0);
    }
  }
  constexpr size_t kWindow = 500;
  for (size_t m = 0; m < kModels; ++m) {
    const size_t first = m * ((kRows - kWindow) / kModels);
    Summary s;
    s.dim = dim;
    s.count = kWindow;
    s.effective_count = kWindow;
    s.weight_sum = kWindow;
    s.mean.assign(d, 0.0);
    s.covariance.assign(d * d, 0.0);
    for (size_t r = first; r < first + kWindow; ++r) {
      for (size_t i = 0; i < d; ++i) s.mean[i] += w.rows[r * d + i] / kWindow;
    }
    for (size_t r = first; r < first + kWindow; ++r) {
      for (size_t i = 0; i < d; ++i) {
        for (size_t j = 0; j < d; ++j) {
          s.covariance[i * d + j] +=
              (w.rows[r * d + i] - s.mean[i]) * (w.rows[r * d + j] - s.mean[j]) / kWindow;
        }
      }
    }
    w.models.push_back(std::move(s));
  }
  return w;
}

// GaussianScorer::Fit + Mahalanobis2 per sample: the model-dependent part of a score.
void BM_ScorerFitAndMahalanobis2(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const size_t d = static_cast<size_t>(dim);
  const Workload w = MakeWorkload(dim);
  GaussianScorer scorer;
  size_t i = 0;
  for (auto _ : state) {
    const absl::Status status = scorer.Fit(w.models[i % kModels]);
    benchmark::DoNotOptimize(status.ok());
    benchmark::DoNotOptimize(
        scorer.Mahalanobis2(absl::MakeConstSpan(w.rows).subspan((i % kRows) * d, d)));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScorerFitAndMahalanobis2)->Arg(1)->Arg(4)->Arg(16);

// Mahalanobis2 alone, the model fitted once.
void BM_ScorerMahalanobis2(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const size_t d = static_cast<size_t>(dim);
  const Workload w = MakeWorkload(dim);
  GaussianScorer scorer;
  if (!scorer.Fit(w.models[0]).ok()) {
    state.SkipWithError("fit failed");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        scorer.Mahalanobis2(absl::MakeConstSpan(w.rows).subspan((i % kRows) * d, d)));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScorerMahalanobis2)->Arg(1)->Arg(4)->Arg(16);

// The whole score of one sample: Fit, Mahalanobis2, NLL and p-value; range(1) = predictive.
void BM_ScoreSample(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const bool predictive = state.range(1) != 0;
  const size_t d = static_cast<size_t>(dim);
  const Workload w = MakeWorkload(dim);
  GaussianScorer scorer;
  size_t i = 0;
  for (auto _ : state) {
    if (scorer.Fit(w.models[i % kModels]).ok()) {
      const ScoreModel m = scorer.model(predictive);
      const double d2 =
          scorer.Mahalanobis2(absl::MakeConstSpan(w.rows).subspan((i % kRows) * d, d));
      benchmark::DoNotOptimize(ScoreNll(m, d2));
      benchmark::DoNotOptimize(ScorePValue(m, d2));
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScoreSample)->ArgsProduct({{1, 4, 16}, {0, 1}});

// The older route: FitMle builds a fresh GaussianModel (allocating) and Score adds the p-value.
void BM_GaussianModelFitAndScore(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const size_t d = static_cast<size_t>(dim);
  const Workload w = MakeWorkload(dim);
  size_t i = 0;
  for (auto _ : state) {
    const Summary& s = w.models[i % kModels];
    const absl::StatusOr<GaussianModel> model = FitMle(s.count, s.mean, s.covariance);
    if (model.ok()) {
      benchmark::DoNotOptimize(
          model->Score(absl::MakeConstSpan(w.rows).subspan((i % kRows) * d, d)));
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GaussianModelFitAndScore)->Arg(1)->Arg(4)->Arg(16);

// d2 values spread over the interesting range (mostly chi2_D, some far out).
std::vector<double> Distances(int dim) {
  std::mt19937_64 rng(static_cast<uint64_t>(100 + dim));
  std::chi_squared_distribution<double> chi2(dim);
  std::vector<double> d2(1024);
  for (size_t k = 0; k < d2.size(); ++k) d2[k] = chi2(rng) * (k % 16 == 0 ? 4.0 : 1.0);
  return d2;
}

// ScorePValue alone; range(1) = predictive (n = 500), else plug-in.
void BM_ScorePValue(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const ScoreModel m{dim, 500.0, 0.5, state.range(1) != 0};
  const std::vector<double> d2 = Distances(dim);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ScorePValue(m, d2[i++ % d2.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScorePValue)->ArgsProduct({{1, 4, 16}, {0, 1}});

// ScoreNll alone; range(1) = predictive (n = 500), else plug-in.
void BM_ScoreNll(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0));
  const ScoreModel m{dim, 500.0, 0.5, state.range(1) != 0};
  const std::vector<double> d2 = Distances(dim);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ScoreNll(m, d2[i++ % d2.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScoreNll)->ArgsProduct({{1, 4, 16}, {0, 1}});

}  // namespace
}  // namespace mled::stats

BENCHMARK_MAIN();
