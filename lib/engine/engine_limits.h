// The engine's explicit limits, each configurable (config `limits { ... }` or a flag of the same
// name) and each enforced with a clear rejection.
#ifndef MLED_LIB_ENGINE_ENGINE_LIMITS_H_
#define MLED_LIB_ENGINE_ENGINE_LIMITS_H_

#include <cstdint>

#include "lib/wire/validation.h"

namespace mled::engine {

struct EngineLimits {
  // Streams the table may hold; a new stream beyond it is RESOURCE_EXHAUSTED.
  uint64_t max_streams = 1'000'000;
  // Name, dimension and value limits checked on every sample.
  wire::IngestLimits ingest;
  // Most estimates in one Query answer.
  uint32_t max_query_streams = 10'000;
  // Rejection entries listed in one Ack; the counts are never capped.
  uint32_t max_rejections_per_ack = 100;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_ENGINE_LIMITS_H_
