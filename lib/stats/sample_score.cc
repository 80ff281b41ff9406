#include "lib/stats/sample_score.h"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/complement.hpp>
// GCC 12 warns (-Wmaybe-uninitialized) inside Boost 1.74's F quantile once it is inlined here:
// ibetac_inv always sets the complement `y` it is given, which GCC cannot see.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/math/distributions/fisher_f.hpp>
#pragma GCC diagnostic pop
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>

#include "lib/stats/finite.h"
#include "lib/stats/gaussian_model.h"
#include "lib/stats/math_policy.h"

namespace mled::stats {
namespace {

// Which formula scores `m`.
enum class Mode { kInvalid, kPlugIn, kPredictive, kPredictiveUndefined };

Mode ModeOf(const ScoreModel& m) {
  if (m.dim < 1) return Mode::kInvalid;
  if (!m.posterior_predictive) return Mode::kPlugIn;
  if (!(m.effective_count > m.dim)) return Mode::kPredictiveUndefined;  // NaN included
  if (m.effective_count > kPredictiveAsPlugInCount) return Mode::kPlugIn;
  return Mode::kPredictive;
}

// log[Gamma(a + D/2) / Gamma(a)] - (D/2) log(a) for a > 0, accurately for every a: it tends to 0
// as a grows, while lgamma(a + D/2) - lgamma(a) would lose all its digits to the cancellation of
// two numbers of size a log a. With m = floor(D/2):
//   Gamma(a + m) / Gamma(a) = prod_{k<m} (a + k),  so that part is sum_{k<m} log1p(k / a);
// an odd D adds log[Gamma(a + m + 1/2) / Gamma(a + m)] - (1/2) log(a), whose ratio is Boost's
// tgamma_delta_ratio (no overflow for any a, unlike the gamma functions themselves).
double LogGammaRatioExcess(double a, int dim) {
  const int m = dim / 2;
  double excess = 0;
  for (int k = 1; k < m; ++k) excess += std::log1p(k / a);
  if (dim % 2 != 0) {
    // tgamma_delta_ratio(b, 1/2) = Gamma(b) / Gamma(b + 1/2).
    const double ratio = boost::math::tgamma_delta_ratio(a + m, 0.5, NoThrowPolicy());
    excess += -std::log(ratio) - 0.5 * std::log(a);
  }
  return excess;
}

// The predictive NLL at d2 = 0 (the mode): with nu = n - D and a = nu / 2,
//   -lgamma(a + D/2) + lgamma(a) + (D/2) log(nu pi) + 0.5 (log|Sigma| + D log((n+1)/nu))
// = (D/2) log 2pi + 0.5 log|Sigma| + (D/2) log1p((D+1)/nu) - LogGammaRatioExcess(a, D),
// since (D/2) log(nu pi) - (D/2) log(a) = (D/2) log 2pi. Needs n > D.
double PredictiveNllAtMode(const ScoreModel& m) {
  const double d = m.dim;
  const double nu = m.effective_count - d;
  return 0.5 * (d * kLog2Pi + m.log_det + d * std::log1p((d + 1) / nu)) -
         LogGammaRatioExcess(0.5 * nu, m.dim);
}

double PlugInNllAtMode(const ScoreModel& m) {
  return 0.5 * (static_cast<double>(m.dim) * kLog2Pi + m.log_det);
}

// A probability from Boost (NaN on a domain error) as a p-value: NaN means infinitely far.
double ClampProbability(double p) {
  if (std::isnan(p)) return 0.0;
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace

double ScoreNll(const ScoreModel& m, double d2) {
  if (std::isnan(d2)) return kMaxFinite;
  d2 = std::max(d2, 0.0);
  switch (ModeOf(m)) {
    case Mode::kInvalid:
    case Mode::kPredictiveUndefined:
      return kMaxFinite;
    case Mode::kPlugIn:
      return SaturateToFinite(PlugInNllAtMode(m) + 0.5 * d2);
    case Mode::kPredictive: {
      const double n = m.effective_count;
      return SaturateToFinite(PredictiveNllAtMode(m) + 0.5 * n * std::log1p(d2 / (n + 1)));
    }
  }
  return kMaxFinite;
}

double ScorePValue(const ScoreModel& m, double d2) {
  switch (ModeOf(m)) {
    case Mode::kInvalid:
      return 0.0;
    case Mode::kPredictiveUndefined:
      return 1.0;
    case Mode::kPlugIn:
      return ChiSquaredUpperTail(d2, m.dim);
    case Mode::kPredictive: {
      if (!(d2 > 0)) return std::isnan(d2) ? 0.0 : 1.0;
      if (std::isinf(d2)) return 0.0;
      const double d = m.dim;
      const double n = m.effective_count;
      const double nu = n - d;
      // f = d2 (n - D) / (D (n + 1)) <= d2 / D: no overflow.
      const double f = (d2 / d) * (nu / (n + 1));
      const boost::math::fisher_f_distribution<double, NoThrowPolicy> fisher(d, nu);
      return ClampProbability(boost::math::cdf(boost::math::complement(fisher, f)));
    }
  }
  return 0.0;
}

double Mahalanobis2AtPValue(const ScoreModel& m, double p) {
  const Mode mode = ModeOf(m);
  if (mode == Mode::kInvalid) return 0.0;
  if (!(p > 0)) return kMaxFinite;  // NaN included
  if (p >= 1) return 0.0;
  switch (mode) {
    case Mode::kInvalid:
      return 0.0;
    case Mode::kPredictiveUndefined:
      return kMaxFinite;
    case Mode::kPlugIn:
      return ChiSquaredQuantileUpper(m.dim, p);
    case Mode::kPredictive: {
      const double d = m.dim;
      const double n = m.effective_count;
      const double nu = n - d;
      const boost::math::fisher_f_distribution<double, NoThrowPolicy> fisher(d, nu);
      const double f = boost::math::quantile(boost::math::complement(fisher, p));
      if (std::isnan(f)) return kMaxFinite;
      return SaturateToFinite(std::max(0.0, f * d * ((n + 1) / nu)));
    }
  }
  return 0.0;
}

double Mahalanobis2AtNll(const ScoreModel& m, double nll) {
  const Mode mode = ModeOf(m);
  if (mode == Mode::kInvalid) return 0.0;
  if (std::isnan(nll)) return kMaxFinite;
  switch (mode) {
    case Mode::kInvalid:
    case Mode::kPredictiveUndefined:
      return 0.0;
    case Mode::kPlugIn: {
      // nll = NllAtMode + d2 / 2.
      const double d2 = 2 * (nll - PlugInNllAtMode(m));
      return SaturateToFinite(std::max(0.0, d2));
    }
    case Mode::kPredictive: {
      // nll = NllAtMode + (n/2) log1p(d2 / (n + 1)).
      const double n = m.effective_count;
      const double excess = nll - PredictiveNllAtMode(m);
      if (!(excess > 0)) return 0.0;
      return SaturateToFinite((n + 1) * std::expm1(excess * (2 / n)));
    }
  }
  return 0.0;
}

double ChiSquaredQuantileUpper(int dof, double p) {
  if (!(p > 0)) return kMaxFinite;  // NaN included
  if (p >= 1 || dof < 1) return 0.0;
  const boost::math::chi_squared_distribution<double, NoThrowPolicy> chi2(dof);
  const double x = boost::math::quantile(boost::math::complement(chi2, p));
  if (std::isnan(x)) return kMaxFinite;
  return SaturateToFinite(std::max(0.0, x));
}

}  // namespace mled::stats
