#include "lib/stats/window_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "lib/stats/accumulator.h"
#include "lib/stats/exponential_gaussian.h"
#include "tests/stats/reference.h"
#include "tests/stats/summary_expect.h"
#include "tests/stats/timed_samples.h"

namespace mled::stats {
namespace {

using reference::RelativeError;

// The bucket of time t, floor(t / width), written independently of the class: truncate, then
// step down for negative non-multiples.
int64_t Bucket(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t < 0 && q * width != t) --q;
  return q;
}

// The samples [0, n) of `t` that a window of `buckets` buckets of `width` ns holds when its
// latest time is `latest`: those whose bucket is one of the last `buckets` up to latest's.
Timed LiveSamples(const Timed& t, size_t n, int64_t latest, int64_t width, int64_t buckets) {
  const int64_t oldest = Bucket(latest, width) - buckets + 1;
  Timed live;
  live.dim = t.dim;
  for (size_t i = 0; i < n; ++i) {
    if (Bucket(t.times[i], width) >= oldest) {
      live.rows.insert(live.rows.end(), t.Row(i).begin(), t.Row(i).end());
      live.times.push_back(t.times[i]);
    }
  }
  return live;
}

void ExpectMatchesLive(const Accumulator& acc, const Timed& live, double tolerance) {
  Summary s;
  acc.Summarize(&s);
  EXPECT_EQ(acc.count(), live.size());
  EXPECT_EQ(acc.effective_count(), static_cast<double>(live.size()));
  ExpectSummaryMatches(s, live.size(), reference::Unweighted(live.rows, live.dim), tolerance);
}

TEST(WindowGaussianTest, BucketIndexIsFloorDivisionFromTheEpoch) {
  const WindowGaussian g(1, 100, 10);  // 10 ns buckets
  EXPECT_EQ(g.bucket_ns(), 10);
  EXPECT_EQ(g.BucketIndex(0), 0);
  EXPECT_EQ(g.BucketIndex(9), 0);
  EXPECT_EQ(g.BucketIndex(10), 1);
  EXPECT_EQ(g.BucketIndex(-1), -1);
  EXPECT_EQ(g.BucketIndex(-10), -1);
  EXPECT_EQ(g.BucketIndex(-11), -2);
  EXPECT_EQ(g.BucketIndex(std::numeric_limits<int64_t>::min()),
            std::numeric_limits<int64_t>::min() / 10 - 1);
  // A length that is not a multiple of the bucket count rounds the width down.
  EXPECT_EQ(WindowGaussian(1, 109, 10).bucket_ns(), 10);
}

TEST(WindowGaussianTest, MatchesReferenceOverTheLiveBuckets) {
  for (int dim : {1, 3}) {
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " seed " << seed);
      const int64_t window = 10 * kSecond;
      const uint32_t buckets = 10;
      // ~50 s of samples ~10 ms apart, some up to 12 s late (so some are dropped), starting
      // before the epoch for seed 3 (negative times, floor buckets).
      const int64_t start = seed == 3 ? -25 * kSecond : 1'700'000'000 * kSecond;
      const Timed t = RandomTimed(seed, dim, 5000, start, kSecond / 100, 12 * kSecond,
                                  1e3 * static_cast<double>(seed));
      WindowGaussian g(dim, window, buckets);
      size_t done = 0;
      for (size_t checkpoint : {size_t{30}, size_t{999}, size_t{2500}, size_t{5000}}) {
        Feed(g, t, done, checkpoint);
        done = checkpoint;
        EXPECT_EQ(g.latest_time(), t.LatestOf(done));
        ExpectMatchesLive(g, LiveSamples(t, done, t.LatestOf(done), kSecond, buckets), 1e-9);
        Summary m;
        Summary s;
        g.Moments(&m);
        g.Summarize(&s);
        EXPECT_EQ(m.mean, s.mean);
        EXPECT_EQ(m.covariance, s.covariance);
        EXPECT_FALSE(m.nll.has_value());
      }
      // Moving the clock on expires buckets one by one.
      for (int64_t later = t.LatestOf(done) + kSecond / 2; g.count() > 0; later += kSecond) {
        g.AdvanceTo(later);
        const Timed live = LiveSamples(t, done, later, kSecond, buckets);
        if (live.size() > static_cast<size_t>(dim) + 1) {
          ExpectMatchesLive(g, live, 1e-9);
        } else {
          EXPECT_EQ(g.count(), live.size());
        }
      }
      ExpectEmptyModel(g);
    }
  }
}

