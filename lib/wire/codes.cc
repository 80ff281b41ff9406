#include "lib/wire/codes.h"

namespace mled::wire {

mled::v1::Code CodeFromStatus(const absl::Status& status) {
  // By what the client can do next (codes.h). OK has no wire code: an accepted sample is counted,
  // never reported.
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return mled::v1::CODE_UNSPECIFIED;
    case absl::StatusCode::kInvalidArgument:
      return mled::v1::INVALID_ARGUMENT;
    case absl::StatusCode::kFailedPrecondition:
      return mled::v1::DIMENSION_MISMATCH;
    case absl::StatusCode::kResourceExhausted:
      return mled::v1::RESOURCE_EXHAUSTED;
    case absl::StatusCode::kUnauthenticated:
      return mled::v1::UNAUTHENTICATED;
    case absl::StatusCode::kPermissionDenied:
      return mled::v1::PERMISSION_DENIED;
    default:
      return mled::v1::INTERNAL;
  }
}

}  // namespace mled::wire
