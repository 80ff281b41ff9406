// Running MLE of a univariate Gaussian: count, mean and M2 = sum (x - mean)^2.
//
// Numerics (DESIGN.md): samples are accumulated relative to a shift (the first sample), so the
// running mean is of values near zero and does not round like plain Welford's. One sample at a
// time uses Welford's update on the shifted value; a block uses two passes (block mean, then
// sum of squared deviations) and merges with Chan's formula. Raw power sums are never kept.
//
// Not thread-safe. 32 bytes of state.
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

  void Add(double x);
  // Two-pass over the block, then Chan merge. Empty blocks are a no-op.
  void AddBlock(absl::Span<const double> xs);
  void Merge(const UnivariateGaussian& other);

  double Mean() const;              // 0 when empty
  double Variance() const;          // MLE M2/N; 0 when empty
  double UnbiasedVariance() const;  // M2/(N-1); 0 when N < 2
  double M2() const { return m2_; }
  std::optional<double> Nll() const;

  // Accumulator.
  int dim() const override { return 1; }
  uint64_t count() const override { return n_; }
  void AddRows(absl::Span<const double> rows) override;
  absl::Status Merge(const Accumulator& other) override;
  void Summarize(Summary* out) const override;
  absl::StatusOr<GaussianModel> Fit() const override;
  void ToState(mled::v1::StreamState* state) const override;
  std::unique_ptr<Accumulator> Clone() const override;

  static absl::StatusOr<UnivariateGaussian> FromState(const mled::v1::GaussianState& state);

 private:
  uint64_t n_ = 0;
  double shift_ = 0;  // the reference value samples are taken relative to
  double mean_ = 0;   // mean of (x - shift_)
  double m2_ = 0;     // sum of squared deviations from the mean
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_UNIVARIATE_GAUSSIAN_H_