TEST(WindowGaussianTest, RowsSharingOneTimeGoInAsOneBlock) {
  WindowGaussian g(2, 10 * kSecond, 5);
  const std::vector<double> rows = reference::CorrelatedRows(4, 1000, 2, 1e9);
  g.AddRows(absl::MakeConstSpan(rows).subspan(0, 1000), RowTimes{{}, 3 * kSecond});
  g.AddRows(absl::MakeConstSpan(rows).subspan(1000), RowTimes{{}, 4 * kSecond});
  Timed all;
  all.dim = 2;
  all.rows = rows;
  all.times.assign(500, 3 * kSecond);
  all.times.resize(1000, 4 * kSecond);
  ExpectMatchesLive(g, all, 1e-9);
}

TEST(WindowGaussianTest, ExpiredBucketsLeaveTheEstimateWhole) {
  // Five 1 s buckets; samples in seconds 0..4, bucket b holding 10 (b + 1) samples.
  WindowGaussian g(1, 5 * kSecond, 5);
  Timed t;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int b = 0; b < 5; ++b) {
    for (int k = 0; k < 10 * (b + 1); ++k) {
      t.rows.push_back(10.0 * b + normal(rng));
      t.times.push_back(b * kSecond + k * (kSecond / 100));
    }
  }
  Feed(g, t, 0, t.size());
  EXPECT_EQ(g.count(), 150u);
  // Later in the same bucket: nothing expires. Earlier: a no-op.
  g.AdvanceTo(4 * kSecond + kSecond - 1);
  EXPECT_EQ(g.count(), 150u);
  g.AdvanceTo(kSecond);
  EXPECT_EQ(g.latest_time(), 5 * kSecond - 1);
  EXPECT_EQ(g.count(), 150u);
  // Into second 5: bucket 0 (10 samples) leaves, the estimate is the other four.
  g.AdvanceTo(5 * kSecond);
  EXPECT_EQ(g.count(), 140u);
  ExpectMatchesLive(g, LiveSamples(t, t.size(), 5 * kSecond, kSecond, 5), 1e-12);
  // A late sample of the expired bucket is dropped; one of the oldest live bucket is taken.
  const double x = 1000.0;
  const int64_t expired = kSecond - 1;
  g.AddRows({&x, 1}, RowTimes{{&expired, 1}});
  EXPECT_EQ(g.count(), 140u);
  const int64_t oldest_live = kSecond;
  g.AddRows({&x, 1}, RowTimes{{&oldest_live, 1}});
  EXPECT_EQ(g.count(), 141u);
  // Seconds 7 and 8: buckets 1..3 leave.
  g.AdvanceTo(8 * kSecond + 1);
  EXPECT_EQ(g.count(), 50u);
  ExpectMatchesLive(g, LiveSamples(t, t.size(), 8 * kSecond, kSecond, 5), 1e-12);
}

TEST(WindowGaussianTest, GapsLongerThanTheWindowEmptyIt) {
  for (int dim : {1, 3}) {
    SCOPED_TRACE(dim);
    WindowGaussian g(dim, 10 * kSecond, 10);
    const Timed before = RandomTimed(6, dim, 500, 0, kSecond / 100, kSecond);
    Feed(g, before, 0, before.size());
    ASSERT_GT(g.count(), 0u);
    const int64_t resume = before.LatestOf(before.size()) + 11 * kSecond;
    g.AdvanceTo(resume);
    EXPECT_EQ(g.count(), 0u);
    ExpectEmptyModel(g);
    // A gap crossed by a sample instead: the window holds just the new samples.
    WindowGaussian h(dim, 10 * kSecond, 10);
    Feed(h, before, 0, before.size());
    const Timed after = RandomTimed(7, dim, 300, resume, kSecond / 100, kSecond, 7.0);
    Feed(g, after, 0, after.size());
    Feed(h, after, 0, after.size());
    const Timed live = LiveSamples(after, after.size(), after.LatestOf(after.size()), kSecond, 10);
    EXPECT_EQ(live.size(), after.size());
    ExpectMatchesLive(g, live, 1e-9);
    ExpectMatchesLive(h, live, 1e-9);
  }
}

