#include "lib/stats/accumulator.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/gaussian_state.h"
#include "lib/stats/multivariate_gaussian.h"
#include "lib/stats/univariate_gaussian.h"

namespace mled::stats {

std::unique_ptr<Accumulator> NewGaussianAccumulator(int dim) {
  if (dim == 1) return std::make_unique<UnivariateGaussian>();
  return std::make_unique<MultivariateGaussian>(dim);
}

absl::StatusOr<std::unique_ptr<Accumulator>> AccumulatorFromState(
    const mled::v1::StreamState& state) {
  if (state.version() != kStreamStateVersion) {
    return absl::InvalidArgumentError(absl::StrCat("stream state: unsupported version ",
                                                   state.version(), " (this build reads ",
                                                   kStreamStateVersion, ")"));
  }
  if (state.model_case() != mled::v1::StreamState::kGaussian) {
    return absl::InvalidArgumentError("stream state: no model (expected a gaussian)");
  }
  const mled::v1::GaussianState& gaussian = state.gaussian();
  if (gaussian.dim() == 1) {
    absl::StatusOr<UnivariateGaussian> g = UnivariateGaussian::FromState(gaussian);
    if (!g.ok()) return g.status();
    return std::make_unique<UnivariateGaussian>(*std::move(g));
  }
  absl::StatusOr<MultivariateGaussian> g = MultivariateGaussian::FromState(gaussian);
  if (!g.ok()) return g.status();
  return std::make_unique<MultivariateGaussian>(*std::move(g));
}

}  // namespace mled::stats
