#include "tools/mlectl/estimate_table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mled::mlectl {
namespace {

// Vectors show at most this many entries.
constexpr size_t kMaxVectorEntries = 4;

enum Column { kStream, kCount, kDim, kMean, kVariance, kUnbiased, kNll, kMeanNll, kColumns };
constexpr std::array<const char*, kColumns> kHeaders = {"STREAM",   "N",        "D",   "MEAN",
                                                        "VAR(MLE)", "VAR(N-1)", "NLL", "MEAN_NLL"};
using Row = std::array<std::string, kColumns>;

// Six significant digits; "-" for what is not a finite number, so NaN never reaches the screen.
std::string Number(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.6g", value) : "-";
}

// One number, or "[a, b, c, ...]" for several.
std::string Vector(const std::vector<double>& values) {
  if (values.size() == 1) return Number(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size() && i < kMaxVectorEntries; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", Number(values[i]));
  }
  absl::StrAppend(&out, values.size() > kMaxVectorEntries ? ", ...]" : "]");
  return out;
}

Row FormatRow(const mled::v1::Estimate& estimate) {
  const size_t dim = std::max<size_t>(estimate.dim(), 1);
  std::vector<double> variance;  // the diagonal of the covariance
  for (size_t i = 0; i < dim && i * dim + i < static_cast<size_t>(estimate.covariance_size());
       ++i) {
    variance.push_back(estimate.covariance(static_cast<int>(i * dim + i)));
  }
  std::vector<double> unbiased;
  if (estimate.count() > 1) {
    const double n = static_cast<double>(estimate.count());
    for (double v : variance) unbiased.push_back(v * n / (n - 1));
  }
  const std::vector<double> mean(estimate.mean().begin(), estimate.mean().end());
  Row row;
  row[kStream] = estimate.stream();
  row[kCount] = absl::StrCat(estimate.count());
  row[kDim] = absl::StrCat(dim);
  row[kMean] = mean.empty() ? "-" : Vector(mean);
  row[kVariance] = variance.empty() ? "-" : Vector(variance);
  row[kUnbiased] = unbiased.empty() ? "-" : Vector(unbiased);
  row[kNll] = estimate.has_nll() ? Number(estimate.nll()) : "degenerate";
  row[kMeanNll] = estimate.has_mean_nll() ? Number(estimate.mean_nll()) : "-";
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
      // Stream names and vectors read best left-aligned; the scalar counts right-aligned.
      const bool right = c == kCount || c == kDim;
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
