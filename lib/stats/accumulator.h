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

namespace mled::stats {

// What the engine publishes of an accumulator. All values are finite.
struct Summary {
  uint64_t count = 0;
  int dim = 0;
  std::vector<double> mean;        // D values
  std::vector<double> covariance;  // D×D row-major MLE (D = 1: the MLE variance)
  // J at the MLE; nullopt when the model is degenerate (N <= D, or Sigma not positive
  // definite within kDegenerateTolerance).
  std::optional<double> nll;
};

class Accumulator {
 public:
  virtual ~Accumulator() = default;

  virtual int dim() const = 0;
  virtual uint64_t count() const = 0;

  // Adds n = rows.size() / dim() samples, row after row. rows.size() must be a positive multiple
  // of dim() and every value finite (the caller validates). One row takes the one-by-one update;
  // several take the block update (two-pass within the block, Chan merge into the state).
  virtual void AddRows(absl::Span<const double> rows) = 0;

  // Combines `other` (same family and dim) into this one exactly (Chan et al.).
  // INVALID_ARGUMENT if the family or dim differ.
  virtual absl::Status Merge(const Accumulator& other) = 0;

  // Fills `out` (reusing its vectors' capacity).
  virtual void Summarize(Summary* out) const = 0;

  // The fitted model for scoring; FAILED_PRECONDITION when degenerate.
  virtual absl::StatusOr<GaussianModel> Fit() const = 0;

  // Writes the state's `version` and its model case; leaves `stream` and `last_time_unix_nano`
  // (the engine's) untouched. AccumulatorFromState reads it back exactly (bit for bit).
  virtual void ToState(mled::v1::StreamState* state) const = 0;
  virtual std::unique_ptr<Accumulator> Clone() const = 0;
};

// A new, empty accumulator for a stream of dimension `dim` (1 <= dim): the univariate Gaussian for
// dim 1, the multivariate one otherwise.
std::unique_ptr<Accumulator> NewGaussianAccumulator(int dim);

// Rebuilds an accumulator from its state, by the model's dim (1: UnivariateGaussian, otherwise
// MultivariateGaussian). INVALID_ARGUMENT for an unknown version, a missing model, or
// inconsistent sizes or values (see ValidateGaussianState in gaussian_state.h).
absl::StatusOr<std::unique_ptr<Accumulator>> AccumulatorFromState(
    const mled::v1::StreamState& state);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_ACCUMULATOR_H_
