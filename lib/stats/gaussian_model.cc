#include "lib/stats/gaussian_model.h"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/finite.h"

namespace mled::stats {
namespace {

using RowMajorMap =
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Boost.Math reports domain errors and overflow by throwing by default; the daemon must never
// throw out of a score, so every error returns a value (NaN or Inf) that we then clamp.
// promote_double<false>: Boost would otherwise evaluate the incomplete gamma function in long
// double (x87), several times slower per score (9x for D = 1 in bench/stats_bench) for digits
// a p-value threshold does not use.
using NoThrowPolicy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;

// log(2 pi); a literal because std::log is not constexpr in C++20.
constexpr double kLog2Pi = 1.8378770664093454835606594728112;

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
  const RowMajorMap sigma(covariance.data(), dim, dim);
  for (Eigen::Index i = 0; i < dim; ++i) {
    if (!(sigma(i, i) > 0)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "degenerate gaussian: component ", i, " has no positive variance (constant data)"));
    }
  }
  Eigen::LLT<Eigen::MatrixXd> llt(sigma);
  if (llt.info() != Eigen::Success) {
    return absl::FailedPreconditionError(
        "degenerate gaussian: covariance is not positive definite (Cholesky failed)");
  }
  const auto& factor = llt.matrixLLT();
  double log_det = 0;
  for (Eigen::Index i = 0; i < dim; ++i) {
    const double pivot = factor(i, i);
    if (!(pivot * pivot > kDegenerateTolerance * sigma(i, i))) {
      return absl::FailedPreconditionError(absl::StrCat(
          "degenerate gaussian: component ", i,
          " is (numerically) a linear combination of the ones before it: its unexplained "
          "variance ",
          pivot * pivot, " is at most ", kDegenerateTolerance, " x its variance ", sigma(i, i)));
    }
    log_det += std::log(pivot);
  }
  return GaussianModel(Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(mean.data(), dim)),
                       std::move(llt), 2 * log_det);
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
  const double d = static_cast<double>(dim);
  return SaturateToFinite(0.5 * static_cast<double>(count) * (d * kLog2Pi + log_det + d));
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

std::optional<double> NllAtMle(uint64_t count, const absl::StatusOr<GaussianModel>& model) {
  if (!model.ok()) return std::nullopt;
  return NllAtMle(count, model->dim(), model->log_det());
}

}  // namespace mled::stats
