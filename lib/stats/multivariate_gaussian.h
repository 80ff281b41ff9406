// Running MLE of a D-dimensional Gaussian: count, mean vector and co-moment matrix
// C = sum (x - mean)(x - mean)^T, so Sigma_hat = C / N.
//
// Same numerics as UnivariateGaussian, per component: a shift vector (the first sample),
// Welford's rank-1 update for one sample, two-pass block sums merged with Chan's formula.
//
// Not thread-safe. O(D^2) doubles of state.
#ifndef MLED_LIB_STATS_MULTIVARIATE_GAUSSIAN_H_
#define MLED_LIB_STATS_MULTIVARIATE_GAUSSIAN_H_

#include <Eigen/Core>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "lib/stats/accumulator.h"

namespace mled::stats {

class MultivariateGaussian final : public Accumulator {
 public:
  explicit MultivariateGaussian(int dim);

  void Add(absl::Span<const double> x);          // x.size() == dim()
  void AddBlock(absl::Span<const double> rows);  // row-major, n * dim() values
  void Merge(const MultivariateGaussian& other);

  Eigen::VectorXd Mean() const;
  Eigen::MatrixXd Covariance() const;          // MLE C/N; zero when empty
  Eigen::MatrixXd UnbiasedCovariance() const;  // C/(N-1); zero when N < 2
  std::optional<double> Nll() const;

  // Accumulator.
  int dim() const override { return dim_; }
  uint64_t count() const override { return n_; }
  void AddRows(absl::Span<const double> rows) override;
  absl::Status Merge(const Accumulator& other) override;
  void Summarize(Summary* out) const override;
  absl::StatusOr<GaussianModel> Fit() const override;
  void ToState(mled::v1::StreamState* state) const override;
  std::unique_ptr<Accumulator> Clone() const override;

  static absl::StatusOr<MultivariateGaussian> FromState(const mled::v1::GaussianState& state);

 private:
  int dim_;
  uint64_t n_ = 0;
  Eigen::VectorXd shift_;
  Eigen::VectorXd mean_;     // mean of (x - shift_)
  Eigen::MatrixXd comoment_;  // full symmetric matrix
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_MULTIVARIATE_GAUSSIAN_H_
