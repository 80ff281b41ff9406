// A fitted Gaussian N(mu, Sigma) used to score new samples (the anomaly score).
//
//   ASSIGN_OR_RETURN(GaussianModel model, accumulator.Fit());
//   SampleScore s = model.Score(x);   // s.nll = -log N(x; mu, Sigma)
//
// The factor comes from Eigen's LLT of Sigma; no explicit inverse or determinant is formed.
// Immutable once built; safe for concurrent use from any thread.
#ifndef MLED_LIB_STATS_GAUSSIAN_MODEL_H_
#define MLED_LIB_STATS_GAUSSIAN_MODEL_H_

#include <Eigen/Cholesky>
#include <Eigen/Core>

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

// Relative tolerance for positive definiteness: Sigma is degenerate when an LLT pivot squared
// is at most kDegenerateTolerance times the largest variance (or that variance is not > 0).
inline constexpr double kDegenerateTolerance = 1e-12;

class GaussianModel {
 public:
  // Builds the model from the MLE mean and covariance (row-major D×D). Returns
  // FAILED_PRECONDITION when Sigma is not positive definite within kDegenerateTolerance,
  // INVALID_ARGUMENT when the sizes disagree or a value is not finite.
  static absl::StatusOr<GaussianModel> Create(absl::Span<const double> mean,
                                              absl::Span<const double> covariance);

  int dim() const { return static_cast<int>(mean_.size()); }
  const Eigen::VectorXd& mean() const { return mean_; }
  // log|Sigma|, from the Cholesky factor.
  double log_det() const { return log_det_; }

  // Scores x (x.size() == dim()). Scores that would overflow are clamped to the largest
  // finite double, so the result is always finite.
  SampleScore Score(absl::Span<const double> x) const;

 private:
  GaussianModel(Eigen::VectorXd mean, Eigen::LLT<Eigen::MatrixXd> llt, double log_det);

  Eigen::VectorXd mean_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  double log_det_ = 0;
};

// Upper tail of the chi-squared distribution with `dof` degrees of freedom at `d2` (Boost.Math).
double ChiSquaredUpperTail(double d2, int dof);

// J = (N/2)(D log 2pi + log|Sigma| + D), the NLL of N samples at their own MLE.
double NllAtMle(uint64_t count, int dim, double log_det);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_MODEL_H_
