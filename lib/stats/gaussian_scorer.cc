#include "lib/stats/gaussian_scorer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_model.h"

namespace mled::stats {
namespace {

bool AllFinite(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

// The error paths, out of line so that the D = 1 fit stays a leaf without a stack frame.
[[gnu::cold, gnu::noinline]] absl::Status TooFewSamples(double effective_count, int dim) {
  return absl::FailedPreconditionError(
      absl::StrCat("degenerate gaussian: ", effective_count, " effective samples cannot fit a ",
                   dim, "-dimensional gaussian (needs more samples than dimensions)"));
}

[[gnu::cold, gnu::noinline]] absl::Status NotFinite() {
  return absl::InvalidArgumentError("gaussian scorer: a moment is not finite");
}

[[gnu::cold, gnu::noinline]] absl::Status WrongSizes(const Summary& moments) {
  const size_t d = moments.dim < 1 ? 0 : static_cast<size_t>(moments.dim);
  return absl::InvalidArgumentError(absl::StrCat(
      "gaussian scorer: dim ", moments.dim, " needs ", d, " mean and ", d * d,
      " covariance values, got ", moments.mean.size(), " and ", moments.covariance.size()));
}

}  // namespace

absl::Status GaussianScorer::FitUnivariate(const Summary& moments) {
  // The hot path: no Eigen. For one component the kDegenerateTolerance rule is sigma² > 0.
  dim_ = 0;
  effective_count_ = 0;
  if (moments.mean.size() != 1 || moments.covariance.size() != 1) return WrongSizes(moments);
  const double mean = moments.mean[0];
  const double variance = moments.covariance[0];
  const double n = moments.effective_count;
  if (!std::isfinite(mean) || !std::isfinite(variance) || !std::isfinite(n)) return NotFinite();
  if (!(n > 1)) return TooFewSamples(n, 1);
  if (IsDegenerateComponent(variance, variance)) {
    return DegenerateComponentError(0, variance, variance);
  }
  mean1_ = mean;
  variance1_ = variance;
  dim_ = 1;
  effective_count_ = n;
  return absl::OkStatus();
}

absl::Status GaussianScorer::FitMultivariate(const Summary& moments) {
  dim_ = 0;
  effective_count_ = 0;
  const int dim = moments.dim;
  const size_t d = dim < 1 ? 0 : static_cast<size_t>(dim);
  if (dim < 1 || moments.mean.size() != d || moments.covariance.size() != d * d) {
    return WrongSizes(moments);
  }
  const double n = moments.effective_count;
  if (!std::isfinite(n) || !AllFinite(moments.mean) || !AllFinite(moments.covariance)) {
    return NotFinite();
  }
  if (!(n > dim)) return TooFewSamples(n, dim);
  const auto size = static_cast<Eigen::Index>(dim);
  // Same size as the previous fit: the LLT and these assignments reuse their storage.
  const absl::StatusOr<double> log_det =
      FactorCovariance(RowMajorMatrixMap(moments.covariance.data(), size, size), &llt_);
  if (!log_det.ok()) return log_det.status();
  log_det_ = *log_det;
  mean_ = Eigen::Map<const Eigen::VectorXd>(moments.mean.data(), size);
  scratch_.resize(size);
  dim_ = dim;
  effective_count_ = n;
  return absl::OkStatus();
}

double GaussianScorer::log_det() const {
  if (dim_ == 1) return std::log(variance1_);
  return dim_ > 1 ? log_det_ : 0.0;
}

double GaussianScorer::Mahalanobis2Multivariate(absl::Span<const double> x) const {
  if (dim_ < 2 || x.size() != static_cast<size_t>(dim_)) return kMaxFinite;
  // d2 = |L^-1 (x - mu)|², by one triangular solve against the Cholesky factor.
  scratch_ = Eigen::Map<const Eigen::VectorXd>(x.data(), dim_) - mean_;
  llt_.matrixL().solveInPlace(scratch_);
  return SaturateToFinite(scratch_.squaredNorm());
}

}  // namespace mled::stats
