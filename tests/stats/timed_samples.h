// Samples with times for the tests of the estimators that forget (exponential, window), and the
// ways of feeding them in. Test-only.
#ifndef MLED_TESTS_STATS_TIMED_SAMPLES_H_
#define MLED_TESTS_STATS_TIMED_SAMPLES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "tests/stats/reference.h"

namespace mled::stats {

inline constexpr int64_t kSecond = 1'000'000'000;

// Values row after row, one time per row.
struct Timed {
  int dim = 1;
  std::vector<double> rows;
  std::vector<int64_t> times;

  size_t size() const { return times.size(); }
  // Rows [first, first + n).
  absl::Span<const double> Row(size_t first, size_t n = 1) const {
    return absl::MakeConstSpan(rows).subspan(first * static_cast<size_t>(dim),
                                             n * static_cast<size_t>(dim));
  }
  // The samples [0, n).
  std::vector<double> RowsUpTo(size_t n) const {
    return {rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n * static_cast<size_t>(dim))};
  }
  std::vector<int64_t> TimesUpTo(size_t n) const {
    return {times.begin(), times.begin() + static_cast<std::ptrdiff_t>(n)};
  }
  // The latest time of the samples [0, n), n >= 1.
  int64_t LatestOf(size_t n) const {
    return *std::max_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(n));
  }
  void Append(const Timed& more) {
    rows.insert(rows.end(), more.rows.begin(), more.rows.end());
    times.insert(times.end(), more.times.begin(), more.times.end());
  }
};

// n samples about `spacing` apart after `start`, with jitter; about 10% arrive out of order (up
// to `max_lateness` late) and about 20% repeat the previous time, so that AddRows sees runs of
// one time (block paths) as well as single rows. Values: N(offset + 5, 2²) for dim 1, else
// reference::CorrelatedRows around `offset`.
inline Timed RandomTimed(uint64_t seed, int dim, size_t n, int64_t start, int64_t spacing,
                         int64_t max_lateness, double offset = 0) {
  Timed t;
  t.dim = dim;
  t.rows = dim == 1 ? reference::NormalSamples(seed, n, offset + 5.0, 2.0)
                    : reference::CorrelatedRows(seed, n, dim, offset);
  std::mt19937_64 rng(seed * 7919 + 1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int64_t clock = start;
  for (size_t i = 0; i < n; ++i) {
    const double u = unit(rng);
    if (i > 0 && u < 0.2) {
      t.times.push_back(t.times.back());
      continue;
    }
    clock += static_cast<int64_t>(static_cast<double>(spacing) * (0.5 + unit(rng)));
    const int64_t late =
        u > 0.9 ? static_cast<int64_t>(unit(rng) * static_cast<double>(max_lateness)) : 0;
    t.times.push_back(clock - late);
  }
  return t;
}

// Feeds samples [first, last) through AddRows in calls of 1, 2, 7 or 31 rows, each row with its
// own time (so one call may hold several times, in and out of order).
inline void Feed(Accumulator& acc, const Timed& t, size_t first, size_t last) {
  static constexpr size_t kCallSizes[] = {1, 2, 1, 7, 1, 31};
  for (size_t i = first, k = 0; i < last; ++k) {
    const size_t n = std::min(kCallSizes[k % std::size(kCallSizes)], last - i);
    acc.AddRows(t.Row(i, n), RowTimes{absl::MakeConstSpan(t.times).subspan(i, n)});
    i += n;
  }
}

}  // namespace mled::stats

#endif  // MLED_TESTS_STATS_TIMED_SAMPLES_H_
