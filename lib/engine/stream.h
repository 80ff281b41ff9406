// One stream's model and anomaly state: the estimator its rule chose, the scoring of every new
// sample against the model before it, and the counters an Estimate publishes.
//
// For each row, in order: the model advances to the row's time (a window drops expired buckets,
// an exponential model decays); if the model stands on at least `warmup` samples and is not
// degenerate, the row is scored (d² against the plug-in fit, then judged by the rule's
// AnomalyPolicy); an anomaly is counted and, outside the cooldown, reported as an
// `mled.v1.Anomaly`; finally the row updates the model unless it was an anomaly and the policy
// keeps anomalies out.
//
// The common case, a univariate cumulative stream judged by a p-value, takes a fast path: a
// block of rows is screened against the growing model without per-row updates
// (lib/stats/univariate_screen.h) and the rows under the threshold are added as one block.
//
// Not thread-safe: the stream table's shard lock serializes access.
#ifndef MLED_LIB_ENGINE_STREAM_H_
#define MLED_LIB_ENGINE_STREAM_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "lib/engine/row_group.h"
#include "lib/engine/stream_rules.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/gaussian_scorer.h"
#include "mled/v1/wire.pb.h"

namespace mled::engine {

// Scratch reused across streams of one shard, and where Apply reports. Guarded with the shard.
struct ApplyContext {
  // One scorer per dimension: a scorer's storage is sized by its last fit, so sharing one
  // between streams of different dimensions would reallocate on every scored sample.
  stats::GaussianScorer& ScorerFor(uint32_t dim) { return scorers[dim]; }

  stats::Summary moments;
  absl::flat_hash_map<uint32_t, stats::GaussianScorer> scorers;
  // Anomaly events to publish (appended).
  std::vector<mled::v1::Anomaly>* anomalies = nullptr;
  // Per-row scores, when the ingest asked for them (appended; nullptr: not asked).
  std::vector<mled::v1::RowScore>* scores = nullptr;
  // Anomalies found (including those a cooldown kept from `anomalies`).
  uint64_t anomaly_count = 0;
};

class Stream {
 public:
  // An empty stream of dimension `dim` under `rule` (which must outlive it, see StreamRules).
  Stream(const StreamRule* rule, uint32_t dim);

  uint32_t dim() const { return dim_; }
  const StreamRule& rule() const { return *rule_; }
  const stats::Accumulator& model() const { return *model_; }
  int64_t last_time_unix_nano() const { return last_time_unix_nano_; }

  // Scores and applies the group's rows (group.dim == dim(), values valid), named `name`.
  void Apply(absl::string_view name, const RowGroup& group, ApplyContext& context);

  // Follows `rule` from now on; requires rule->KeepsStateOf(rule(), dim()). The model and
  // counters are kept; the new anomaly policy judges the next sample.
  void SetRule(const StreamRule* rule);

  // Writes the published estimate (everything finite; nll absent when degenerate).
  void FillEstimate(absl::string_view name, mled::v1::Estimate* out) const;

  // The table's change bookkeeping: the shard epoch in which this stream was last listed as
  // changed. Owned by the StreamTable.
  uint64_t listed_epoch = 0;

 private:
  // Scores row `row` of `group` and adds it to the model unless it is kept out.
  void ScoreAndAddRow(absl::string_view name, const RowGroup& group, size_t row,
                      ApplyContext& context);
  // The fast path from `row`: returns how many rows it screened and added (0 when it does not
  // apply, e.g. the model is still warming up).
  size_t ScreenAndAddBlock(const RowGroup& group, size_t row, ApplyContext& context);
  void ReportAnomaly(absl::string_view name, absl::Span<const double> x, int64_t time,
                     const Judgement& judgement, double mahalanobis2, ApplyContext& context);
  void AddScore(const RowGroup& group, size_t row, const Judgement* judgement,
                double mahalanobis2, ApplyContext& context) const;

  const StreamRule* rule_;
  std::unique_ptr<stats::Accumulator> model_;
  uint32_t dim_;
  // The rule's d² screen for this dimension (AnomalyPolicy::Mahalanobis2Screen).
  double screen_;
  int64_t last_time_unix_nano_ = 0;
  uint64_t anomalies_ = 0;
  // Anomalies whose event the cooldown suppressed since the last event.
  uint64_t suppressed_ = 0;
  int64_t last_event_time_unix_nano_ = 0;
  bool has_event_ = false;
  // The latest scored sample, kept as what its score is computed from at publish time: its d²,
  // and its model's effective count and spread (D = 1: the variance, whose log is taken only
  // when published; else log|Sigma|).
  bool has_last_score_ = false;
  double last_mahalanobis2_ = 0;
  double last_spread_ = 1;
  double last_effective_count_ = 0;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STREAM_H_
