// The weights of the Chan–Golub–LeVeque combination of two moment summaries.
//
// Two summaries (n_a, mean_a, M2_a) and (n_b, mean_b, M2_b) of disjoint samples combine exactly:
//
//   delta = mean_b - mean_a
//   mean  = mean_a + delta * n_b / n
//   M2    = M2_a + M2_b + delta * delta^T * n_a * n_b / n        (n = n_a + n_b)
//
// (Chan, Golub & LeVeque 1979; Schubert & Gertz 2018 for the co-moment form.) The univariate and
// multivariate accumulators apply the formula to scalars and to Eigen vectors; the weights, and
// how they are computed without overflowing n_a * n_b in integers, live here once.
//
// Pure functions; safe from any thread.
#ifndef MLED_LIB_STATS_CHAN_MERGE_H_
#define MLED_LIB_STATS_CHAN_MERGE_H_

#include <cstdint>

namespace mled::stats {

struct ChanWeights {
  double b_fraction;  // n_b / n: how far the mean moves towards mean_b
  double comoment;    // n_a * n_b / n: the weight of delta * delta^T
};

// Weights for merging n_b samples into n_a samples; both counts must be positive.
inline ChanWeights ChanMergeWeights(uint64_t n_a, uint64_t n_b) {
  const double b_fraction = static_cast<double>(n_b) / static_cast<double>(n_a + n_b);
  // n_a * (n_b / n) in floating point: the integer product overflows past 2^32 samples each.
  return {b_fraction, static_cast<double>(n_a) * b_fraction};
}

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_CHAN_MERGE_H_
