// Independent reference computations for the stats tests, in long double.
//
// Nothing here shares code with lib/stats: means and (co)variances are the textbook two-pass
// formulas, densities use Gaussian elimination with partial pivoting. Test-only.
#ifndef MLED_TESTS_STATS_REFERENCE_H_
#define MLED_TESTS_STATS_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

namespace mled::stats::reference {

// n samples of N(mean, stddev²), deterministic per seed.
inline std::vector<double> NormalSamples(uint64_t seed, size_t n, double mean, double stddev) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> xs(n);
  for (double& x : xs) x = mean + stddev * normal(rng);
  return xs;
}

// n correlated D-dimensional rows, row after row: x = offset + A z with z standard normal and a
// fixed lower-triangular A (so the covariance A A^T has entries of both signs).
inline std::vector<double> CorrelatedRows(uint64_t seed, size_t n, int dim, double offset) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> rows(n * static_cast<size_t>(dim));
  std::vector<double> z(static_cast<size_t>(dim));
  for (size_t r = 0; r < n; ++r) {
    for (double& v : z) v = normal(rng);
    for (int i = 0; i < dim; ++i) {
      double v = 0;
      for (int j = 0; j <= i; ++j) {
        const double a = (i == j) ? 1.0 + 0.5 * i : 0.3 * ((i + j) % 3 == 0 ? -1 : 1);
        v += a * z[static_cast<size_t>(j)];
      }
      rows[r * static_cast<size_t>(dim) + static_cast<size_t>(i)] = offset + (i + 1) * 10.0 + v;
    }
  }
  return rows;
}

struct Moments {
  size_t count = 0;
  std::vector<long double> mean;        // D
  std::vector<long double> covariance;  // D×D row-major, MLE (divided by N)
};

// Two-pass mean and MLE covariance in long double.
inline Moments TwoPass(const std::vector<double>& rows, int dim) {
  const size_t d = static_cast<size_t>(dim);
  Moments m;
  m.count = rows.size() / d;
  m.mean.assign(d, 0.0L);
  m.covariance.assign(d * d, 0.0L);
  for (size_t r = 0; r < m.count; ++r) {
    for (size_t i = 0; i < d; ++i) m.mean[i] += rows[r * d + i];
  }
  for (long double& v : m.mean) v /= static_cast<long double>(m.count);
  for (size_t r = 0; r < m.count; ++r) {
    for (size_t i = 0; i < d; ++i) {
      for (size_t j = 0; j < d; ++j) {
        m.covariance[i * d + j] += (rows[r * d + i] - m.mean[i]) * (rows[r * d + j] - m.mean[j]);
      }
    }
  }
  for (long double& v : m.covariance) v /= static_cast<long double>(m.count);
  return m;
}

// Solves A v = b (A D×D row-major) by Gaussian elimination with partial pivoting, and returns
// log|det A| alongside. A must be nonsingular.
struct Solved {
  std::vector<long double> v;
  long double log_abs_det = 0;
};
inline Solved Solve(std::vector<long double> a, std::vector<long double> b) {
  const size_t d = b.size();
  long double log_abs_det = 0;
  for (size_t k = 0; k < d; ++k) {
    size_t p = k;
    for (size_t i = k + 1; i < d; ++i) {
      if (std::fabs(a[i * d + k]) > std::fabs(a[p * d + k])) p = i;
    }
    if (p != k) {
      for (size_t j = 0; j < d; ++j) std::swap(a[k * d + j], a[p * d + j]);
      std::swap(b[k], b[p]);
    }
    log_abs_det += std::log(std::fabs(a[k * d + k]));
    for (size_t i = k + 1; i < d; ++i) {
      const long double f = a[i * d + k] / a[k * d + k];
      for (size_t j = k; j < d; ++j) a[i * d + j] -= f * a[k * d + j];
      b[i] -= f * b[k];
    }
  }
  std::vector<long double> v(d);
  for (size_t k = d; k-- > 0;) {
    long double s = b[k];
    for (size_t j = k + 1; j < d; ++j) s -= a[k * d + j] * v[j];
    v[k] = s / a[k * d + k];
  }
  return {std::move(v), log_abs_det};
}

