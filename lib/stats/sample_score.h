// The anomaly score of one sample under a fitted Gaussian: its NLL and the tail probability of
// its distance, either plug-in (the MLE taken as the truth) or posterior predictive (the MLE's
// own uncertainty folded in).
//
//   GaussianScorer scorer;                                  // gaussian_scorer.h
//   RETURN_IF_ERROR(scorer.Fit(summary));
//   const ScoreModel model = scorer.model(/*posterior_predictive=*/true);
//   const double d2 = scorer.Mahalanobis2(x);
//   const double nll = ScoreNll(model, d2);                 // nats
//   const double p = ScorePValue(model, d2);                // anomaly when p < 1e-3, say
//
// Everything here is a function of (D, n, log|Sigma|, d2) alone, where D is the dimension,
// n the effective sample count of the fit, Sigma the MLE covariance and
// d2 = (x - mu)^T Sigma^-1 (x - mu) the plug-in squared Mahalanobis distance.
//
// Plug-in (DESIGN.md, "The mathematics"): x ~ N(mu, Sigma), so
//   nll = 0.5 (D log 2pi + log|Sigma| + d2),   d2 ~ chi2_D,   p = 1 - F_chi2(d2; D).
// It ignores that mu and Sigma were estimated from n samples: with n = 30, D = 5 a nominal
// p = 1e-3 fires about 20 times as often as it should (tests/stats/predictive_false_alarm_test).
//
// Posterior predictive (noninformative prior): with nu = n - D degrees of freedom, x follows the
// multivariate t with nu dof, location mu and scale Psi = Sigma (n + 1) / (n - D) (Student-t for
// D = 1). Then (x - mu)^T Psi^-1 (x - mu) / nu = d2 / (n + 1), and
//   f = d2 (n - D) / (D (n + 1)) ~ F(D, n - D),   p = 1 - F_F(f; D, n - D)
// exactly when the data are Gaussian (Hotelling's T² = (n - 1)/(n + 1) d2), so a nominal p is
// the real false-alarm rate. The NLL is that of the multivariate t density:
//   nll = -log Gamma((nu + D)/2) + log Gamma(nu/2) + (D/2) log(nu pi)
//         + 0.5 (log|Sigma| + D log((n + 1)/(n - D))) + (n/2) log1p(d2 / (n + 1)).
// As n grows it tends to the plug-in score. It needs n > D:
//   - n <= D (or NaN) is the limit n -> D+, where the predictive spreads over all of space:
//     nll is the largest double and p = 1 for every d2, even an infinite one (no sample is in
//     its tail), Mahalanobis2AtPValue the largest double and Mahalanobis2AtNll 0.
//     GaussianScorer::Fit never yields such a model.
//   - n > kPredictiveAsPlugInCount (including +Inf) is scored as plug-in, which it then equals
//     to 1e-11 relative in p for d2 <= 100 (measured: they differ by at most 0.7 (d2 + D)² / n
//     relatively, for n >= 1e4); Boost's F distribution returns NaN for nu near 1e300.
//
// Special functions come from Boost.Math (chi2, F, gamma ratios), evaluated in double (not
// promoted to long double: 8-10x faster) with errors turned into values, never exceptions.
// Relative accuracy of p is about 1e-13, but for even D with large n the double incomplete beta
// loses about 3e-17 n (3e-8 at n = 1e9), and predictive p-values below about 1e-250 may come
// out as 0; neither matters to a threshold. Every result is finite: what would overflow
// saturates to the largest double (finite.h), probabilities are clamped to [0, 1], and a NaN d2
// counts as infinitely far away (nll the largest double, p = 0). D < 1 is a caller bug, scored
// as infinitely far away too (nll the largest double, p = 0, both inverses 0).
//
// Pure functions; safe from any thread.
#ifndef MLED_LIB_STATS_SAMPLE_SCORE_H_
#define MLED_LIB_STATS_SAMPLE_SCORE_H_

namespace mled::stats {

// Above this effective count the posterior predictive is scored as plug-in (see above).
inline constexpr double kPredictiveAsPlugInCount = 1e15;

// What a score depends on besides d2. GaussianScorer::model() fills it.
struct ScoreModel {
  // D >= 1.
  int dim = 1;
  // n, the number of samples the fit stands on (Summary::effective_count); only the posterior
  // predictive uses it.
  double effective_count = 0;
  // log|Sigma| of the MLE covariance (D = 1: log sigma²), from its Cholesky factor.
  double log_det = 0;
  // Score by the posterior predictive (multivariate t) rather than the plug-in Gaussian.
  bool posterior_predictive = false;
};

// s(x) = -log p(x | model), in nats, of a sample at squared Mahalanobis distance `d2` (plug-in
// d2, both modes). Increasing in d2. d2 < 0 (rounding) counts as 0. Finite; may be negative.
double ScoreNll(const ScoreModel& m, double d2);

// The probability that a sample from the model lies farther than `d2`: 1 - F_chi2(d2; D)
// (plug-in) or 1 - F_F(d2 (n - D)/(D (n + 1)); D, n - D) (predictive). In [0, 1], decreasing
// in d2; d2 <= 0 gives 1, +Inf or NaN gives 0.
double ScorePValue(const ScoreModel& m, double d2);

// The inverse of ScorePValue in d2: the d2 >= 0 whose p-value is `p`, so that (up to rounding)
// ScorePValue(m, d2) < p exactly when d2 > Mahalanobis2AtPValue(m, p). p >= 1 gives 0; p <= 0
// or NaN gives the largest double (nothing is that far); a d2 that would overflow saturates.
double Mahalanobis2AtPValue(const ScoreModel& m, double p);

// The inverse of ScoreNll in d2: the d2 >= 0 whose NLL is `nll`, so that (up to rounding)
// ScoreNll(m, d2) > nll exactly when d2 > Mahalanobis2AtNll(m, nll). An `nll` below the NLL at
// the mode, ScoreNll(m, 0), has no such d2 and gives 0 (every sample scores above it); NaN gives
// the largest double; a d2 that would overflow saturates.
double Mahalanobis2AtNll(const ScoreModel& m, double nll);

// The upper quantile of chi2 with `dof` degrees of freedom: the x with P(X > x) = p, the inverse
// of ChiSquaredUpperTail (gaussian_model.h). p >= 1 or dof < 1 (the point mass at 0) gives 0;
// p <= 0 or NaN gives the largest double. Finite.
double ChiSquaredQuantileUpper(int dof, double p);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_SAMPLE_SCORE_H_
