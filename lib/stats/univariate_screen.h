// Screening a block of univariate samples for outliers, each against the model of every sample
// before it, without updating the model one sample at a time.
//
// The anomaly scoring contract is sequential: sample k is scored against the MLE of the model's
// samples plus samples 0..k-1 of the block. Welford's update per sample puts a division on
// the running mean's dependency chain; this screen instead keeps prefix sums P_k, Q_k of the
// block's deviations y = x - mean0 from the model's mean at the start, so that before sample k
//   n_k = n0 + k,  mean_k = mean0 + P_k / n_k,  M2_k = M2_0 + Q_k - P_k² / n_k,
// and d²_k = (x_k - mean_k)² / (M2_k / n_k) = (n_k y_k - P_k)² / (n_k (M2_0 + Q_k) - P_k²),
// which is compared with the limit by multiplication only. Deviations from the current mean
// keep P_k small, so the subtraction does not cancel. Most chunks of 256 samples are cleared at
// once by a bound (the largest |y| in the chunk against the smallest variance the model can
// reach within it), computed with vectorizable reductions; only a chunk the bound cannot clear
// is screened sample by sample. The caller then adds the accepted prefix with
// UnivariateGaussian::AddBlock (the state's own stable update); the screen only decides.
//
// Pure; thread-safe for distinct arguments.
#ifndef MLED_LIB_STATS_UNIVARIATE_SCREEN_H_
#define MLED_LIB_STATS_UNIVARIATE_SCREEN_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "lib/stats/univariate_gaussian.h"

namespace mled::stats {

struct ScreenResult {
  // Samples from the front of the block with d² <= the limit.
  size_t within = 0;
  // The last of them: its d², and the count and MLE variance of the model it was scored
  // against (unset when `within` is 0).
  double last_mahalanobis2 = 0;
  uint64_t last_count = 0;
  double last_variance = 0;
};

// Screens `xs` against `model` grown by each sample in turn. Requires a non-degenerate model
// (count() >= 2 and M2() > 0); the screen stops at the first sample whose d² exceeds
// `mahalanobis2_limit`, which is not counted in `within`.
ScreenResult ScreenWithin(const UnivariateGaussian& model, absl::Span<const double> xs,
                          double mahalanobis2_limit);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_UNIVARIATE_SCREEN_H_
