#include "tools/mlectl/estimate_table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/mlectl/value_text.h"

namespace mled::mlectl {
namespace {

// Vectors show at most this many entries.
constexpr size_t kMaxVectorEntries = 4;

enum Column {
  kStream,
  kEstimator,
  kCount,
  kEffectiveCount,
  kDim,
  kMean,
  kVariance,
  kUnbiased,
  kNll,
  kMeanNll,
  kAnomalies,
  kLastPValue,
  kColumns
};
constexpr std::array<const char*, kColumns> kHeaders = {
    "STREAM",   "EST",      "N",   "N_EFF",    "D",         "MEAN",
    "VAR(MLE)", "VAR(N-1)", "NLL", "MEAN_NLL", "ANOMALIES", "LAST_P"};
using Row = std::array<std::string, kColumns>;

// Counts read best right-aligned; names, kinds and vectors left-aligned.
bool RightAligned(size_t column) {
  return column == kCount || column == kEffectiveCount || column == kDim || column == kAnomalies;
}

// One number, or "[a, b, c, ...]" for several.
std::string Vector(const std::vector<double>& values) {
  if (values.size() == 1) return FormatNumber(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < kMaxVectorEntries; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", FormatNumber(values[i]));
  }
  absl::StrAppend(&out, values.size() > kMaxVectorEntries ? ", ...]" : "]");
  return out;
}

std::string EstimatorName(mled::v1::Estimator estimator) {
  switch (estimator) {
    case mled::v1::ESTIMATOR_CUMULATIVE:
      return "cum";
    case mled::v1::ESTIMATOR_EXPONENTIAL:
      return "exp";
    case mled::v1::ESTIMATOR_WINDOW:
      return "win";
    default:
      return "-";
  }
}

// The samples the model stands on: the daemon's effective count when it reports one, else N.
double EffectiveCount(const mled::v1::Estimate& estimate) {
  const double reported = estimate.effective_count();
  return std::isfinite(reported) && reported > 0 ? reported : static_cast<double>(estimate.count());
}

// A count that may be fractional (Kish's effective count): whole numbers as integers, others
// with one decimal, never in exponent form.
std::string Count(double count) {
  if (!std::isfinite(count) || count < 0) return "-";
  return count == std::floor(count) ? absl::StrFormat("%.0f", count)
                                    : absl::StrFormat("%.1f", count);
}

Row FormatRow(const mled::v1::Estimate& estimate) {
  const size_t dim = std::max<size_t>(estimate.dim(), 1);
  std::vector<double> variance;  // the diagonal of the covariance
  for (size_t i = 0; i < dim && i * dim + i < static_cast<size_t>(estimate.covariance_size());
       ++i) {
    variance.push_back(estimate.covariance(static_cast<int>(i * dim + i)));
  }
  const double n = EffectiveCount(estimate);
  std::vector<double> unbiased;
  if (n > 1) {
    for (double v : variance) unbiased.push_back(v * n / (n - 1));
  }
  const std::vector<double> mean(estimate.mean().begin(), estimate.mean().end());
  Row row;
  row[kStream] = estimate.stream();
  row[kEstimator] = EstimatorName(estimate.estimator());
  row[kCount] = absl::StrCat(estimate.count());
  // Without an estimator or effective count the daemon predates them: nothing to show.
  row[kEffectiveCount] =
      estimate.estimator() == mled::v1::ESTIMATOR_UNSPECIFIED && estimate.effective_count() == 0
          ? "-"
          : Count(n);
  row[kDim] = absl::StrCat(dim);
  row[kMean] = mean.empty() ? "-" : Vector(mean);
  row[kVariance] = variance.empty() ? "-" : Vector(variance);
  row[kUnbiased] = unbiased.empty() ? "-" : Vector(unbiased);
  row[kNll] = estimate.has_nll() ? FormatNumber(estimate.nll()) : "degenerate";
  row[kMeanNll] = estimate.has_mean_nll() ? FormatNumber(estimate.mean_nll()) : "-";
  row[kAnomalies] = absl::StrCat(estimate.anomalies());
  row[kLastPValue] = estimate.has_last_p_value() ? FormatPValue(estimate.last_p_value()) : "-";
  return row;
}

}  // namespace

std::string FormatEstimateTable(absl::Span<const mled::v1::Estimate* const> rows, size_t max_rows) {
  const size_t shown = std::min(rows.size(), max_rows);
  std::vector<Row> cells;
  cells.reserve(shown + 1);
  cells.push_back(Row{});
  std::copy(kHeaders.begin(), kHeaders.end(), cells[0].begin());
  for (size_t i = 0; i < shown; ++i) cells.push_back(FormatRow(*rows[i]));

  std::array<size_t, kColumns> width{};
  for (const Row& row : cells) {
    for (size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const Row& row : cells) {
    std::string line;
    for (size_t c = 0; c < kColumns; ++c) {
      const bool right = RightAligned(c);
      const size_t pad = width[c] - row[c].size();
      if (right) line.append(pad, ' ');
      line += row[c];
      if (c + 1 < kColumns) line.append((right ? 0 : pad) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  if (shown < rows.size()) {
    absl::StrAppend(&out, "... and ", rows.size() - shown, " more streams\n");
  }
  return out;
}

std::string FormatEstimateTable(const mled::v1::Estimates& estimates, size_t max_rows) {
  std::vector<const mled::v1::Estimate*> rows;
  rows.reserve(estimates.estimates_size());
  for (const mled::v1::Estimate& estimate : estimates.estimates()) rows.push_back(&estimate);
  return FormatEstimateTable(rows, max_rows);
}

}  // namespace mled::mlectl
