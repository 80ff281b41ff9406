// The `mled.v1.GaussianState` form of the Gaussian accumulators (proto/mled/v1/state.proto).
//
// Both UnivariateGaussian (D = 1) and MultivariateGaussian keep the same shifted state: count,
// shift vector, mean of (x - shift) and the co-moment sum (x - mean)(x - mean)^T. Writing it and
// checking a record read back from a checkpoint or a peer are shared here, so the two classes
// accept and reject exactly the same records.
//
// Pure functions; safe from any thread.
#ifndef MLED_LIB_STATS_GAUSSIAN_STATE_H_
#define MLED_LIB_STATS_GAUSSIAN_STATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "mled/v1/state.pb.h"

namespace mled::stats {

// The `StreamState.version` this build writes and reads.
inline constexpr uint32_t kStreamStateVersion = 1;

// Sets `state->version` and its `gaussian` model (replacing any other model case). Leaves
// `stream` and `last_time_unix_nano`, which the engine owns, untouched. `comoment` is D×D
// row-major and must be symmetric (the accumulators symmetrize before calling).
void WriteGaussianState(uint64_t count, absl::Span<const double> shift,
                        absl::Span<const double> mean, absl::Span<const double> comoment,
                        mled::v1::StreamState* state);

// OK when `state` is a record the accumulators could have written: dim >= 1; shift and mean of
// dim values and comoment of dim² values, all finite; an empty state (count 0) with zero mean
// and comoment; a symmetric comoment with a nonnegative diagonal. INVALID_ARGUMENT naming the
// first problem otherwise.
absl::Status ValidateGaussianState(const mled::v1::GaussianState& state);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_STATE_H_
