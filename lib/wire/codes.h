// The one mapping from absl::Status codes to wire `mled.v1.Code`s.
//
//   kInvalidArgument    -> INVALID_ARGUMENT   (fix the input)
//   kFailedPrecondition -> DIMENSION_MISMATCH (the stream's dimension is fixed by its first sample)
//   kResourceExhausted  -> RESOURCE_EXHAUSTED (a limit was reached)
//   kUnauthenticated    -> UNAUTHENTICATED
//   kPermissionDenied   -> PERMISSION_DENIED
//   kOk                 -> CODE_UNSPECIFIED   (not an error; never put in a Rejection)
//   anything else       -> INTERNAL
//
// MALFORMED_FRAME and FRAME_TOO_LARGE describe frames, not statuses: the codec sets them from
// FrameDecoder::Status and parse failures. Pure function; thread-safe.
#ifndef MLED_LIB_WIRE_CODES_H_
#define MLED_LIB_WIRE_CODES_H_

#include "absl/status/status.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {

mled::v1::Code CodeFromStatus(const absl::Status& status);

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_CODES_H_
