#include "lib/wire/codes.h"

#include "gtest/gtest.h"
#include "lib/wire/validation.h"

namespace mled::wire {
namespace {

TEST(CodeFromStatusTest, MapsByWhatTheClientCanDo) {
  EXPECT_EQ(CodeFromStatus(absl::InvalidArgumentError("x")), mled::v1::INVALID_ARGUMENT);
  EXPECT_EQ(CodeFromStatus(absl::FailedPreconditionError("x")), mled::v1::DIMENSION_MISMATCH);
  EXPECT_EQ(CodeFromStatus(absl::ResourceExhaustedError("x")), mled::v1::RESOURCE_EXHAUSTED);
  EXPECT_EQ(CodeFromStatus(absl::UnauthenticatedError("x")), mled::v1::UNAUTHENTICATED);
  EXPECT_EQ(CodeFromStatus(absl::PermissionDeniedError("x")), mled::v1::PERMISSION_DENIED);
}

TEST(CodeFromStatusTest, EverythingElseIsInternal) {
  for (absl::Status status :
       {absl::InternalError("x"), absl::UnknownError("x"), absl::NotFoundError("x"),
        absl::UnavailableError("x"), absl::DataLossError("x"), absl::AbortedError("x"),
        absl::OutOfRangeError("x"), absl::DeadlineExceededError("x"), absl::CancelledError("x"),
        absl::AlreadyExistsError("x"), absl::UnimplementedError("x")}) {
    EXPECT_EQ(CodeFromStatus(status), mled::v1::INTERNAL) << status;
  }
}

TEST(CodeFromStatusTest, OkIsUnspecified) {
  EXPECT_EQ(CodeFromStatus(absl::OkStatus()), mled::v1::CODE_UNSPECIFIED);
}

TEST(CodeFromStatusTest, ValidationErrorsGetTheDocumentedCodes) {
  const IngestLimits limits;
  mled::v1::Sample sample;
  sample.set_stream("bad\tname");
  sample.add_x(1.0);
  EXPECT_EQ(CodeFromStatus(ValidateSample(sample, limits)), mled::v1::INVALID_ARGUMENT);
  sample.set_stream("ok");
  sample.clear_x();
  EXPECT_EQ(CodeFromStatus(ValidateSample(sample, limits)), mled::v1::INVALID_ARGUMENT);
  for (int i = 0; i < 300; ++i) sample.add_x(1.0);
  EXPECT_EQ(CodeFromStatus(ValidateSample(sample, limits)), mled::v1::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace mled::wire
