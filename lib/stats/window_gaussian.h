// A D-dimensional Gaussian MLE over a sliding window of sample time, kept as buckets.
//
// The window of length L is B buckets of width w = floor(L / B) ns (L >= B, so w >= 1), aligned
// to the Unix epoch: a sample of time t belongs to bucket floor(t / w) (floor also for negative
// t). With `latest` the latest sample time seen and k its bucket, the live buckets are
// k - B + 1 .. k, and the estimate is the plain (unweighted) MLE of exactly the samples in them:
// every sample of the last (B - 1) w ns and none older than B w ns. When `latest` moves into a new
// bucket, buckets that fall out of the window leave the estimate whole; a sample whose bucket has
// already left is dropped (not counted).
//
// Each bucket is a cumulative Gaussian accumulator (NewGaussianAccumulator), so the window
// inherits its numerics. A running `total` takes every sample as well, so adding, scoring and
// summarizing cost O(D^2), not O(B D^2); when buckets expire, `total` is rebuilt by Chan-merging
// the live buckets (never by subtracting, which would cancel catastrophically).
//
//   WindowGaussian g(/*dim=*/1, /*window_ns=*/300'000'000'000, /*buckets=*/10);   // 5 min
//   g.AddRows(values, RowTimes{times});
//   Summary s;
//   g.Summarize(&s);   // the samples of the last 4.5 to 5 minutes
//
// Costs: a sample in the newest bucket takes two Welford updates and no division; a new bucket
// takes O(B) merges to rebuild the total (~10 ns each for D = 1), so that cost per sample
// grows with B / (samples per bucket).
//
// Not thread-safe: one owner at a time (the engine's shard lock). Memory O(B D^2) regardless of
// the sample rate; a bucket's storage is allocated on its first sample and reused after, so
// single samples and rebuilds of the total allocate nothing (a block of D > 1 rows allocates a
// scratch matrix, as MultivariateGaussian::AddBlock does).
#ifndef MLED_LIB_STATS_WINDOW_GAUSSIAN_H_
#define MLED_LIB_STATS_WINDOW_GAUSSIAN_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "lib/stats/accumulator.h"
#include "mled/v1/state.pb.h"

namespace mled::stats {

// Most buckets of one window, far above the configurable limit (limits.max_window_buckets): it
// bounds what a corrupt state record can make us allocate.
inline constexpr uint32_t kMaxWindowBuckets = 65536;

class WindowGaussian final : public Accumulator {
 public:
  // dim >= 1, 1 <= buckets <= kMaxWindowBuckets, window_ns >= buckets (ValidateEstimatorSpec
  // checks them for NewAccumulator).
  WindowGaussian(int dim, int64_t window_ns, uint32_t buckets);

  WindowGaussian(WindowGaussian&&) = default;
  WindowGaussian& operator=(WindowGaussian&&) = default;

  // The window as built: bucket_ns() * buckets() may be up to buckets() - 1 ns short of the
  // window_ns() asked for. Behaviour depends on bucket_ns() and buckets() only.
  int64_t window_ns() const { return window_ns_; }
  int64_t bucket_ns() const { return bucket_ns_; }
  uint32_t buckets() const { return buckets_; }
  // The latest time seen; INT64_MIN before any.
  int64_t latest_time() const { return latest_; }
  // floor(time / bucket_ns()).
  int64_t BucketIndex(int64_t time) const;

  // Accumulator. count() and effective_count() are the samples in the live buckets. AdvanceTo
  // expires buckets; AddRows advances to each row's time and adds the rows of one bucket as a
  // block (rows of older, expired buckets are dropped). Merge needs another WindowGaussian of
  // the same dim, bucket_ns and buckets (INVALID_ARGUMENT otherwise): both are brought to the
  // later latest time and merged bucket by bucket. ToState writes the `window` model case; the
  // restored window's `total` is rebuilt from the buckets, so its estimate agrees with the
  // original's to rounding (~1e-15 relative), not bit for bit, while the record round-trips
  // exactly.
  mled::v1::Estimator kind() const override { return mled::v1::ESTIMATOR_WINDOW; }
  int dim() const override { return dim_; }
  uint64_t count() const override;
  double effective_count() const override { return static_cast<double>(count()); }
  void AdvanceTo(int64_t time_unix_nano) override;
  void AddRows(absl::Span<const double> rows, RowTimes times) override;
  absl::Status Merge(const Accumulator& other) override;
  void Moments(Summary* out) const override;
  void Summarize(Summary* out) const override;
  absl::StatusOr<GaussianModel> Fit() const override;
  void ToState(mled::v1::StreamState* state) const override;
  std::unique_ptr<Accumulator> Clone() const override;

  // Rebuilds the accumulator written by ToState. INVALID_ARGUMENT unless: dim >= 1;
  // bucket_ns >= 1; 1 <= buckets <= kMaxWindowBuckets; bucket_ns * buckets fits in 64 bits; and
  // every live bucket passes ValidateGaussianState, has this dim and count > 0, and lies in the
  // live range of latest_time_unix_nano, in increasing index order.
  static absl::StatusOr<WindowGaussian> FromState(const mled::v1::WindowState& state);

 private:
  struct Bucket {
    int64_t index = 0;
    std::unique_ptr<Accumulator> gaussian;  // null until the slot's first sample
  };

  // Sets latest_ and the cached facts about its bucket.
  void SetLatest(int64_t time);
  // The ring slot of bucket `index`: index mod B.
  size_t SlotOf(int64_t index) const;
  // The slot for bucket `index` (live), emptied first if it still holds an older bucket.
  Accumulator& LiveBucket(int64_t index);
  // Rows of bucket `index`, the latest of their times `latest_row_time`.
  void AddBucketRows(absl::Span<const double> rows, int64_t index, int64_t latest_row_time);
  // total_ = the Chan merge of the live buckets, oldest first.
  void RebuildTotal();

  int dim_;
  int64_t window_ns_;
  int64_t bucket_ns_;
  uint32_t buckets_;
  int64_t latest_ = std::numeric_limits<int64_t>::min();
  // Derived from latest_ by SetLatest, so that a sample in the newest bucket costs no division:
  int64_t newest_ = 0;        // k, latest_'s bucket
  int64_t oldest_ = 0;        // k - B + 1 (saturated at INT64_MIN), the oldest live bucket
  int64_t newest_begin_ = 0;  // [newest_begin_, newest_end_): the times of bucket k (saturated)
  int64_t newest_end_ = 0;
  size_t newest_slot_ = 0;              // k mod B
  std::vector<Bucket> ring_;            // B slots; bucket i lives in slot i mod B
  std::unique_ptr<Accumulator> total_;  // the live buckets' samples; null until the first
};

}  // namespace mled::stats

#endif  // MLED_LIB_STATS_WINDOW_GAUSSIAN_H_
