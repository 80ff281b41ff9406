// A D-dimensional Gaussian MLE with exponential forgetting in time: a sample's weight halves with
// every half-life h of sample time that separates it from the newest one.
//
// With t_ref the latest time seen (of a sample, or given to AdvanceTo), a sample of time t weighs
// w = 2^(-(t_ref - t) / h), and the estimate is the weighted MLE:
//
//   W = sum w,   mean = sum w x / W,   Sigma = sum w (x - mean)(x - mean)^T / W
//
// with Kish's effective count n_eff = W^2 / sum w^2 as the number of samples it stands on, and
// J = (W/2)(D log 2pi + log|Sigma| + D) = sum w s(x) as its NLL. At a steady rate of one sample
// every dt, n_eff tends to 2h / (dt ln 2).
//
// Numerics (DESIGN.md): weighted incremental updates (West 1979; Finch 2009, "Incremental
// calculation of weighted mean and variance") on x - shift (the first sample, as in
// UnivariateGaussian), keeping W, W2 = sum w^2, the weighted mean and the co-moment
// C = sum w (x - mean)(x - mean)^T; never decayed raw power sums. Moving t_ref forward by dt scales
// W and C by lambda = 2^(-dt/h) and W2 by lambda^2; the mean does not move. Rows that share a time
// are added as a block (two passes, then the weighted Chan merge).
//
// Out-of-order samples (t < t_ref) do not move t_ref; they enter with their weight < 1. After a
// long enough silence (W below kMinWeightSum, about 332 half-lives) the model is the clean empty
// one (W = 0, n_eff = 0, mean and covariance 0), and the next sample starts it afresh; weights
// never underflow into NaN, Inf or subnormal numbers.
//
//   ExponentialGaussian g(/*dim=*/1, /*half_life_ns=*/absl::ToInt64Nanoseconds(absl::Minutes(10)));
//   g.AddRows(values, RowTimes{times});
//   Summary s;
//   g.Summarize(&s);   // s.effective_count, s.weight_sum, s.nll (weighted)
//
// Not thread-safe: one owner at a time (the engine's shard lock). O(D^2) doubles of state;
// adding samples (one or a block) and AdvanceTo allocate nothing after the constructor.
#ifndef MLED_LIB_STATS_EXPONENTIAL_GAUSSIAN_H_
#define MLED_LIB_STATS_EXPONENTIAL_GAUSSIAN_H_

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "mled/v1/state.pb.h"

namespace mled::stats {

// Below this total weight the model is cleared. Weights are at most 1 and there are at most 2^64
// samples, so W <= 2^64 and W2 >= W^2 / 2^64: above 1e-100, W, W^2 and W2 all stay normal
// doubles (>= ~1e-220) and Kish's count stays accurate. Decaying from W >= 1 to 1e-100 takes at
// least 332 half-lives of silence, after which old samples would weigh nothing next to a new one.
inline constexpr double kMinWeightSum = 1e-100;

class ExponentialGaussian final : public Accumulator {
 public:
  // dim >= 1, half_life_ns >= 1 (ValidateEstimatorSpec checks them for NewAccumulator).
  ExponentialGaussian(int dim, int64_t half_life_ns);

  int64_t half_life_ns() const { return half_life_ns_; }
  // t_ref: the latest time seen (weights are relative to it); INT64_MIN before any.
  int64_t reference_time() const { return reference_time_; }
  double weight_sum() const { return weight_; }          // W
  double weight_square_sum() const { return weight2_; }  // W2

  // Accumulator. AdvanceTo decays; AddRows advances to each row's time that is later than t_ref
  // and adds the row with weight 2^(-(t_ref - t)/h). Merge needs another ExponentialGaussian of
  // the same dim and half-life (INVALID_ARGUMENT otherwise): both are brought to the later t_ref
  // and combined exactly; count() adds up. Moments allocates nothing once `out` has the
  // capacity. ToState writes the `exponential` model case.
  mled::v1::Estimator kind() const override { return mled::v1::ESTIMATOR_EXPONENTIAL; }
  int dim() const override { return dim_; }
  // Samples added since the start, whatever their weight now.
  uint64_t count() const override { return count_; }
  // Kish's W^2 / W2; 0 when W = 0.
  double effective_count() const override;
  void AdvanceTo(int64_t time_unix_nano) override;
  void AddRows(absl::Span<const double> rows, RowTimes times) override;
  absl::Status Merge(const Accumulator& other) override;
  void Moments(Summary* out) const override;
  void Summarize(Summary* out) const override;
  absl::StatusOr<GaussianModel> Fit() const override;
  void ToState(mled::v1::StreamState* state) const override;
  std::unique_ptr<Accumulator> Clone() const override;

  // Rebuilds the accumulator written by ToState. INVALID_ARGUMENT unless: dim >= 1; shift and
  // mean of dim values, comoment of dim² (symmetric, nonnegative diagonal), all finite;
  // half_life_ns > 0; weight_sum and weight_square_sum finite and either both 0 (then mean and
  // comoment are 0) or weight_sum >= kMinWeightSum and weight_square_sum a positive normal double.
  static absl::StatusOr<ExponentialGaussian> FromState(const mled::v1::ExponentialState& state);

 private:
  // Multiplies every weight by lambda in (0, 1]; clears the model when W drops below
  // kMinWeightSum.
  void Decay(double lambda);
  // The weight of a sample of time `time` (advancing t_ref first when it is later): 1, or
  // 2^(-(t_ref - time)/h) for an earlier one.
  double WeightAt(int64_t time);
  // 2^(-elapsed/h).
  double DecayFactor(uint64_t elapsed);
  // One row with weight w: the weighted Welford update.
  void AddOne(const double* x, double w);
  // n rows sharing weight w: two passes over the block, then MergeMoments.
  void AddBlock(const double* rows, int64_t n, double w);
  // Weighted Chan merge of (w_b, w2_b, mean_b relative to shift_), whose co-moment the caller
  // has already added to comoment_ (lower triangle).
  void MergeMoments(double w_b, double w2_b, const double* mean_b);
  // The clean empty-weight state (count_ and t_ref are kept).
  void ClearWeights();
  // Clears the model if W is too small to be represented safely (or 0).
  void CheckWeight();

  int dim_;
  int64_t half_life_ns_;
  // 1/h: a multiply per decay instead of a division (the exponent then carries one more
  // rounding, ~1e-16 relative, far below what the weights need).
  double inverse_half_life_;
  uint64_t count_ = 0;
  int64_t reference_time_ = std::numeric_limits<int64_t>::min();
  double weight_ = 0;         // W = sum w
  double weight2_ = 0;        // W2 = sum w^2
  Eigen::VectorXd shift_;     // the reference value samples are taken relative to
  Eigen::VectorXd mean_;      // weighted mean of (x - shift_)
  Eigen::MatrixXd comoment_;  // sum w (x - mean)(x - mean)^T; only the lower triangle is kept
  // Scratch for the updates (not state), sized once so that no update allocates.
  Eigen::VectorXd delta_;
  Eigen::VectorXd block_mean_;
  // The last decay factor computed and the elapsed time it is for (a cache, not state): at a
  // steady sample rate every step is the same, and exp2 is most of the cost of an update.
  uint64_t cached_elapsed_ = 0;
  double cached_decay_ = 1;
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_EXPONENTIAL_GAUSSIAN_H_
