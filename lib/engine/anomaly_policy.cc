#include "lib/engine/anomaly_policy.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "lib/stats/gaussian_model.h"

namespace mled::engine {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("anomaly.", field, " ", problem));
}

}  // namespace

absl::StatusOr<AnomalyPolicy> AnomalyPolicy::FromConfig(const mled::v1::AnomalyPolicy& config,
                                                        uint32_t dim) {
  AnomalyPolicy policy;
  if (config.has_enabled()) policy.enabled_ = config.enabled();
  switch (config.threshold_case()) {
    case mled::v1::AnomalyPolicy::kPValue:
      if (!(config.p_value() > 0 && config.p_value() < 1)) {
        return Invalid("p_value", absl::StrCat("= ", config.p_value(),
                                               " must be in (0, 1), e.g. 1e-6"));
      }
      policy.value_ = config.p_value();
      break;
    case mled::v1::AnomalyPolicy::kAbsZ:
      if (!(config.abs_z() > 0) || !std::isfinite(config.abs_z())) {
        return Invalid("abs_z", absl::StrCat("= ", config.abs_z(), " must be > 0, e.g. 5"));
      }
      if (dim != 1) {
        return Invalid("abs_z", "needs a univariate rule: set dim: 1 in the rule, or use "
                                "p_value for streams of several dimensions");
      }
      // |x - mean| / sd > z  ⇔  d² > z²  ⇔  P(chi2_1 > d²) < P(chi2_1 > z²).
      policy.value_ = stats::ChiSquaredUpperTail(config.abs_z() * config.abs_z(), 1);
      if (!(policy.value_ > 0)) {
        return Invalid("abs_z", absl::StrCat("= ", config.abs_z(),
                                             " is beyond double precision (use at most 37)"));
      }
      break;
    case mled::v1::AnomalyPolicy::kNll:
      if (!std::isfinite(config.nll())) return Invalid("nll", "must be a finite number of nats");
      policy.threshold_ = Threshold::kNll;
      policy.value_ = config.nll();
      break;
    case mled::v1::AnomalyPolicy::THRESHOLD_NOT_SET:
      break;
  }
  if (config.has_warmup()) policy.warmup_ = config.warmup();
  if (config.has_update_on_anomaly()) policy.update_on_anomaly_ = config.update_on_anomaly();
  if (config.has_cooldown()) {
    absl::Duration cooldown;
    if (!absl::ParseDuration(config.cooldown(), &cooldown) || cooldown < absl::ZeroDuration()) {
      return Invalid("cooldown", absl::StrCat("= \"", config.cooldown(),
                                              "\" is not a duration >= 0, e.g. 30s"));
    }
    policy.cooldown_ns_ = absl::ToInt64Nanoseconds(cooldown);
  }
  if (config.has_posterior_predictive()) {
    policy.posterior_predictive_ = config.posterior_predictive();
  }
  return policy;
}

double AnomalyPolicy::Mahalanobis2Screen(int dim) const {
  // Below any d², so that every scored sample is judged (even one exactly at the mean).
  if (threshold_ == Threshold::kNll) return -1;
  // The plug-in threshold. The posterior predictive p-value of a sample is never below its
  // plug-in p-value (a heavier tail, evaluated nearer the centre), so it is a safe screen.
  const stats::ScoreModel plug_in{.dim = dim,
                                  .effective_count = 0,
                                  .log_det = 0,
                                  .posterior_predictive = false};
  return stats::Mahalanobis2AtPValue(plug_in, value_);
}

Judgement AnomalyPolicy::Judge(const stats::ScoreModel& model, double mahalanobis2,
                               double screen) const {
  Judgement judgement;
  judgement.score = stats::ScoreNll(model, mahalanobis2);
  judgement.p_value = stats::ScorePValue(model, mahalanobis2);
  if (threshold_ == Threshold::kNll) {
    judgement.threshold = value_;
    judgement.anomaly = judgement.score > value_;
  } else {
    const double threshold_d2 = model.posterior_predictive
                                    ? stats::Mahalanobis2AtPValue(model, value_)
                                    : screen;
    judgement.threshold = stats::ScoreNll(model, threshold_d2);
    judgement.anomaly = judgement.p_value < value_;
  }
  return judgement;
}

}  // namespace mled::engine
