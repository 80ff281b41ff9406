// The lines mlectl prints for scored samples: an `Anomaly` event (`subscribe --anomalies`) and
// the `RowScore` of a row mled acknowledged (`send --scores`). Each is one line of `key=value`
// words in a fixed order, for people and for scripts alike (--json prints the messages instead).
//
// An anomaly, with its time, stream, rule, x, the mean of the model x was scored against, the
// score s(x) = -log p(x) in nats, the threshold it crossed, the p-value, the squared Mahalanobis
// distance d², for D = 1 also z = sign(x - mean)·sqrt(d²), and the events a cooldown suppressed
// since the previous one:
//
//   2024-05-01 12:00:00.123 anomaly cpu rule=default x=9.5 mean=0.5 score=41.4 threshold=13.1
//       p=2.3e-19 d2=81 z=+9 (+3 suppressed)                                   (one line)
//   2024-05-01 12:00:00.125 anomaly pos/r1 rule=robots x=[1,2,9] mean=[1,2,3] score=22.1
//       threshold=16.3 p=1.5e-08 d2=36
//
// A row score, with the stream and values of the row, then "warm-up" when mled did not score
// it (the stream is warming up, its model is degenerate or its rule does not score), else the
// score, threshold, p-value and d², and "ANOMALY" when the row was flagged:
//
//   cpu x=0.52 warm-up
//   cpu x=0.61 score=0.95 threshold=13.1 p=0.71 d2=0.14
//   cpu x=9.5 score=41.4 threshold=13.1 p=2.3e-19 d2=81 ANOMALY
//
// Values the user sent (x) are written exactly, what mled computed with six significant digits
// and p-values with three (value_text.h); a missing rule or mean reads "-". Nothing is ever NaN.
//
// Pure; thread-safe.
#ifndef MLED_TOOLS_MLECTL_SCORE_LINES_H_
#define MLED_TOOLS_MLECTL_SCORE_LINES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mled/v1/wire.pb.h"

namespace mled::mlectl {

// The anomaly line, without a trailing newline; the time in `zone`.
std::string FormatAnomaly(const mled::v1::Anomaly& anomaly,
                          absl::TimeZone zone = absl::LocalTimeZone());

// One row of an Ingest: a Sample, or one row of a StreamBatch. Views into the Ingest.
struct IngestRow {
  absl::string_view stream;
  absl::Span<const double> values;
};

// The row of `ingest` that `score` names by (index, batch, row). OUT_OF_RANGE when `ingest` has
// no such row (the score does not belong to this message).
absl::StatusOr<IngestRow> FindScoredRow(const mled::v1::Ingest& ingest,
                                        const mled::v1::RowScore& score);

// The row score line, without a trailing newline.
std::string FormatRowScore(const IngestRow& row, const mled::v1::RowScore& score);

// The row score as one line of JSON: the RowScore in the canonical proto3 mapping (json_line.h)
// led by the seq of its Ingest and the row's stream and values, e.g.
//   {"seq":"1","stream":"cpu","x":[9.5],"index":2,"batch":false,"row":0,"scored":true,
//    "score":41.4,"pValue":2.3e-19,"anomaly":true,"threshold":13.1,"mahalanobis2":81}
// A value that is not finite (never in an accepted row) is written as null.
std::string RowScoreJson(uint64_t seq, const IngestRow& row, const mled::v1::RowScore& score);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_SCORE_LINES_H_
