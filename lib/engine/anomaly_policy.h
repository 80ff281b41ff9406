// An anomaly policy: when a scored sample is an anomaly, and what happens then.
//
// Built once per stream rule from `mled.v1.AnomalyPolicy` (config.proto), validated, with the
// defaults of the issue that introduced it: p-value 1e-6, warm-up 30, anomalies do not update
// the model, no cooldown, plug-in scores. The threshold may be given three ways; all three are
// judged on the sample's squared Mahalanobis distance d² and the model it was scored against
// (lib/stats/sample_score.h), so the plug-in and posterior predictive scores share one path:
//   p_value p:  anomaly when the sample's tail probability is below p;
//   abs_z z:    the same with p = P(|Z| > z) (D = 1 only); for the plug-in score exactly
//               |x - mean| / sd > z;
//   nll T:      anomaly when the score s(x) = -log p(x | model) exceeds T nats.
//
// Immutable once built; safe for concurrent use.
#ifndef MLED_LIB_ENGINE_ANOMALY_POLICY_H_
#define MLED_LIB_ENGINE_ANOMALY_POLICY_H_

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"
#include "lib/stats/sample_score.h"
#include "mled/v1/config.pb.h"

namespace mled::engine {

// The outcome of scoring one sample, all finite.
struct Judgement {
  bool anomaly = false;
  double score = 0;      // s(x), nats
  double p_value = 1;
  double threshold = 0;  // the score at which x would be an anomaly (nats)
};

class AnomalyPolicy {
 public:
  enum class Threshold { kPValue, kNll };

  // Scoring on with every default.
  AnomalyPolicy() = default;

  // Validates `config`: p_value in (0, 1), abs_z > 0 and finite (then `dim` must be 1), nll
  // finite, cooldown a duration >= 0. `dim` is the rule's expected dimension (0: any).
  // INVALID_ARGUMENT naming the field otherwise.
  static absl::StatusOr<AnomalyPolicy> FromConfig(const mled::v1::AnomalyPolicy& config,
                                                  uint32_t dim);

  bool enabled() const { return enabled_; }
  uint32_t warmup() const { return warmup_; }
  bool update_on_anomaly() const { return update_on_anomaly_; }
  int64_t cooldown_ns() const { return cooldown_ns_; }
  bool posterior_predictive() const { return posterior_predictive_; }

  // The d² above which a sample of a `dim`-dimensional stream may be an anomaly: for the
  // plug-in score with a p-value threshold, exactly the threshold (d² > it ⇔ anomaly); for the
  // posterior predictive score a lower bound (its tail is heavier, so no sample under it is an
  // anomaly); -1 for an NLL threshold (every sample must be judged). Computed once per stream,
  // so the hot path compares d² with it and judges fully only the rare samples above it.
  double Mahalanobis2Screen(int dim) const;

  // Judges a sample at distance d² from `model`; `screen` is Mahalanobis2Screen(model.dim),
  // which for the plug-in score is the threshold d² itself (so no quantile per sample).
  Judgement Judge(const stats::ScoreModel& model, double mahalanobis2, double screen) const;

  // True when two policies judge every sample alike.
  bool operator==(const AnomalyPolicy& other) const = default;

 private:
  bool enabled_ = true;
  Threshold threshold_ = Threshold::kPValue;
  double value_ = 1e-6;  // p-value or NLL, by threshold_
  uint32_t warmup_ = 30;
  bool update_on_anomaly_ = false;
  int64_t cooldown_ns_ = 0;
  bool posterior_predictive_ = false;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_ANOMALY_POLICY_H_
