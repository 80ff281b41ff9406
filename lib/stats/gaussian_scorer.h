// Measures samples against a Gaussian fitted from a stream's moments: the squared Mahalanobis
// distance d2 and log|Sigma| that the scores of sample_score.h are functions of.
//
//   GaussianScorer scorer;  // one per thread or shard, kept from sample to sample
//   accumulator.Moments(&summary);
//   if (scorer.Fit(summary).ok()) {
//     const ScoreModel model = scorer.model(/*posterior_predictive=*/true);
//     const double p = ScorePValue(model, scorer.Mahalanobis2(x));
//   }
//
// Made for the ingest hot path, where every sample is scored against the model as it stood just
// before the sample, so the model is refit once per sample. It keeps its storage: after the
// first Fit at a given dimension, neither Fit nor Mahalanobis2 allocates. D = 1 needs no
// matrix: d2 = (x - mu)² / sigma², log|Sigma| = log sigma², a few ns per Fit + Mahalanobis2.
// D > 1 factors Sigma with Eigen's LLT (O(D³) per Fit, O(D²) per Mahalanobis2; no explicit
// inverse or determinant) and judges degeneracy by FactorCovariance (gaussian_model.h), so it
// accepts exactly the models GaussianModel::Create accepts.
//
// Not thread-safe, not even the const methods (Mahalanobis2 works in a scratch vector that the
// scorer owns): give each thread or shard its own.
#ifndef MLED_LIB_STATS_GAUSSIAN_SCORER_H_
#define MLED_LIB_STATS_GAUSSIAN_SCORER_H_

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/finite.h"
#include "lib/stats/sample_score.h"

namespace mled::stats {

class GaussianScorer {
 public:
  GaussianScorer() = default;
  GaussianScorer(const GaussianScorer&) = delete;
  GaussianScorer& operator=(const GaussianScorer&) = delete;
  GaussianScorer(GaussianScorer&&) = default;
  GaussianScorer& operator=(GaussianScorer&&) = default;

  // Fits the MLE model of `moments`: its dim, mean, covariance (row-major D×D; only the lower
  // triangle is read) and effective_count; count, weight_sum and nll are not read.
  // INVALID_ARGUMENT when dim < 1, the sizes of mean or covariance disagree with dim, or a
  // value (effective_count included) is not finite; FAILED_PRECONDITION when the model is
  // degenerate: effective_count <= dim, or Sigma not positive definite within
  // kDegenerateTolerance. After an error the scorer is unfitted until the next successful Fit.
  absl::Status Fit(const Summary& moments) {
    return moments.dim == 1 ? FitUnivariate(moments) : FitMultivariate(moments);
  }

  bool fitted() const { return dim_ > 0; }
  // D, or 0 when unfitted.
  int dim() const { return dim_; }
  // n, the effective sample count of the fit (0 when unfitted).
  double effective_count() const { return effective_count_; }
  // log|Sigma| of the MLE covariance in nats (D = 1: log sigma²); 0 when unfitted.
  double log_det() const;

  // d2 = (x - mu)^T Sigma^-1 (x - mu), saturated to a finite double (a non-finite x gives the
  // largest double). An x whose size is not dim(), or an unfitted scorer, is a caller bug; it is
  // measured as infinitely far away (the largest double) rather than read out of bounds.
  double Mahalanobis2(absl::Span<const double> x) const {
    if (dim_ == 1 && x.size() == 1) {
      // (diff / sigma²) * diff rather than diff² / sigma²: diff² overflows for |diff| > 1e154
      // even when d2 does not.
      const double diff = x[0] - mean1_;
      return SaturateToFinite((diff / variance1_) * diff);
    }
    return Mahalanobis2Multivariate(x);
  }

  // (dim, effective_count, log_det) for the functions of sample_score.h. Unfitted, it has dim 0,
  // which they score as infinitely far away.
  ScoreModel model(bool posterior_predictive) const {
    return ScoreModel{dim_, effective_count_, log_det(), posterior_predictive};
  }

 private:
  absl::Status FitUnivariate(const Summary& moments);
  absl::Status FitMultivariate(const Summary& moments);
  // Mahalanobis2 for D > 1 and for the caller's bugs (unfitted, wrong size).
  double Mahalanobis2Multivariate(absl::Span<const double> x) const;

  // 0 while unfitted.
  int dim_ = 0;
  double effective_count_ = 0;
  // D = 1.
  double mean1_ = 0;
  double variance1_ = 1;
  // D > 1.
  double log_det_ = 0;
  Eigen::VectorXd mean_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  mutable Eigen::VectorXd scratch_;
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_SCORER_H_
