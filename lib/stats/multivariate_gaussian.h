// Running MLE of a D-dimensional Gaussian: count, mean vector and co-moment matrix
// C = sum (x - mean)(x - mean)^T, so Sigma_hat = C / N.
//
// Same numerics as UnivariateGaussian, per component: a shift vector (the first sample),
// Welford's rank-1 update for one sample, two-pass block sums merged with Chan's formula. Only
// the lower triangle of C is updated (symmetric rank-1 / rank-k updates); readers get the full
// symmetric matrix. Accessors return finite numbers: zeros when empty, saturated on overflow.
//
//   MultivariateGaussian g(3);
//   g.AddBlock(rows);            // n rows of 3 values, row after row
//   Eigen::MatrixXd sigma = g.Covariance();
//
// Not thread-safe: one owner at a time (the engine's shard lock). O(D^2) doubles of state; Add
// and Merge (with another accumulator) do not allocate, AddBlock allocates one n×D scratch
// matrix.
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
  explicit MultivariateGaussian(int dim);  // dim >= 1

  // One sample, x.size() == dim(), finite (the caller validates): Welford on x - shift.
  void Add(absl::Span<const double> x);
  // n = rows.size() / dim() samples, row after row (rows.size() a multiple of dim()): block mean,
  // then the co-moment of the deviations from it, Chan-merged into the state. Into an empty
  // accumulator the block's first row becomes the shift. An empty block is a no-op.
  void AddBlock(absl::Span<const double> rows);
  // Combines `other` (same dim) exactly (Chan); it may have another shift, and may be *this.
  void Merge(const MultivariateGaussian& other);
  // Back to the empty state, keeping its storage (the window reuses its buckets this way).
  void Clear();

  Eigen::VectorXd Mean() const;                // zero when empty
  Eigen::MatrixXd Covariance() const;          // MLE C/N, symmetric; zero when empty
  Eigen::MatrixXd UnbiasedCovariance() const;  // C/(N-1); zero when N < 2
  // J at the MLE; nullopt when degenerate (N <= D, or Sigma not positive definite within
  // kDegenerateTolerance).
  std::optional<double> Nll() const;

  // Accumulator: the cumulative estimator, every sample weighs 1 and times are ignored
  // (effective_count = weight_sum = count). Merge fails (INVALID_ARGUMENT) unless `other` is a
  // MultivariateGaussian of the same dim. ToState sets the version and the gaussian model, not
  // the stream name or time. Moments allocates nothing once `out` has the capacity.
  mled::v1::Estimator kind() const override { return mled::v1::ESTIMATOR_CUMULATIVE; }
  int dim() const override { return dim_; }
  uint64_t count() const override { return n_; }
  double effective_count() const override { return static_cast<double>(n_); }
  void AddRows(absl::Span<const double> rows, RowTimes times) override;
  absl::Status Merge(const Accumulator& other) override;
  void Moments(Summary* out) const override;
  void Summarize(Summary* out) const override;
  absl::StatusOr<GaussianModel> Fit() const override;
  void ToState(mled::v1::StreamState* state) const override;
  std::unique_ptr<Accumulator> Clone() const override;

  // Rebuilds the accumulator written by ToState. INVALID_ARGUMENT unless the state passes
  // ValidateGaussianState (gaussian_state.h).
  static absl::StatusOr<MultivariateGaussian> FromState(const mled::v1::GaussianState& state);

 private:
  // Chan merge of n_b samples whose mean (relative to shift_) minus mean_ the caller has put in
  // delta_, and whose co-moment it has already added to comoment_.
  void MergeDelta(uint64_t n_b);
  // The full symmetric comoment_ / divisor, saturated to finite values.
  Eigen::MatrixXd ScaledComoment(double divisor) const;

  int dim_;
  uint64_t n_ = 0;
  Eigen::VectorXd shift_;
  Eigen::VectorXd mean_;      // mean of (x - shift_)
  Eigen::MatrixXd comoment_;  // sum (x - mean)(x - mean)^T; only the lower triangle is kept
  Eigen::VectorXd delta_;     // scratch for Add and merges (not state): no allocation per sample
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_MULTIVARIATE_GAUSSIAN_H_
