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

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_MODEL_H_