// -log N(x; mean, covariance) and the squared Mahalanobis distance, in long double.
struct Density {
  long double nll = 0;
  long double mahalanobis2 = 0;
  long double log_det = 0;
};
inline Density GaussianNll(const double* x, const std::vector<long double>& mean,
                           const std::vector<long double>& covariance) {
  const size_t d = mean.size();
  std::vector<long double> diff(d);
  for (size_t i = 0; i < d; ++i) diff[i] = x[i] - mean[i];
  const Solved s = Solve(covariance, diff);
  long double d2 = 0;
  for (size_t i = 0; i < d; ++i) d2 += diff[i] * s.v[i];
  const long double log2pi = std::log(2.0L * std::numbers::pi_v<long double>);
  return {0.5L * (static_cast<long double>(d) * log2pi + s.log_abs_det + d2), d2, s.log_abs_det};
}

// Error of a computed mean in units of the standard deviation `sd`, not counting the last
// rounding to double: a mean of 1e9 cannot be closer than half an ulp (6e-8) to the true value.
inline double MeanError(double got, long double ref, long double sd) {
  const long double representable = 2 * std::numeric_limits<double>::epsilon() * std::fabs(ref);
  return static_cast<double>(std::max(0.0L, std::fabs(got - ref) - representable) / sd);
}

// |a - b| / |b|.
inline double RelativeError(long double a, long double b) {
  return static_cast<double>(std::fabs(a - b) / std::fabs(b));
}

// Weighted two-pass moments in long double, for the forgetting estimators: W = sum w,
// W2 = sum w², the weighted mean and the weighted MLE covariance sum w (x - mean)(x - mean)^T / W.
struct WeightedMoments {
  long double weight_sum = 0;
  long double weight_square_sum = 0;
  std::vector<long double> mean;        // D
  std::vector<long double> covariance;  // D×D row-major

  // Kish's (sum w)² / sum w².
  long double effective_count() const { return weight_sum * weight_sum / weight_square_sum; }
};

inline WeightedMoments WeightedTwoPass(const std::vector<double>& rows, int dim,
                                       const std::vector<long double>& weights) {
  const size_t d = static_cast<size_t>(dim);
  const size_t n = rows.size() / d;
  WeightedMoments m;
  m.mean.assign(d, 0.0L);
  m.covariance.assign(d * d, 0.0L);
  for (size_t r = 0; r < n; ++r) {
    m.weight_sum += weights[r];
    m.weight_square_sum += weights[r] * weights[r];
    for (size_t i = 0; i < d; ++i) m.mean[i] += weights[r] * rows[r * d + i];
  }
  for (long double& v : m.mean) v /= m.weight_sum;
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < d; ++i) {
      for (size_t j = 0; j < d; ++j) {
        m.covariance[i * d + j] +=
            weights[r] * (rows[r * d + i] - m.mean[i]) * (rows[r * d + j] - m.mean[j]);
      }
    }
  }
  for (long double& v : m.covariance) v /= m.weight_sum;
  return m;
}

// Exponential-forgetting weights from scratch: 2^(-(reference_time - t) / half_life) per time.
inline std::vector<long double> ExponentialWeights(const std::vector<int64_t>& times,
                                                   int64_t reference_time, int64_t half_life_ns) {
  std::vector<long double> weights;
  weights.reserve(times.size());
  for (int64_t t : times) {
    const long double age = static_cast<long double>(reference_time) - static_cast<long double>(t);
    weights.push_back(std::exp2(-age / static_cast<long double>(half_life_ns)));
  }
  return weights;
}

// Equal weights: the plain two-pass moments in the weighted form (W = W2 = N).
inline WeightedMoments Unweighted(const std::vector<double>& rows, int dim) {
  return WeightedTwoPass(rows, dim,
                         std::vector<long double>(rows.size() / static_cast<size_t>(dim), 1.0L));
}

// J at the MLE, (W/2)(D log 2pi + log|Sigma| + D), with log|Sigma| by Gaussian elimination.
inline long double NllAtMle(const WeightedMoments& m) {
  const size_t d = m.mean.size();
  const long double log_det = Solve(m.covariance, std::vector<long double>(d, 0.0L)).log_abs_det;
  const long double log2pi = std::log(2.0L * std::numbers::pi_v<long double>);
  const long double dl = static_cast<long double>(d);
  return 0.5L * m.weight_sum * (dl * log2pi + log_det + dl);
}

}  // namespace mled::stats::reference

#endif  // MLED_TESTS_STATS_REFERENCE_H_
