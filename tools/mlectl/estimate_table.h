// The text table of estimates that `mlectl subscribe` and `mlectl query` print.
//
//  STREAM  EST     N  N_EFF  D  MEAN    VAR(MLE)  VAR(N-1)  NLL         MEAN_NLL  ANOMALIES  LAST_P
//  cpu     cum  1000   1000  1  0.5012  0.25      0.25025   -175.1      -0.1751           2  0.413
//  net     exp  5231  137.5  1  1250    4100      4130.05   655.2       4.766             0  0.0312
//  pos/1   win     2      2  2  [1, 2]  [0, 0]    [0, 0]    degenerate  -                 0  -
//
// EST is the stream's estimator (cum: every sample, exp: exponential forgetting, win: a sliding
// window; "-" from a daemon that does not say). N counts the samples seen, N_EFF the samples the
// model stands on: N for cum and win, Kish's effective count (Σw)²/Σw² for exp, whole numbers shown
// as such and others with one decimal ("-" from a daemon that does not say). VAR(MLE) is the MLE
// variance σ̂² (for D > 1 the diagonal of Σ̂), VAR(N-1) the unbiased n/(n−1)·σ̂² with n = N_EFF
// (for exponential weights, the reliability-weights correction; "-" for n ≤ 1). A degenerate model
// (no nll in the Estimate) reads "degenerate". ANOMALIES counts the samples flagged since the
// stream began or was reset; LAST_P is the p-value of the latest scored sample ("-" before any). No
// cell ever shows NaN or Inf. Vectors longer than a few entries are cut with "...".
//
// Pure; thread-safe.
#ifndef MLED_TOOLS_MLECTL_ESTIMATE_TABLE_H_
#define MLED_TOOLS_MLECTL_ESTIMATE_TABLE_H_

#include <cstddef>
#include <limits>
#include <string>

#include "absl/types/span.h"
#include "mled/v1/wire.pb.h"

namespace mled::mlectl {

// Formats `rows` in the given order, aligned, with a header line; each line ends in '\n'. Past
// `max_rows` rows it stops with a line "... and N more streams".
std::string FormatEstimateTable(absl::Span<const mled::v1::Estimate* const> rows,
                                size_t max_rows = std::numeric_limits<size_t>::max());

// The same for every estimate of one `Estimates` message.
std::string FormatEstimateTable(const mled::v1::Estimates& estimates,
                                size_t max_rows = std::numeric_limits<size_t>::max());

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_ESTIMATE_TABLE_H_
