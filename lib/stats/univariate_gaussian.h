// Running MLE of a univariate Gaussian: count, mean and M2 = sum (x - mean)^2.
//
// Numerics (DESIGN.md): samples are accumulated relative to a shift (the first sample), so the
// running mean is of values near zero and does not round like plain Welford's. One sample at a
// time uses Welford's update on the shifted value; a block uses two passes (block mean, then
// sum of squared deviations) and merges with Chan's formula. Raw power sums are never kept.
//
// Every accessor returns finite numbers: an empty accumulator reads as zeros (Nll() nullopt), and
// values whose arithmetic overflows (|x| beyond ~1e154) saturate to the largest double.
//
//   UnivariateGaussian g;
//   g.AddBlock(samples);   // fast path: ~0.25 ns per value (bench/README.md)
//   g.Add(x);              // one sample, Welford
//   double var = g.Variance();
//
// Not thread-safe: one owner at a time (the engine's shard lock). 32 bytes of state plus the
// vtable pointer.
#ifndef MLED_LIB_STATS_UNIVARIATE_GAUSSIAN_H_
#define MLED_LIB_STATS_UNIVARIATE_GAUSSIAN_H_

#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "lib/stats/accumulator.h"

namespace mled::stats {

class UnivariateGaussian final : public Accumulator {
 public:
  UnivariateGaussian() = default;

  // Adds one sample (finite; the caller validates): Welford's update on x - shift.
  void Add(double x);
  // Adds a block of samples: two passes over the block (its mean, then its squared deviations
  // from that mean), then the Chan merge into the state. Into an empty accumulator the block's
  // first value becomes the shift. Empty blocks are a no-op.
  void AddBlock(absl::Span<const double> xs);
  // Combines `other` exactly (Chan); `other` may have a different shift, and may be *this.
  void Merge(const UnivariateGaussian& other);
  // Back to the empty state (the window reuses its buckets this way).
  void Clear() { *this = UnivariateGaussian(); }

  double Mean() const;               // 0 when empty
  double Variance() const;           // MLE M2/N; 0 when empty
  double UnbiasedVariance() const;   // M2/(N-1); 0 when N < 2
  double M2() const { return m2_; }  // sum of squared deviations (raw state)
  // J at the MLE, (N/2)(log(2 pi Variance()) + 1); nullopt when degenerate (N <= 1, or zero
  // variance).
  std::optional<double> Nll() const;

  // Accumulator: the cumulative estimator, every sample weighs 1 and times are ignored
  // (effective_count = weight_sum = count). Merge fails (INVALID_ARGUMENT) unless `other` is a
  // UnivariateGaussian. ToState sets the version and the gaussian model, not the stream name or
  // time.
  mled::v1::Estimator kind() const override { return mled::v1::ESTIMATOR_CUMULATIVE; }
  int dim() const override { return 1; }
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
  // ValidateGaussianState (gaussian_state.h) and has dim 1.
  static absl::StatusOr<UnivariateGaussian> FromState(const mled::v1::GaussianState& state);

 private:
  // Chan merge of (n_b, mean_b, m2_b), mean_b already relative to shift_.
  void MergeMoments(uint64_t n_b, double mean_b, double m2_b);

  uint64_t n_ = 0;
  double shift_ = 0;  // the reference value samples are taken relative to
  double mean_ = 0;   // mean of (x - shift_)
  double m2_ = 0;     // sum of squared deviations from the mean
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_UNIVARIATE_GAUSSIAN_H_
