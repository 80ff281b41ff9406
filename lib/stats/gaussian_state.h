// The `mled.v1.GaussianState` form of the Gaussian accumulators (proto/mled/v1/state.proto).
//
// Both UnivariateGaussian (D = 1) and MultivariateGaussian keep the same shifted state: count,
// shift vector, mean of (x - shift) and the co-moment sum (x - mean)(x - mean)^T. Writing it and
// checking a record read back from a checkpoint or a peer are shared here, so the two classes
// accept and reject exactly the same records. The window's buckets are GaussianStates too, and
// the exponential state shares the moment checks (ValidateMoments).
//
// Pure functions; safe from any thread.
#ifndef MLED_LIB_STATS_GAUSSIAN_STATE_H_
#define MLED_LIB_STATS_GAUSSIAN_STATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/repeated_field.h"
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

// The checks every shifted-moment record shares (GaussianState, ExponentialState): shift and mean
// of `dim` values and comoment of dim² values, all finite; a zero mean and comoment when `empty`
// (no samples, or no weight); a symmetric comoment with a nonnegative diagonal. Messages start
// with `record` ("gaussian state") and name `empty_field` ("count") as the reason a record is
// empty. `dim` must be >= 1 (the caller checks it first).
absl::Status ValidateMoments(absl::string_view record, absl::string_view empty_field, uint64_t dim,
                             const google::protobuf::RepeatedField<double>& shift,
                             const google::protobuf::RepeatedField<double>& mean,
                             const google::protobuf::RepeatedField<double>& comoment, bool empty);

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_GAUSSIAN_STATE_H_
