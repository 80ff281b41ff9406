// The accumulator interface: running sufficient statistics of one stream.
//
// Every model family (today the Gaussian; later Poisson, exponential, ...) implements it, so the
// engine stores any of them behind one pointer and publishes them the same way. Accumulators are
// mergeable (two accumulators of the same stream combine exactly) and serializable to
// `mled.v1.StreamState`.
//
// Not thread-safe: the owner (the engine's shard) serializes access.
#ifndef MLED_LIB_STATS_ACCUMULATOR_H_
#define MLED_LIB_STATS_ACCUMULATOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/stats/gaussian_model.h"
#include "mled/v1/state.pb.h"
#include "mled/v1/wire.pb.h"

namespace mled::stats {

// The time of each row given to AddRows, in Unix nanoseconds: `times[i]`, where 0 (or an empty
// `times`) means `receipt`, the time the daemon received the row. Views; owns nothing.
struct RowTimes {
  absl::Span<const int64_t> times;
  int64_t receipt = 0;

  int64_t operator[](size_t row) const {
    if (times.empty()) return receipt;
    const int64_t time = times[row];
    return time == 0 ? receipt : time;
  }
  // The times of rows [first, first + count).
  RowTimes Rows(size_t first, size_t count) const {
    return RowTimes{times.empty() ? times : times.subspan(first, count), receipt};
  }
};

// What the engine publishes of an accumulator. All values are finite.
struct Summary {
  // Samples in the model: every sample since the start (cumulative, exponential) or the
  // samples in the live buckets (window).
  uint64_t count = 0;
  // The samples the model stands on: `count`, or Kish's (sum w)^2 / sum w^2 for weighted
  // (exponential) models. Warm-up and the posterior predictive score use it.
  double effective_count = 0;
  // sum w: `count` for unweighted models. nll is the weighted NLL sum w_i s_i at the MLE.
  double weight_sum = 0;
  int dim = 0;
  std::vector<double> mean;        // D values
  std::vector<double> covariance;  // D×D row-major MLE (D = 1: the MLE variance)
  // J at the MLE, (weight_sum / 2)(D log 2pi + log|Sigma| + D); nullopt when the model is
  // degenerate (effective_count <= D, or Sigma not positive definite within
  // kDegenerateTolerance). Moments() leaves it nullopt.
  std::optional<double> nll;
};

class Accumulator {
 public:
  virtual ~Accumulator() = default;

  // Which estimator this is (how it weighs samples).
  virtual mled::v1::Estimator kind() const = 0;
  virtual int dim() const = 0;
  // Summary::count.
  virtual uint64_t count() const = 0;
  // Summary::effective_count.
  virtual double effective_count() const = 0;

  // Moves the model's clock to `time_unix_nano` when that is later than every time it has seen:
  // the exponential estimator decays, the window expires old buckets; the cumulative one does
  // nothing. The engine calls it before scoring a sample, so the sample is scored against the
  // model as of its own time. Earlier times are a no-op.
  virtual void AdvanceTo(int64_t time_unix_nano) { (void)time_unix_nano; }

  // Adds n = rows.size() / dim() samples, row after row, row i at time times[i] (estimators
  // that forget advance to it first; the cumulative one ignores times). rows.size() must be a
  // positive multiple of dim() and every value finite (the caller validates). One row takes the
  // one-by-one update; several take the block update where the estimator has one.
  virtual void AddRows(absl::Span<const double> rows, RowTimes times) = 0;

  // Combines `other` (same kind, dim and parameters) into this one exactly (Chan et al.).
  // INVALID_ARGUMENT if they differ.
  virtual absl::Status Merge(const Accumulator& other) = 0;

  // Fills `out` (reusing its vectors' capacity) with everything but `nll`, which it resets:
  // cheap enough to call before every scored sample.
  virtual void Moments(Summary* out) const = 0;

  // Moments plus the NLL at the MLE.
  virtual void Summarize(Summary* out) const = 0;

  // The fitted (plug-in) model; FAILED_PRECONDITION when degenerate.
  virtual absl::StatusOr<GaussianModel> Fit() const = 0;

  // Writes the state's `version` and its model case; leaves `stream` and `last_time_unix_nano`
  // (the engine's) untouched. AccumulatorFromState reads it back exactly (bit for bit).
  virtual void ToState(mled::v1::StreamState* state) const = 0;
  virtual std::unique_ptr<Accumulator> Clone() const = 0;
};

// A new, empty accumulator for a stream of dimension `dim` (1 <= dim): the univariate Gaussian for
// dim 1, the multivariate one otherwise.
std::unique_ptr<Accumulator> NewGaussianAccumulator(int dim);

// Which estimator a stream gets, and its parameters (a stream rule's `estimator`, with durations
// in nanoseconds). Only the fields of `kind` matter; the others should be 0, so that == compares
// estimators (a reloaded rule keeps a stream's state only if its spec is unchanged).
struct EstimatorSpec {
  mled::v1::Estimator kind = mled::v1::ESTIMATOR_CUMULATIVE;
  int64_t half_life_ns = 0;  // exponential: > 0
  int64_t window_ns = 0;     // window: >= buckets, so that a bucket is >= 1 ns wide
  uint32_t buckets = 0;      // window: 1 ..= kMaxWindowBuckets (window_gaussian.h)

  bool operator==(const EstimatorSpec&) const = default;
};

// OK when NewAccumulator can build `spec`; INVALID_ARGUMENT naming the problem otherwise
// (ESTIMATOR_UNSPECIFIED, a half-life <= 0, a window shorter than its bucket count, too many
// buckets).
absl::Status ValidateEstimatorSpec(const EstimatorSpec& spec);

// A new, empty accumulator of `spec` for a stream of dimension `dim` (1 <= dim): cumulative is
// NewGaussianAccumulator(dim), exponential an ExponentialGaussian, window a WindowGaussian.
// `spec` must pass ValidateEstimatorSpec (config loading checks it); an invalid spec is a caller
// bug and gives nullptr.
std::unique_ptr<Accumulator> NewAccumulator(const EstimatorSpec& spec, int dim);

// Rebuilds an accumulator from its state, by the model case: `gaussian` by its dim (1:
// UnivariateGaussian, otherwise MultivariateGaussian), `exponential` an ExponentialGaussian,
// `window` a WindowGaussian. INVALID_ARGUMENT for an unknown version, a missing model, or
// inconsistent sizes or values (see ValidateGaussianState in gaussian_state.h and the classes'
// FromState).
absl::StatusOr<std::unique_ptr<Accumulator>> AccumulatorFromState(
    const mled::v1::StreamState& state);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_ACCUMULATOR_H_