// The window holds only samples newer than latest - L, so one window length after a step the
// estimate is exactly that of the new level.
TEST(WindowGaussianTest, TracksAStepChangeWithinOneWindowLength) {
  const int64_t window = 10 * kSecond;
  const int64_t dt = kSecond / 100;
  const double sigma = 2.0;
  WindowGaussian g(1, window, 20);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> noise(0.0, sigma);
  Timed after_step;
  int64_t time = 1'700'000'000 * kSecond;
  for (int i = 0; i < 3000; ++i) {  // 30 s at 0
    const double x = noise(rng);
    time += dt;
    g.AddRows({&x, 1}, RowTimes{{&time, 1}});
  }
  const int64_t step = time + dt;
  Summary s;
  while (time < step + window) {  // then 3 sigma higher
    const double x = 3 * sigma + noise(rng);
    time += dt;
    g.AddRows({&x, 1}, RowTimes{{&time, 1}});
    after_step.rows.push_back(x);
    after_step.times.push_back(time);
    if (time == step + window / 2) {
      g.Summarize(&s);
      EXPECT_GT(s.mean[0], 0.5 * sigma);
      EXPECT_LT(s.mean[0], 2.5 * sigma);
    }
  }
  g.Summarize(&s);
  const Timed live = LiveSamples(after_step, after_step.size(), time, window / 20, 20);
  ExpectMatchesLive(g, live, 1e-9);
  EXPECT_GE(live.size(), 950u);
  EXPECT_NEAR(s.mean[0], 3 * sigma, 5 * sigma / std::sqrt(static_cast<double>(live.size())));
  EXPECT_NEAR(s.covariance[0], sigma * sigma, 0.2 * sigma * sigma);
}

WindowGaussian Filled(const Timed& t, size_t first, size_t last, int64_t window, uint32_t buckets) {
  WindowGaussian g(t.dim, window, buckets);
  Feed(g, t, first, last);
  return g;
}

TEST(WindowGaussianTest, MergeBucketWiseEqualsTheWhole) {
  for (int dim : {1, 3}) {
    SCOPED_TRACE(dim);
    const int64_t window = 10 * kSecond;
    const Timed t = RandomTimed(9, dim, 4000, 0, kSecond / 100, 12 * kSecond, 1e6);
    // A random split; `a` also stops early, so the two have different latest times.
    Timed a;
    Timed b;
    a.dim = b.dim = dim;
    std::mt19937_64 rng(10);
    for (size_t i = 0; i < t.size(); ++i) {
      Timed& to = (i < 3000 && rng() % 2 == 0) ? a : b;
      to.rows.insert(to.rows.end(), t.Row(i).begin(), t.Row(i).end());
      to.times.push_back(t.times[i]);
    }
    const WindowGaussian wa = Filled(a, 0, a.size(), window, 10);
    const WindowGaussian wb = Filled(b, 0, b.size(), window, 10);
    const WindowGaussian whole = Filled(t, 0, t.size(), window, 10);
    Summary expected;
    whole.Summarize(&expected);
    for (const auto& [first, second] : {std::pair(&wa, &wb), std::pair(&wb, &wa)}) {
      std::unique_ptr<Accumulator> merged = first->Clone();
      ASSERT_TRUE(merged->Merge(*second).ok());
      Summary s;
      merged->Summarize(&s);
      EXPECT_EQ(s.count, expected.count);
      for (size_t i = 0; i < s.mean.size(); ++i) {
        EXPECT_LE(RelativeError(s.mean[i], expected.mean[i]), 1e-14);
      }
      for (size_t i = 0; i < s.covariance.size(); ++i) {
        EXPECT_NEAR(s.covariance[i], expected.covariance[i],
                    1e-12 * std::fabs(expected.covariance[0]));
      }
      ExpectMatchesLive(*merged, LiveSamples(t, t.size(), t.LatestOf(t.size()), kSecond, 10), 1e-9);
    }
  }
}

TEST(WindowGaussianTest, MergeWithEmptyAndWithItself) {
  const Timed t = RandomTimed(11, 2, 500, 0, kSecond / 100, 0);
  WindowGaussian g = Filled(t, 0, t.size(), 10 * kSecond, 10);
  Summary before;
  g.Summarize(&before);
  WindowGaussian empty(2, 10 * kSecond, 10);
  ASSERT_TRUE(g.Merge(empty).ok());
  Summary s;
  g.Summarize(&s);
  EXPECT_EQ(s.count, before.count);
  ASSERT_TRUE(empty.Merge(g).ok());
  empty.Summarize(&s);
  EXPECT_EQ(s.count, before.count);
  EXPECT_EQ(empty.latest_time(), g.latest_time());
  ASSERT_TRUE(g.Merge(g).ok());
  g.Summarize(&s);
  EXPECT_EQ(s.count, 2 * before.count);
  for (size_t i = 0; i < s.mean.size(); ++i) {
    EXPECT_LE(RelativeError(s.mean[i], before.mean[i]), 1e-14);
  }
  for (size_t i = 0; i < s.covariance.size(); ++i) {
    EXPECT_NEAR(s.covariance[i], before.covariance[i], 1e-12 * before.covariance[0]);
  }
}

