#include "lib/stats/gaussian_model.h"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/finite.h"
#include "lib/stats/math_policy.h"

namespace mled::stats {
namespace {

// Up to this dimension Score keeps x - mu on the stack: no allocation per scored sample.
constexpr int kStackDim = 16;

bool AllFinite(absl::Span<const double> values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

}  // namespace

GaussianModel::GaussianModel(Eigen::VectorXd mean, Eigen::LLT<Eigen::MatrixXd> llt, double log_det)
    : mean_(std::move(mean)), llt_(std::move(llt)), log_det_(log_det) {}

absl::StatusOr<GaussianModel> GaussianModel::Create(absl::Span<const double> mean,
                                                    absl::Span<const double> covariance) {
  const size_t d = mean.size();
  if (d == 0) return absl::InvalidArgumentError("gaussian model: empty mean");
  if (covariance.size() != d * d) {
    return absl::InvalidArgumentError(absl::StrCat("gaussian model: dim ", d, " needs ", d * d,
                                                   " covariance values, got ", covariance.size()));
  }
  if (!AllFinite(mean) || !AllFinite(covariance)) {
    return absl::InvalidArgumentError("gaussian model: mean or covariance is not finite");
  }
  const auto dim = static_cast<Eigen::Index>(d);
  Eigen::LLT<Eigen::MatrixXd> llt;
  const absl::StatusOr<double> log_det =
      FactorCovariance(RowMajorMatrixMap(covariance.data(), dim, dim), &llt);
  if (!log_det.ok()) return log_det.status();
  return GaussianModel(Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(mean.data(), dim)),
                       std::move(llt), *log_det);
}

absl::Status DegenerateComponentError(int component, double variance, double unexplained_variance) {
  if (!(variance > 0)) {
    return absl::FailedPreconditionError(absl::StrCat("degenerate gaussian: component ", component,
                                                      " has no positive variance (constant data)"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "degenerate gaussian: component ", component,
      " is (numerically) a linear combination of the ones before it: its unexplained variance ",
      unexplained_variance, " is at most ", kDegenerateTolerance, " x its variance ", variance));
}

absl::StatusOr<double> FactorCovariance(const RowMajorMatrixMap& sigma,
                                        Eigen::LLT<Eigen::MatrixXd>* llt) {
  const Eigen::Index dim = sigma.rows();
  // Variances first, so that constant data is reported as such rather than as a failed LLT.
  for (Eigen::Index i = 0; i < dim; ++i) {
    if (IsDegenerateComponent(sigma(i, i), sigma(i, i))) {
      return DegenerateComponentError(static_cast<int>(i), sigma(i, i), sigma(i, i));
    }
  }
  llt->compute(sigma);
  if (llt->info() != Eigen::Success) {
    return absl::FailedPreconditionError(
        "degenerate gaussian: covariance is not positive definite (Cholesky failed)");
  }
  const auto& factor = llt->matrixLLT();
  double log_det = 0;
  for (Eigen::Index i = 0; i < dim; ++i) {
    const double pivot = factor(i, i);
    if (IsDegenerateComponent(sigma(i, i), pivot * pivot)) {
      return DegenerateComponentError(static_cast<int>(i), sigma(i, i), pivot * pivot);
    }
    log_det += std::log(pivot);
  }
  return 2 * log_det;
}

SampleScore GaussianModel::Score(absl::Span<const double> x) const {
  const Eigen::Index dim = mean_.size();
  double d2 = kMaxFinite;
  if (static_cast<Eigen::Index>(x.size()) == dim) {
    const Eigen::Map<const Eigen::VectorXd> xv(x.data(), dim);
    // d2 = |L^-1 (x - mu)|², by one triangular solve against the Cholesky factor.
    if (dim <= kStackDim) {
      Eigen::Matrix<double, Eigen::Dynamic, 1, 0, kStackDim, 1> z = xv - mean_;
      llt_.matrixL().solveInPlace(z);
      d2 = z.squaredNorm();
    } else {
      Eigen::VectorXd z = xv - mean_;
      llt_.matrixL().solveInPlace(z);
      d2 = z.squaredNorm();
    }
    d2 = SaturateToFinite(d2);
  }
  SampleScore score;
  score.mahalanobis2 = d2;
  score.nll = SaturateToFinite(0.5 * (static_cast<double>(dim) * kLog2Pi + log_det_ + d2));
  score.p_value = ChiSquaredUpperTail(d2, static_cast<int>(dim));
  return score;
}

double ChiSquaredUpperTail(double d2, int dof) {
  if (!(d2 > 0)) return std::isnan(d2) ? 0.0 : 1.0;
  if (dof < 1 || std::isinf(d2)) return 0.0;
  const boost::math::chi_squared_distribution<double, NoThrowPolicy> chi2(dof);
  const double p = boost::math::cdf(boost::math::complement(chi2, d2));
  if (std::isnan(p)) return 0.0;
  return std::clamp(p, 0.0, 1.0);
}

double NllAtMle(uint64_t count, int dim, double log_det) {
  return WeightedNllAtMle(static_cast<double>(count), dim, log_det);
}

double WeightedNllAtMle(double weight_sum, int dim, double log_det) {
  const double d = static_cast<double>(dim);
  return SaturateToFinite(0.5 * weight_sum * (d * kLog2Pi + log_det + d));
}

absl::StatusOr<GaussianModel> FitMle(uint64_t count, absl::Span<const double> mean,
                                     absl::Span<const double> covariance) {
  if (count <= mean.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("degenerate gaussian: ", count, " samples cannot fit a ", mean.size(),
                     "-dimensional gaussian (needs more samples than dimensions)"));
  }
  return GaussianModel::Create(mean, covariance);
}

absl::StatusOr<GaussianModel> FitWeightedMle(double effective_count, absl::Span<const double> mean,
                                             absl::Span<const double> covariance) {
  if (!(effective_count > static_cast<double>(mean.size()))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "degenerate gaussian: an effective count of ", effective_count, " samples cannot fit a ",
        mean.size(), "-dimensional gaussian (needs more samples than dimensions)"));
  }
  return GaussianModel::Create(mean, covariance);
}

std::optional<double> NllAtMle(uint64_t count, const absl::StatusOr<GaussianModel>& model) {
  if (!model.ok()) return std::nullopt;
  return NllAtMle(count, model->dim(), model->log_det());
}

}  // namespace mled::stats
