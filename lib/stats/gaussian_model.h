// A fitted Gaussian N(mu, Sigma) used to score new samples (the anomaly score).
//
//   ASSIGN_OR_RETURN(GaussianModel model, accumulator.Fit());
//   SampleScore s = model.Score(x);   // s.nll = -log N(x; mu, Sigma)
//
// The factor comes from Eigen's LLT of Sigma; no explicit inverse or determinant is formed.
// Every number it returns is finite: what would overflow saturates to the largest double.
// Immutable once built; safe for concurrent use from any thread.
#ifndef MLED_LIB_STATS_GAUSSIAN_MODEL_H_
#define MLED_LIB_STATS_GAUSSIAN_MODEL_H_

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mled::stats {

// The score of one sample x under a fitted model, all finite.
struct SampleScore {
  // s(x) = -log N(x; mu, Sigma) = 0.5 (D log 2pi + log|Sigma| + d2), in nats.
  double nll = 0;
  // Squared Mahalanobis distance d2 = (x - mu)^T Sigma^-1 (x - mu); ~ chi2_D under the model.
  double mahalanobis2 = 0;
  // Upper tail probability 1 - F_chi2(d2; D), from Boost.Math.
  double p_value = 1;
};

// Relative tolerance for positive definiteness: Sigma is degenerate when some variance Sigma_ii
// is not > 0, or an LLT pivot squared L_ii² is at most kDegenerateTolerance times Sigma_ii.
// L_ii² is the variance of component i left unexplained by components 0..i-1, so the ratio is
// 1 - R² of regressing component i on the ones before it: this flags data that is
// (numerically) constant or collinear, and being a ratio per component it does not depend on
// the components' units or scales.
inline constexpr double kDegenerateTolerance = 1e-12;

// A read-only view of a D×D covariance stored row-major (Summary::covariance, the wire).
using RowMajorMatrixMap =
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// The kDegenerateTolerance rule for one component: true unless its `variance` Sigma_ii > 0 and
// its `unexplained_variance` L_ii² > kDegenerateTolerance * Sigma_ii. For the first component
// (and so for D = 1) L_00² = Sigma_00, and the rule is just Sigma_00 > 0. NaN is degenerate.
inline bool IsDegenerateComponent(double variance, double unexplained_variance) {
  return !(variance > 0) || !(unexplained_variance > kDegenerateTolerance * variance);
}

// The FAILED_PRECONDITION that says why component `component` is degenerate (call it only when
// IsDegenerateComponent is true).
absl::Status DegenerateComponentError(int component, double variance, double unexplained_variance);

// Factors Sigma (finite, D×D, D >= 1; only its lower triangle is read) into `llt` and returns
// log|Sigma| from the factor, or FAILED_PRECONDITION when Sigma is not positive definite within
// kDegenerateTolerance (then `llt` holds no usable factor). This is the one definition of a
// degenerate covariance: GaussianModel::Create and GaussianScorer::Fit both use it. `llt`'s
// storage is reused: when it already holds a D×D matrix, nothing is allocated.
absl::StatusOr<double> FactorCovariance(const RowMajorMatrixMap& sigma,
                                        Eigen::LLT<Eigen::MatrixXd>* llt);

class GaussianModel {
 public:
  // Builds the model from the MLE mean and covariance (row-major D×D; only its lower triangle
  // is read). Returns FAILED_PRECONDITION when Sigma is not positive definite within
  // kDegenerateTolerance, INVALID_ARGUMENT when the mean is empty, the sizes disagree or a value
  // is not finite.
  static absl::StatusOr<GaussianModel> Create(absl::Span<const double> mean,
                                              absl::Span<const double> covariance);

  int dim() const { return static_cast<int>(mean_.size()); }
  const Eigen::VectorXd& mean() const { return mean_; }
  // log|Sigma|, from the Cholesky factor.
  double log_det() const { return log_det_; }

  // Scores x (x.size() == dim()). Scores that would overflow (or a non-finite x) are clamped to
  // the largest finite double and p_value to [0, 1], so the result is always finite. An x of
  // the wrong size is a caller bug; it is scored as infinitely far away (d2 and nll the largest
  // double, p_value 0) rather than read out of bounds. O(D²); allocates nothing for D <= 16.
  SampleScore Score(absl::Span<const double> x) const;

 private:
  GaussianModel(Eigen::VectorXd mean, Eigen::LLT<Eigen::MatrixXd> llt, double log_det);

  Eigen::VectorXd mean_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  double log_det_ = 0;
};

// Upper tail P(X > d2) of the chi-squared distribution with `dof` degrees of freedom
// (Boost.Math), in [0, 1]. d2 <= 0 gives 1; +Inf or NaN gives 0 (infinitely far). dof < 1 is
// the point mass at 0 (so 0 for any d2 > 0).
double ChiSquaredUpperTail(double d2, int dof);

// J = (N/2)(D log 2pi + log|Sigma| + D), the NLL of N samples at their own MLE, in nats;
// saturated to a finite double.
double NllAtMle(uint64_t count, int dim, double log_det);

// The model of `count` samples whose MLE is (mean, covariance): FAILED_PRECONDITION when
// count <= D (too few samples to span D dimensions), else as GaussianModel::Create.
absl::StatusOr<GaussianModel> FitMle(uint64_t count, absl::Span<const double> mean,
                                     absl::Span<const double> covariance);

// J at the MLE for `count` samples fitted as `model`; nullopt when the fit failed (degenerate).
std::optional<double> NllAtMle(uint64_t count, const absl::StatusOr<GaussianModel>& model);

// The weighted forms, for estimators whose samples carry weights w_i (exponential forgetting).
// Named apart from the counted forms so that an integer literal argument is never ambiguous.
//
// J = (weight_sum/2)(D log 2pi + log|Sigma| + D) = sum w_i s(x_i) at the weighted MLE, in nats;
// saturated to a finite double. For weight_sum = N it is NllAtMle(N, dim, log_det) exactly.
double WeightedNllAtMle(double weight_sum, int dim, double log_det);

// The model of weighted samples whose weighted MLE is (mean, covariance): FAILED_PRECONDITION
// unless effective_count (Kish's (sum w)^2 / sum w^2) exceeds D, else as GaussianModel::Create.
absl::StatusOr<GaussianModel> FitWeightedMle(double effective_count, absl::Span<const double> mean,
                                             absl::Span<const double> covariance);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_MODEL_H_
