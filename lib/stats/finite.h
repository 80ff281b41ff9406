// Saturation to finite doubles: the last step of every number lib/stats hands out.
//
// DESIGN.md promises that no NaN or Inf ever leaves the daemon. Finite inputs can still overflow
// inside the mathematics (a squared deviation of 1e160 is +Inf; Inf - Inf is NaN), so accessors
// pass their results through `SaturateToFinite` instead of trusting the arithmetic.
//
//   double variance = SaturateToFinite(m2 / n);          // +Inf, NaN -> largest double
//   double mean = SaturateToFinite(shift + m, /*if_nan=*/0.0);
//
// Pure functions; safe from any thread.
#ifndef MLED_LIB_STATS_FINITE_H_
#define MLED_LIB_STATS_FINITE_H_

#include <cmath>
#include <limits>

namespace mled::stats {

inline constexpr double kMaxFinite = std::numeric_limits<double>::max();

// `v` if it is finite; +-Inf become +-kMaxFinite, NaN becomes `if_nan` (by default the largest
// double: for variances, scores and likelihoods NaN means "unbounded").
inline double SaturateToFinite(double v, double if_nan = kMaxFinite) {
  if (std::isnan(v)) return if_nan;
  if (v > kMaxFinite) return kMaxFinite;
  if (v < -kMaxFinite) return -kMaxFinite;
  return v;
}

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_FINITE_H_
