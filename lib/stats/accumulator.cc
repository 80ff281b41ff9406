#include "lib/stats/accumulator.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/exponential_gaussian.h"
#include "lib/stats/gaussian_state.h"
#include "lib/stats/multivariate_gaussian.h"
#include "lib/stats/univariate_gaussian.h"
#include "lib/stats/window_gaussian.h"

namespace mled::stats {
namespace {

// Boxes a concrete accumulator read from a state record.
template <typename T>
absl::StatusOr<std::unique_ptr<Accumulator>> Boxed(absl::StatusOr<T> accumulator) {
  if (!accumulator.ok()) return accumulator.status();
  return std::make_unique<T>(*std::move(accumulator));
}

}  // namespace

std::unique_ptr<Accumulator> NewGaussianAccumulator(int dim) {
  if (dim == 1) return std::make_unique<UnivariateGaussian>();
  return std::make_unique<MultivariateGaussian>(dim);
}

absl::Status ValidateEstimatorSpec(const EstimatorSpec& spec) {
  switch (spec.kind) {
    case mled::v1::ESTIMATOR_CUMULATIVE:
      return absl::OkStatus();
    case mled::v1::ESTIMATOR_EXPONENTIAL:
      if (spec.half_life_ns <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "exponential estimator: the half-life must be > 0, got ", spec.half_life_ns, " ns"));
      }
      return absl::OkStatus();
    case mled::v1::ESTIMATOR_WINDOW:
      if (spec.buckets < 1 || spec.buckets > kMaxWindowBuckets) {
        return absl::InvalidArgumentError(absl::StrCat("window estimator: buckets must be in 1..",
                                                       kMaxWindowBuckets, ", got ", spec.buckets));
      }
      if (spec.window_ns < static_cast<int64_t>(spec.buckets)) {
        return absl::InvalidArgumentError(
            absl::StrCat("window estimator: the length (", spec.window_ns,
                         " ns) must be at least one nanosecond per bucket (", spec.buckets, ")"));
      }
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown estimator ",
                                                     mled::v1::Estimator_Name(spec.kind), " (",
                                                     static_cast<int>(spec.kind), ")"));
  }
}

std::unique_ptr<Accumulator> NewAccumulator(const EstimatorSpec& spec, int dim) {
  if (dim < 1 || !ValidateEstimatorSpec(spec).ok()) return nullptr;
  switch (spec.kind) {
    case mled::v1::ESTIMATOR_EXPONENTIAL:
      return std::make_unique<ExponentialGaussian>(dim, spec.half_life_ns);
    case mled::v1::ESTIMATOR_WINDOW:
      return std::make_unique<WindowGaussian>(dim, spec.window_ns, spec.buckets);
    default:
      return NewGaussianAccumulator(dim);
  }
}

absl::StatusOr<std::unique_ptr<Accumulator>> AccumulatorFromState(
    const mled::v1::StreamState& state) {
  if (state.version() != kStreamStateVersion) {
    return absl::InvalidArgumentError(absl::StrCat("stream state: unsupported version ",
                                                   state.version(), " (this build reads ",
                                                   kStreamStateVersion, ")"));
  }
  switch (state.model_case()) {
    case mled::v1::StreamState::kGaussian:
      if (state.gaussian().dim() == 1) {
        return Boxed(UnivariateGaussian::FromState(state.gaussian()));
      }
      return Boxed(MultivariateGaussian::FromState(state.gaussian()));
    case mled::v1::StreamState::kExponential:
      return Boxed(ExponentialGaussian::FromState(state.exponential()));
    case mled::v1::StreamState::kWindow:
      return Boxed(WindowGaussian::FromState(state.window()));
    case mled::v1::StreamState::MODEL_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "stream state: no model (expected gaussian, exponential or window)");
}

}  // namespace mled::stats
