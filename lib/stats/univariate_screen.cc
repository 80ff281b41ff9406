#include "lib/stats/univariate_screen.h"

namespace mled::stats {

ScreenResult ScreenWithin(const UnivariateGaussian& model, absl::Span<const double> xs,
                          double mahalanobis2_limit) {
  ScreenResult result;
  const double mean0 = model.Mean();
  const double m2_0 = model.M2();
  double n = static_cast<double>(model.count());
  double p = 0;  // sum of y over the samples before this one
  double q = 0;  // sum of y²
  size_t k = 0;
  for (; k < xs.size(); ++k) {
    const double y = xs[k] - mean0;
    const double deviation = n * y - p;  // n_k (x_k - mean_k)
    const double spread = n * (m2_0 + q) - p * p;  // n_k² var_k
    if (deviation * deviation > mahalanobis2_limit * spread) break;
    p += y;
    q += y * y;
    n += 1;
  }
  result.within = k;
  if (k > 0) {
    // Recompute the last accepted sample's terms (n, p, q before it).
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
