#include "lib/stats/univariate_screen.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace mled::stats {
namespace {

// Rows judged at once by the chunk bound: long enough to amortize its check, short enough that
// a chunk holding an outlier costs little to redo row by row.
constexpr size_t kChunk = 256;
// The bound must stay conservative under rounding: compare against a hair less than the limit.
constexpr double kBoundSlack = 1 - 1e-9;

struct ChunkSums {
  double max_sq = 0;  // max y²
  double sum = 0;     // sum y
  double sum_sq = 0;  // sum y²
};

// Reductions of the deviations y = x - mean0 over `n` values. Eigen's explicit SIMD packets:
// GCC 12 does not vectorize the max of a hand-written loop, and keeps lane arrays in memory.
ChunkSums SumChunk(const double* x, size_t n, double mean0) {
  const auto y = Eigen::Map<const Eigen::ArrayXd>(x, static_cast<Eigen::Index>(n)) - mean0;
  return ChunkSums{.max_sq = y.square().maxCoeff(), .sum = y.sum(), .sum_sq = y.square().sum()};
}

}  // namespace

ScreenResult ScreenWithin(const UnivariateGaussian& model, absl::Span<const double> xs,
                          double mahalanobis2_limit) {
  ScreenResult result;
  const double mean0 = model.Mean();
  const double m2_0 = model.M2();
  double n = static_cast<double>(model.count());
  double p = 0;  // sum of y over the samples before this one
  double q = 0;  // sum of y²
  size_t k = 0;
  bool stopped = false;
  while (k < xs.size() && !stopped) {
    const size_t chunk = std::min(kChunk, xs.size() - k);
    if (chunk == kChunk) {
      // Over the chunk, |x_k - mean_k| <= A + (|P| + chunk·A) / n with A = max |y| (the mean
      // moves by at most that much), and var_k >= M2 / (n + chunk) (M2 only grows). If even
      // that bound is within the limit, every row of the chunk is; only then is it taken whole.
      const double c = static_cast<double>(chunk);
      const ChunkSums sums = SumChunk(xs.data() + k, chunk, mean0);
      const double m2 = m2_0 + q - p * p / n;
      const double deviation = std::sqrt(sums.max_sq) * (1 + c / n) + std::abs(p) / n;
      // (An overflow gives Inf or NaN on one side and fails the test: rows are then judged one
      // by one, where the row test stops at them.)
      const double left = deviation * deviation * (n + c);
      const double right = mahalanobis2_limit * m2 * kBoundSlack;
      if (std::isfinite(left) && std::isfinite(right) && left <= right) {
        p += sums.sum;
        q += sums.sum_sq;
        n += c;
        k += chunk;
        continue;
      }
    }
    // Row by row, exactly.
    for (const size_t end = k + chunk; k < end; ++k) {
      const double y = xs[k] - mean0;
      const double deviation = n * y - p;             // n_k (x_k - mean_k)
      const double spread = n * (m2_0 + q) - p * p;   // n_k² var_k
      // Negated, so that an overflow (NaN) stops the screen: the caller judges that row exactly.
      if (!(deviation * deviation <= mahalanobis2_limit * spread)) {
        stopped = true;
        break;
      }
      p += y;
      q += y * y;
      n += 1;
    }
  }
  result.within = k;
  if (k > 0) {
    // The last accepted sample's terms (n, p, q before it).
    const double y = xs[k - 1] - mean0;
    const double n_last = n - 1;
    const double p_last = p - y;
    const double q_last = q - y * y;
    const double deviation = n_last * y - p_last;
    const double spread = n_last * (m2_0 + q_last) - p_last * p_last;
    result.last_mahalanobis2 = spread > 0 ? deviation * deviation / spread : 0;
    result.last_count = model.count() + k - 1;
    result.last_variance = spread / (n_last * n_last);
  }
  return result;
}

}  // namespace mled::stats
