// The text table of estimates that `mlectl subscribe` and `mlectl query` print.
//
//   STREAM    N        D  MEAN         VAR(MLE)     VAR(N-1)     NLL          MEAN_NLL
//   cpu.load  1000     1  0.5012       0.08316      0.08324      -175.1       -0.1751
//   pos/r1    2        3  [1, 2, 3]    [0, 0, 0]    [0, 0, 0]    degenerate   -
//
// VAR(MLE) is the MLE variance σ̂² (for D > 1 the diagonal of Σ̂), VAR(N-1) the unbiased
// n/(n−1)·σ̂² ("-" for n ≤ 1). A degenerate model (no nll in the Estimate) reads "degenerate";
// no cell ever shows NaN or Inf. Vectors longer than a few entries are cut with "...".
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
