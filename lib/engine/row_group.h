// RowGroup: the rows of one stream that one ingest message applies, the unit the stream table
// works in (one lock per shard, then one RowGroup per stream).
#ifndef MLED_LIB_ENGINE_ROW_GROUP_H_
#define MLED_LIB_ENGINE_ROW_GROUP_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"

namespace mled::engine {

// Rows of one stream to apply: `values` holds rows·dim valid values, row after row. Views into
// the decoded message; owns nothing.
struct RowGroup {
  absl::string_view stream;
  uint32_t dim = 1;
  absl::Span<const double> values;
  // The time of each row (receipt time for rows that carry none).
  stats::RowTimes times;
  // The latest of `times`.
  int64_t latest_time_unix_nano = 0;
  uint32_t shard = 0;
  // Position of the first row in its Sample or StreamBatch (row numbers of RowScores).
  uint32_t first_row = 0;
  // Copied into RowScore.index of this group's scores, so the caller can map them back.
  uint32_t score_tag = 0;
  // Set by the table: OK, FAILED_PRECONDITION (dimension mismatch) or RESOURCE_EXHAUSTED
  // (table full).
  absl::Status status;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_ROW_GROUP_H_
