// Checks of an accumulator's Summary against a long double reference (reference.h), shared by
// the estimator tests. Test-only.
#ifndef MLED_TESTS_STATS_SUMMARY_EXPECT_H_
#define MLED_TESTS_STATS_SUMMARY_EXPECT_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"
#include "lib/stats/accumulator.h"
#include "tests/stats/reference.h"

namespace mled::stats {

// Every number of `s` is finite and its vectors have the sizes of its dim.
inline void ExpectFiniteSummary(const Summary& s) {
  const size_t d = static_cast<size_t>(s.dim);
  EXPECT_EQ(s.mean.size(), d);
  EXPECT_EQ(s.covariance.size(), d * d);
  EXPECT_TRUE(std::isfinite(s.effective_count));
  EXPECT_TRUE(std::isfinite(s.weight_sum));
  for (double v : s.mean) EXPECT_TRUE(std::isfinite(v));
  for (double v : s.covariance) EXPECT_TRUE(std::isfinite(v));
  if (s.nll.has_value()) {
    EXPECT_TRUE(std::isfinite(*s.nll));
  }
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_EQ(s.covariance[i * d + j], s.covariance[j * d + i]);
  }
}

// `s` (from Summarize) against the reference moments of the samples it should hold: the count
// exactly, the rest within `tolerance`: the mean in units of the reference standard deviations,
// the covariance as a relative Frobenius error, W, n_eff and the NLL relatively (the NLL
// relative to max(|J|, W), i.e. per unit weight, as J can cross zero).
inline void ExpectSummaryMatches(const Summary& s, uint64_t count,
                                 const reference::WeightedMoments& ref, double tolerance) {
  ExpectFiniteSummary(s);
  const size_t d = ref.mean.size();
  ASSERT_EQ(static_cast<size_t>(s.dim), d);
  EXPECT_EQ(s.count, count);
  EXPECT_LE(reference::RelativeError(s.weight_sum, ref.weight_sum), tolerance);
  EXPECT_LE(reference::RelativeError(s.effective_count, ref.effective_count()), tolerance);
  long double diff2 = 0;
  long double ref2 = 0;
  for (size_t i = 0; i < d; ++i) {
    const long double sd = std::sqrt(ref.covariance[i * d + i]);
    EXPECT_LE(reference::MeanError(s.mean[i], ref.mean[i], sd), tolerance) << "mean[" << i << "]";
    for (size_t j = 0; j < d; ++j) {
      const long double r = ref.covariance[i * d + j];
      diff2 += (s.covariance[i * d + j] - r) * (s.covariance[i * d + j] - r);
      ref2 += r * r;
    }
  }
  EXPECT_LE(static_cast<double>(std::sqrt(diff2 / ref2)), tolerance) << "covariance";
  ASSERT_TRUE(s.nll.has_value());
  const long double nll = reference::NllAtMle(ref);
  EXPECT_LE(static_cast<double>(std::fabs(*s.nll - nll) / std::max(std::fabs(nll), ref.weight_sum)),
            tolerance)
      << "nll " << *s.nll << " vs " << static_cast<double>(nll);
}

// The clean empty model: no weight, zeros, no NLL, no fit.
inline void ExpectEmptyModel(const Accumulator& acc) {
  Summary s;
  acc.Summarize(&s);
  ExpectFiniteSummary(s);
  EXPECT_EQ(s.effective_count, 0);
  EXPECT_EQ(s.weight_sum, 0);
  EXPECT_EQ(acc.effective_count(), 0);
  for (double v : s.mean) EXPECT_EQ(v, 0);
  for (double v : s.covariance) EXPECT_EQ(v, 0);
  EXPECT_FALSE(s.nll.has_value());
  EXPECT_EQ(acc.Fit().status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace mled::stats

#endif  // MLED_TESTS_STATS_SUMMARY_EXPECT_H_
