// Stateless validation of decoded ingest messages: names, shapes and values.
// What depends on the daemon's state (a stream's fixed dimension, a full table) is checked by
// the engine. Errors are absl::Status with a message that names the cause and the fix; their
// wire `Code` comes from CodeFromStatus (codes.h).
//
// Pure functions; thread-safe.
#ifndef MLED_LIB_WIRE_VALIDATION_H_
#define MLED_LIB_WIRE_VALIDATION_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {

struct IngestLimits {
  uint32_t max_dim = 256;
  uint32_t max_name_bytes = 256;
  double max_abs_value = 1e100;
  // Sample times may be at most this far ahead of the receipt time.
  int64_t max_time_ahead_ns = 3'600'000'000'000;
};

// A name is 1..max_name_bytes bytes of valid UTF-8 with no control characters (C0, DEL, C1).
// INVALID_ARGUMENT otherwise.
absl::Status ValidateStreamName(std::string_view name, const IngestLimits& limits);

// Every value finite and |value| <= max_abs_value. INVALID_ARGUMENT otherwise; the message names
// the first offending position.
absl::Status ValidateValues(absl::Span<const double> values, const IngestLimits& limits);

// A sample time (0 = receipt time, always valid) at most max_time_ahead_ns after
// `receipt_time_unix_nano`. INVALID_ARGUMENT otherwise.
absl::Status ValidateSampleTime(int64_t time_unix_nano, int64_t receipt_time_unix_nano,
                                const IngestLimits& limits);

// A Sample: valid name, 1..max_dim values (more is RESOURCE_EXHAUSTED), all valid values.
absl::Status ValidateSample(const mled::v1::Sample& sample, const IngestLimits& limits);

// The shape of a StreamBatch, which is all-or-nothing: valid name, dim (0 means 1) in
// 1..max_dim (more is RESOURCE_EXHAUSTED), values a non-zero multiple of dim, times empty or one
// per row. Rows are validated one by one by the caller with ValidateValues.
absl::Status ValidateBatchShape(const mled::v1::StreamBatch& batch, const IngestLimits& limits);

// The batch's dimension: dim, or 1 when dim is 0.
inline uint32_t BatchDim(const mled::v1::StreamBatch& batch) {
  return batch.dim() == 0 ? 1 : batch.dim();
}

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_VALIDATION_H_
