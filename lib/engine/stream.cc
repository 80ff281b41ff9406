#include "lib/engine/stream.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "lib/stats/sample_score.h"
#include "lib/stats/univariate_gaussian.h"
#include "lib/stats/univariate_screen.h"

namespace mled::engine {

Stream::Stream(const StreamRule* rule, uint32_t dim)
    : rule_(rule),
      model_(stats::NewAccumulator(rule->estimator, static_cast<int>(dim))),
      dim_(dim),
      screen_(rule->anomaly.Mahalanobis2Screen(static_cast<int>(dim))) {}

void Stream::SetRule(const StreamRule* rule) {
  rule_ = rule;
  screen_ = rule->anomaly.Mahalanobis2Screen(static_cast<int>(dim_));
}

void Stream::Apply(absl::string_view name, const RowGroup& group, ApplyContext& context) {
  last_time_unix_nano_ = std::max(last_time_unix_nano_, group.latest_time_unix_nano);
  const size_t rows = group.values.size() / dim_;
  if (!rule_->anomaly.enabled()) {
    model_->AddRows(group.values, group.times);
    if (context.scores != nullptr) {
      for (size_t row = 0; row < rows; ++row) AddScore(group, row, nullptr, 0, context);
    }
    return;
  }
  size_t row = 0;
  while (row < rows) {
    const size_t screened = ScreenAndAddBlock(group, row, context);
    row += screened;
    if (row < rows) ScoreAndAddRow(name, group, row++, context);
  }
}

size_t Stream::ScreenAndAddBlock(const RowGroup& group, size_t row, ApplyContext& context) {
  // Only the univariate cumulative model with a d² screen, when no per-row scores are wanted:
  // there the screen decides exactly what the per-row path would.
  if (dim_ != 1 || model_->kind() != mled::v1::ESTIMATOR_CUMULATIVE || screen_ <= 0 ||
      context.scores != nullptr) {
    return 0;
  }
  // NewAccumulator makes a UnivariateGaussian for every cumulative stream of dimension 1.
  auto& model = static_cast<stats::UnivariateGaussian&>(*model_);
  const double warmup = std::max<double>(rule_->anomaly.warmup(), 2);
  if (static_cast<double>(model.count()) < warmup || !(model.M2() > 0)) return 0;
  // A degenerate-by-tolerance model (variance tiny against the values) takes the exact path.
  model.Moments(&context.moments);
  if (!context.ScorerFor(1).Fit(context.moments).ok()) return 0;
  const absl::Span<const double> xs = group.values.subspan(row);
  const stats::ScreenResult screen = stats::ScreenWithin(model, xs, screen_);
  if (screen.within == 0) return 0;
  // One sample (the Sample-per-message case) takes Welford's update; a run, the block update.
  if (screen.within == 1) {
    model.Add(xs[0]);
  } else {
    model.AddBlock(xs.first(screen.within));
  }
  has_last_score_ = true;
  last_mahalanobis2_ = screen.last_mahalanobis2;
  last_spread_ = screen.last_variance;
  last_effective_count_ = static_cast<double>(screen.last_count);
  return screen.within;
}

void Stream::ScoreAndAddRow(absl::string_view name, const RowGroup& group, size_t row,
                            ApplyContext& context) {
  const absl::Span<const double> x = group.values.subspan(row * dim_, dim_);
  const int64_t time = group.times[row];
  const AnomalyPolicy& policy = rule_->anomaly;
  model_->AdvanceTo(time);

  bool scored = false;
  Judgement judgement;
  double mahalanobis2 = 0;
  stats::GaussianScorer& scorer = context.ScorerFor(dim_);
  model_->Moments(&context.moments);
  // The warm-up counts the samples the model stands on. For a forgetting model that is its
  // weight Σw, which decays while time passes (Kish's count, W²/Σw², does not): after a silence,
  // or while a level shift keeps every sample out as an anomaly, the model warms up again
  // instead of judging against a stale fit forever.
  const double standing =
      std::min(context.moments.effective_count, context.moments.weight_sum);
  if (standing >= std::max<double>(policy.warmup(), 1)) {
    if (scorer.Fit(context.moments).ok()) {
      scored = true;
      mahalanobis2 = scorer.Mahalanobis2(x);
      has_last_score_ = true;
      last_mahalanobis2_ = mahalanobis2;
      last_spread_ = dim_ == 1 ? context.moments.covariance[0] : scorer.log_det();
      last_effective_count_ = scorer.effective_count();
      // Below the screen no sample is an anomaly; judge it only when its score is wanted.
      if (mahalanobis2 > screen_ || context.scores != nullptr) {
        judgement = policy.Judge(scorer.model(policy.posterior_predictive()),
                                 mahalanobis2, screen_);
      }
    }
  }
  if (judgement.anomaly) ReportAnomaly(name, x, time, judgement, mahalanobis2, context);
  if (context.scores != nullptr) {
    AddScore(group, row, scored ? &judgement : nullptr, mahalanobis2, context);
  }
  if (!judgement.anomaly || policy.update_on_anomaly()) {
    model_->AddRows(x, group.times.Rows(row, 1));
  }
}

void Stream::ReportAnomaly(absl::string_view name, absl::Span<const double> x, int64_t time,
                           const Judgement& judgement, double mahalanobis2,
                           ApplyContext& context) {
  ++anomalies_;
  ++context.anomaly_count;
  const int64_t cooldown = rule_->anomaly.cooldown_ns();
  if (has_event_ && cooldown > 0) {
    // Sample times may arrive out of order; a cooldown is a distance in time either way. Two
    // int64 times can be up to 2^64 - 1 ns apart, so the distance is taken in uint64 (a signed
    // difference overflows, which is undefined and wrapped far-apart times into the cooldown).
    const uint64_t later = static_cast<uint64_t>(std::max(time, last_event_time_unix_nano_));
    const uint64_t earlier = static_cast<uint64_t>(std::min(time, last_event_time_unix_nano_));
    if (later - earlier < static_cast<uint64_t>(cooldown)) {
      ++suppressed_;
      return;
    }
  }
  if (context.anomalies == nullptr) return;
  mled::v1::Anomaly& anomaly = context.anomalies->emplace_back();
  anomaly.set_stream(std::string(name));
  anomaly.set_time_unix_nano(time);
  anomaly.mutable_x()->Add(x.begin(), x.end());
  anomaly.set_score(judgement.score);
  anomaly.set_p_value(judgement.p_value);
  anomaly.set_threshold(judgement.threshold);
  anomaly.set_mahalanobis2(mahalanobis2);
  anomaly.set_suppressed(suppressed_);
  anomaly.set_rule(rule_->name);
  anomaly.set_effective_count(context.moments.effective_count);
  anomaly.mutable_mean()->Add(context.moments.mean.begin(), context.moments.mean.end());
  suppressed_ = 0;
  has_event_ = true;
  last_event_time_unix_nano_ = time;
}

void Stream::AddScore(const RowGroup& group, size_t row, const Judgement* judgement,
                      double mahalanobis2, ApplyContext& context) const {
  mled::v1::RowScore& score = context.scores->emplace_back();
  score.set_index(group.score_tag);
  score.set_row(group.first_row + static_cast<uint32_t>(row));
  if (judgement == nullptr) return;
  score.set_scored(true);
  score.set_score(judgement->score);
  score.set_p_value(judgement->p_value);
  score.set_anomaly(judgement->anomaly);
  score.set_threshold(judgement->threshold);
  score.set_mahalanobis2(mahalanobis2);
}

void Stream::FillEstimate(absl::string_view name, mled::v1::Estimate* out) const {
  stats::Summary summary;
  model_->Summarize(&summary);
  out->Clear();
  out->set_stream(std::string(name));
  out->set_count(summary.count);
  out->set_dim(static_cast<uint32_t>(summary.dim));
  out->mutable_mean()->Add(summary.mean.begin(), summary.mean.end());
  out->mutable_covariance()->Add(summary.covariance.begin(), summary.covariance.end());
  if (summary.nll.has_value() && summary.weight_sum > 0) {
    out->set_nll(*summary.nll);
    out->set_mean_nll(*summary.nll / summary.weight_sum);
  }
  out->set_last_time_unix_nano(last_time_unix_nano_);
  out->set_anomalies(anomalies_);
  if (has_last_score_) {
    const stats::ScoreModel score_model{.dim = static_cast<int>(dim_),
                                        .effective_count = last_effective_count_,
                                        .log_det = dim_ == 1 ? std::log(last_spread_)
                                                             : last_spread_,
                                        .posterior_predictive =
                                            rule_->anomaly.posterior_predictive()};
    out->set_last_score(stats::ScoreNll(score_model, last_mahalanobis2_));
    out->set_last_p_value(stats::ScorePValue(score_model, last_mahalanobis2_));
  }
  out->set_estimator(model_->kind());
  out->set_effective_count(summary.effective_count);
  out->set_rule(rule_->name);
}

}  // namespace mled::engine