TEST(WindowGaussianTest, MergeRejectsMismatches) {
  WindowGaussian g(2, 10 * kSecond, 10);
  EXPECT_EQ(g.Merge(WindowGaussian(3, 10 * kSecond, 10)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(WindowGaussian(2, 20 * kSecond, 10)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(WindowGaussian(2, 10 * kSecond, 5)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(ExponentialGaussian(2, kSecond)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.Merge(*NewGaussianAccumulator(2)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewGaussianAccumulator(2)->Merge(g).code(), absl::StatusCode::kInvalidArgument);
  // The same buckets (a length that rounds to the same width) behave alike and merge.
  EXPECT_TRUE(g.Merge(WindowGaussian(2, 10 * kSecond + 3, 10)).ok());
}

TEST(WindowGaussianTest, StateRoundTrip) {
  for (int dim : {1, 3}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{2000}}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " n " << n);
      const Timed t = RandomTimed(12, dim, n + 200, -5 * kSecond, kSecond / 100, 2 * kSecond, 1e9);
      WindowGaussian original = Filled(t, 0, n, 10 * kSecond, 10);
      mled::v1::StreamState state;
      state.set_stream("disk/io");
      original.ToState(&state);
      EXPECT_EQ(state.version(), 1u);
      EXPECT_EQ(state.stream(), "disk/io");
      ASSERT_TRUE(state.has_window());
      EXPECT_LE(state.window().live_size(), 10);
      mled::v1::StreamState parsed;
      ASSERT_TRUE(parsed.ParseFromString(state.SerializeAsString()));
      absl::StatusOr<std::unique_ptr<Accumulator>> restored = AccumulatorFromState(parsed);
      ASSERT_TRUE(restored.ok()) << restored.status();
      EXPECT_EQ((*restored)->kind(), mled::v1::ESTIMATOR_WINDOW);
      EXPECT_EQ((*restored)->count(), original.count());
      mled::v1::StreamState again;
      again.set_stream("disk/io");
      (*restored)->ToState(&again);
      EXPECT_EQ(again.SerializeAsString(), state.SerializeAsString());
      // Both go on alike (to rounding: the restored total was rebuilt from the buckets).
      Feed(original, t, n, n + 200);
      Feed(**restored, t, n, n + 200);
      Summary a;
      Summary b;
      original.Summarize(&a);
      (*restored)->Summarize(&b);
      EXPECT_EQ(a.count, b.count);
      for (size_t i = 0; i < a.mean.size(); ++i) {
        EXPECT_LE(RelativeError(b.mean[i], a.mean[i]), 1e-15);
      }
      for (size_t i = 0; i < a.covariance.size(); ++i) {
        EXPECT_NEAR(b.covariance[i], a.covariance[i], 1e-12 * a.covariance[0]);
      }
      ASSERT_EQ(a.nll.has_value(), b.nll.has_value());
      if (a.nll.has_value()) {
        EXPECT_LE(RelativeError(*b.nll, *a.nll), 1e-12);
      }
      ExpectMatchesLive(**restored, LiveSamples(t, n + 200, t.LatestOf(n + 200), kSecond, 10),
                        1e-9);
    }
  }
}

TEST(WindowGaussianTest, FromStateRejectsBadRecords) {
  const auto valid = [] {
    mled::v1::StreamState state;
    const Timed t = RandomTimed(13, 2, 500, 0, kSecond / 100, 0);
    Filled(t, 0, t.size(), 10 * kSecond, 10).ToState(&state);
    return state;
  };
  ASSERT_GE(valid().window().live_size(), 3);
  using Edit = std::function<void(mled::v1::WindowState&)>;
  const std::vector<std::pair<std::string, Edit>> cases = {
      {"dim 0", [](auto& w) { w.set_dim(0); }},
      {"dim unlike the buckets'", [](auto& w) { w.set_dim(3); }},
      {"huge dim", [](auto& w) { w.set_dim(0xffffffffu); }},
      {"no buckets", [](auto& w) { w.set_buckets(0); }},
      {"too many buckets", [](auto& w) { w.set_buckets(kMaxWindowBuckets + 1); }},
      {"zero width", [](auto& w) { w.set_bucket_ns(0); }},
      {"negative width", [](auto& w) { w.set_bucket_ns(-kSecond); }},
      {"overflowing window", [](auto& w) { w.set_bucket_ns(std::numeric_limits<int64_t>::max()); }},
      {"bucket too old", [](auto& w) { w.mutable_live(0)->set_index(w.live(0).index() - 10); }},
      {"bucket too new",
       [](auto& w) { w.set_latest_time_unix_nano(w.latest_time_unix_nano() - 4 * kSecond); }},
      {"out of order", [](auto& w) { w.mutable_live()->SwapElements(0, 1); }},
      {"duplicate", [](auto& w) { w.mutable_live(1)->set_index(w.live(0).index()); }},
      {"empty bucket", [](auto& w) { w.mutable_live(1)->mutable_gaussian()->set_count(0); }},
      {"bad bucket",
       [](auto& w) {
         w.mutable_live(2)->mutable_gaussian()->set_mean(0,
                                                         std::numeric_limits<double>::quiet_NaN());
       }},
      {"bucket of another dim",
       [](auto& w) {
         mled::v1::GaussianState* g = w.mutable_live(0)->mutable_gaussian();
         g->set_dim(1);
         g->mutable_shift()->RemoveLast();
         g->mutable_mean()->RemoveLast();
         g->mutable_comoment()->Truncate(1);
       }},
  };
  ASSERT_TRUE(AccumulatorFromState(valid()).ok());
  for (const auto& [name, edit] : cases) {
    mled::v1::StreamState state = valid();
    edit(*state.mutable_window());
    const absl::Status status = AccumulatorFromState(state).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_FALSE(status.message().empty()) << name;
  }
}

TEST(WindowGaussianTest, ConstantAndSparseWindowsAreDegenerateWithoutNaN) {
  WindowGaussian g(3, 10 * kSecond, 10);
  const std::vector<double> row = {1e9, -1e9, 0.0};
  for (int64_t i = 0; i < 100; ++i) {
    const int64_t time = i * kSecond / 10;
    g.AddRows(row, RowTimes{{&time, 1}});
  }
  Summary s;
  g.Summarize(&s);
  ExpectFiniteSummary(s);
  EXPECT_EQ(s.count, 100u);
  EXPECT_FALSE(s.nll.has_value());
  // Three samples in 3 dimensions: N <= D.
  WindowGaussian sparse(3, 10 * kSecond, 10);
  const std::vector<double> rows = reference::CorrelatedRows(14, 3, 3, 0.0);
  sparse.AddRows(rows, RowTimes{{}, kSecond});
  sparse.Summarize(&s);
  ExpectFiniteSummary(s);
  EXPECT_FALSE(s.nll.has_value());
  EXPECT_EQ(sparse.Fit().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(WindowGaussianTest, NeverNaNOrInf) {
  std::mt19937_64 rng(15);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (int dim : {1, 3}) {
    // Tiny buckets (1 and 3 ns wide), so the extremes cross many of them.
    for (const auto& [window, buckets] : {std::pair<int64_t, uint32_t>(1, 1), {7, 7}, {21, 7}}) {
      WindowGaussian g(dim, window, buckets);
      const int64_t times[] = {kMin, kMin + 1, -5, 0, 1, 2, 3, 25, 1'000'000, kMax - 1, kMax};
      for (int step = 0; step < 200; ++step) {
        std::vector<double> row(static_cast<size_t>(dim));
        for (double& v : row)
          v = (unit(rng) < 0.5 ? -1 : 1) * std::pow(10.0, 200 * unit(rng) - 100);
        const int64_t time = times[(step * 7) % std::size(times)];
        g.AddRows(row, RowTimes{{&time, 1}});
        if (step % 5 == 0) g.AdvanceTo(time == kMax ? time : time + 1);
        Summary s;
        g.Summarize(&s);
        ExpectFiniteSummary(s);
        mled::v1::StreamState state;
        g.ToState(&state);
        EXPECT_TRUE(AccumulatorFromState(state).ok());
      }
    }
  }
}

TEST(WindowGaussianTest, CloneIsIndependent) {
  const Timed t = RandomTimed(16, 2, 300, 0, kSecond / 100, 0);
  const WindowGaussian g = Filled(t, 0, t.size(), 10 * kSecond, 10);
  const std::unique_ptr<Accumulator> clone = g.Clone();
  EXPECT_EQ(clone->kind(), mled::v1::ESTIMATOR_WINDOW);
  EXPECT_EQ(clone->count(), g.count());
  Summary a;
  Summary b;
  g.Summarize(&a);
  clone->Summarize(&b);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.covariance, b.covariance);
  clone->AdvanceTo(g.latest_time() + 100 * kSecond);
  EXPECT_EQ(clone->count(), 0u);
  EXPECT_EQ(g.count(), 300u);
  Summary again;
  g.Summarize(&again);
  EXPECT_EQ(again.mean, a.mean);
}

}  // namespace
}  // namespace mled::stats
