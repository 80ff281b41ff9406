#include "lib/stats/window_gaussian.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/gaussian_state.h"
#include "lib/stats/multivariate_gaussian.h"
#include "lib/stats/univariate_gaussian.h"

namespace mled::stats {
namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

// a * b, saturated to the int64 range.
int64_t SaturatedProduct(int64_t a, int64_t b) {
  int64_t product = 0;
  if (!__builtin_mul_overflow(a, b, &product)) return product;
  return (a < 0) != (b < 0) ? std::numeric_limits<int64_t>::min()
                            : std::numeric_limits<int64_t>::max();
}

// floor(a / b) for b > 0 (C++ division truncates towards zero).
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

// The buckets and the total come from NewGaussianAccumulator, so they are a UnivariateGaussian
// for dim 1 and a MultivariateGaussian otherwise (accumulator.h). Merging and clearing them
// through those classes skips the virtual Merge's type check, which the rebuild of the total
// would pay once per bucket.
void Clear(Accumulator& gaussian, int dim) {
  if (dim == 1) {
    static_cast<UnivariateGaussian&>(gaussian).Clear();
  } else {
    static_cast<MultivariateGaussian&>(gaussian).Clear();
  }
}

void MergeInto(Accumulator& into, const Accumulator& from, int dim) {
  if (dim == 1) {
    static_cast<UnivariateGaussian&>(into).Merge(static_cast<const UnivariateGaussian&>(from));
  } else {
    static_cast<MultivariateGaussian&>(into).Merge(static_cast<const MultivariateGaussian&>(from));
  }
}

absl::StatusOr<std::unique_ptr<Accumulator>> GaussianFromState(
    const mled::v1::GaussianState& state) {
  if (state.dim() == 1) {
    absl::StatusOr<UnivariateGaussian> g = UnivariateGaussian::FromState(state);
    if (!g.ok()) return g.status();
    return std::make_unique<UnivariateGaussian>(*std::move(g));
  }
  absl::StatusOr<MultivariateGaussian> g = MultivariateGaussian::FromState(state);
  if (!g.ok()) return g.status();
  return std::make_unique<MultivariateGaussian>(*std::move(g));
}

}  // namespace

WindowGaussian::WindowGaussian(int dim, int64_t window_ns, uint32_t buckets)
    : dim_(dim),
      window_ns_(window_ns),
      bucket_ns_(window_ns / std::max<int64_t>(buckets, 1)),
      buckets_(buckets),
      ring_(buckets) {
  assert(dim >= 1);
  assert(buckets >= 1 && buckets <= kMaxWindowBuckets);
  assert(bucket_ns_ >= 1);
  SetLatest(kNoTime);
}

int64_t WindowGaussian::BucketIndex(int64_t time) const {
  if (time >= newest_begin_ && time < newest_end_) return newest_;
  return FloorDiv(time, bucket_ns_);
}

void WindowGaussian::SetLatest(int64_t time) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  latest_ = time;
  newest_ = FloorDiv(time, bucket_ns_);
  const int64_t span = static_cast<int64_t>(buckets_) - 1;
  oldest_ = newest_ < kMin + span ? kMin : newest_ - span;
  // Bounds beyond int64 saturate: no time lies beyond them, so the test in BucketIndex stays
  // exact, except that INT64_MAX itself may take the dividing path.
  newest_begin_ = SaturatedProduct(newest_, bucket_ns_);
  int64_t next = 0;
  newest_end_ = __builtin_add_overflow(newest_, 1, &next) ? std::numeric_limits<int64_t>::max()
                                                          : SaturatedProduct(next, bucket_ns_);
  newest_slot_ = SlotOf(newest_);
}

size_t WindowGaussian::SlotOf(int64_t index) const {
  const int64_t b = static_cast<int64_t>(buckets_);
  return static_cast<size_t>(((index % b) + b) % b);
}

uint64_t WindowGaussian::count() const { return total_ == nullptr ? 0 : total_->count(); }

void WindowGaussian::RebuildTotal() {
  if (total_ == nullptr) return;  // never had a sample
  Clear(*total_, dim_);
  // Oldest first, so the rebuilt total does not depend on where the ring happens to start.
  for (int64_t index = oldest_;; ++index) {
    const Bucket& bucket = ring_[SlotOf(index)];
    if (bucket.index == index && bucket.gaussian != nullptr && bucket.gaussian->count() > 0) {
      MergeInto(*total_, *bucket.gaussian, dim_);
    }
    if (index == newest_) break;
  }
}

void WindowGaussian::AdvanceTo(int64_t time_unix_nano) {
  if (time_unix_nano <= latest_) return;
  if (time_unix_nano < newest_end_) {  // same bucket: nothing expires
    latest_ = time_unix_nano;
    return;
  }
  const int64_t was_oldest = oldest_;
  SetLatest(time_unix_nano);
  // Buckets was_oldest .. oldest_ - 1 leave (all B of them at most).
  bool expired = false;
  const uint64_t leaving = std::min<uint64_t>(
      buckets_, static_cast<uint64_t>(oldest_) - static_cast<uint64_t>(was_oldest));
  for (uint64_t k = 0; k < leaving; ++k) {
    Bucket& bucket = ring_[SlotOf(was_oldest + static_cast<int64_t>(k))];
    if (bucket.gaussian != nullptr && bucket.index < oldest_ && bucket.gaussian->count() > 0) {
      Clear(*bucket.gaussian, dim_);
      expired = true;
    }
  }
  if (expired) RebuildTotal();
}

Accumulator& WindowGaussian::LiveBucket(int64_t index) {
  Bucket& bucket = ring_[index == newest_ ? newest_slot_ : SlotOf(index)];
  if (bucket.gaussian == nullptr) {
    bucket.gaussian = NewGaussianAccumulator(dim_);
  } else if (bucket.index != index) {
    // The slot's previous bucket has left the window (AdvanceTo already took it out of total_).
    Clear(*bucket.gaussian, dim_);
  }
  bucket.index = index;
  return *bucket.gaussian;
}

void WindowGaussian::AddBucketRows(absl::Span<const double> rows, int64_t index,
                                   int64_t latest_row_time) {
  AdvanceTo(latest_row_time);
  if (index < oldest_) return;  // too late: its bucket has left the window
  Accumulator& bucket = LiveBucket(index);
  if (total_ == nullptr) total_ = NewGaussianAccumulator(dim_);
  if (dim_ == 1 && rows.size() == 1) {
    // The common case, one univariate sample: straight to Welford, not through AddRows.
    static_cast<UnivariateGaussian&>(bucket).Add(rows[0]);
    static_cast<UnivariateGaussian&>(*total_).Add(rows[0]);
    return;
  }
  bucket.AddRows(rows, RowTimes{});
  total_->AddRows(rows, RowTimes{});
}

void WindowGaussian::AddRows(absl::Span<const double> rows, RowTimes times) {
  const size_t d = static_cast<size_t>(dim_);
  const size_t n = rows.size() / d;
  assert(rows.size() == n * d);
  for (size_t first = 0; first < n;) {
    // A run of rows in one bucket goes in as one block (most often they share one time).
    const int64_t time = times[first];
    const int64_t index = BucketIndex(time);
    int64_t latest_row_time = time;
    size_t end = first + 1;
    for (; end < n; ++end) {
      const int64_t t = times[end];
      if (t != time && BucketIndex(t) != index) break;
      latest_row_time = std::max(latest_row_time, t);
    }
    AddBucketRows(rows.subspan(first * d, (end - first) * d), index, latest_row_time);
    first = end;
  }
}

absl::Status WindowGaussian::Merge(const Accumulator& other) {
  const auto* same = dynamic_cast<const WindowGaussian*>(&other);
  if (same == nullptr || same->dim_ != dim_ || same->bucket_ns_ != bucket_ns_ ||
      same->buckets_ != buckets_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot merge an accumulator of another estimator, dimension or window (dim ", other.dim(),
        ", estimator ", mled::v1::Estimator_Name(other.kind()), ") into a ", dim_,
        "-dimensional window gaussian of ", buckets_, " buckets of ", bucket_ns_, " ns"));
  }
  if (same == this) {
    // Every live bucket merges with itself: merge a copy instead.
    const std::unique_ptr<Accumulator> copy = Clone();
    return Merge(*copy);
  }
  AdvanceTo(same->latest_);
  for (const Bucket& theirs : same->ring_) {
    if (theirs.gaussian == nullptr || theirs.gaussian->count() == 0 || theirs.index < oldest_) {
      continue;
    }
    MergeInto(LiveBucket(theirs.index), *theirs.gaussian, dim_);
  }
  if (total_ == nullptr && same->total_ != nullptr) total_ = NewGaussianAccumulator(dim_);
  RebuildTotal();
  return absl::OkStatus();
}

void WindowGaussian::Moments(Summary* out) const {
  if (total_ != nullptr) {
    total_->Moments(out);
    return;
  }
  const size_t d = static_cast<size_t>(dim_);
  out->count = 0;
  out->effective_count = 0;
  out->weight_sum = 0;
  out->dim = dim_;
  out->mean.assign(d, 0.0);
  out->covariance.assign(d * d, 0.0);
  out->nll.reset();
}

void WindowGaussian::Summarize(Summary* out) const {
  if (total_ != nullptr) {
    total_->Summarize(out);
  } else {
    Moments(out);
  }
}

absl::StatusOr<GaussianModel> WindowGaussian::Fit() const {
  if (total_ != nullptr) return total_->Fit();
  return absl::FailedPreconditionError("degenerate gaussian: the window holds no samples");
}

void WindowGaussian::ToState(mled::v1::StreamState* state) const {
  state->set_version(kStreamStateVersion);
  mled::v1::WindowState* w = state->mutable_window();
  w->set_dim(static_cast<uint32_t>(dim_));
  w->set_bucket_ns(bucket_ns_);
  w->set_buckets(buckets_);
  w->set_latest_time_unix_nano(latest_);
  w->clear_live();
  if (total_ == nullptr || total_->count() == 0) return;
  mled::v1::StreamState scratch;
  for (int64_t index = oldest_;; ++index) {
    const Bucket& bucket = ring_[SlotOf(index)];
    if (bucket.index == index && bucket.gaussian != nullptr && bucket.gaussian->count() > 0) {
      mled::v1::WindowBucket* out = w->add_live();
      out->set_index(index);
      bucket.gaussian->ToState(&scratch);
      out->mutable_gaussian()->Swap(scratch.mutable_gaussian());
    }
    if (index == newest_) break;
  }
}

std::unique_ptr<Accumulator> WindowGaussian::Clone() const {
  auto copy = std::make_unique<WindowGaussian>(dim_, window_ns_, buckets_);
  copy->SetLatest(latest_);
  for (size_t i = 0; i < ring_.size(); ++i) {
    copy->ring_[i].index = ring_[i].index;
    if (ring_[i].gaussian != nullptr) copy->ring_[i].gaussian = ring_[i].gaussian->Clone();
  }
  if (total_ != nullptr) copy->total_ = total_->Clone();
  return copy;
}

absl::StatusOr<WindowGaussian> WindowGaussian::FromState(const mled::v1::WindowState& state) {
  const uint32_t dim = state.dim();
  if (dim == 0 || dim > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(absl::StrCat("window state: bad dim ", dim));
  }
  if (state.buckets() == 0 || state.buckets() > kMaxWindowBuckets) {
    return absl::InvalidArgumentError(absl::StrCat("window state: buckets is ", state.buckets(),
                                                   ", not in 1..", kMaxWindowBuckets));
  }
  const int64_t buckets = state.buckets();
  if (state.bucket_ns() < 1 || state.bucket_ns() > std::numeric_limits<int64_t>::max() / buckets) {
    return absl::InvalidArgumentError(absl::StrCat("window state: bucket_ns is ", state.bucket_ns(),
                                                   ", not in 1..INT64_MAX / buckets"));
  }
  WindowGaussian window(static_cast<int>(dim), state.bucket_ns() * buckets, state.buckets());
  window.SetLatest(state.latest_time_unix_nano());
  const int64_t oldest = window.oldest_;
  const int64_t newest = window.newest_;
  int64_t previous = 0;
  for (int i = 0; i < state.live_size(); ++i) {
    const mled::v1::WindowBucket& live = state.live(i);
    const int64_t index = live.index();
    if (index < oldest || index > newest || (i > 0 && index <= previous)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "window state: live[", i, "] has index ", index, ", not after the previous one (",
          previous, ") within the live range ", oldest, "..", newest));
    }
    previous = index;
    if (live.gaussian().dim() != dim || live.gaussian().count() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("window state: live[", i, "] has dim ", live.gaussian().dim(), " and count ",
                       live.gaussian().count(), "; needs dim ", dim, " and samples"));
    }
    absl::StatusOr<std::unique_ptr<Accumulator>> gaussian = GaussianFromState(live.gaussian());
    if (!gaussian.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("window state: live[", i, "]: ", gaussian.status().message()));
    }
    Bucket& slot = window.ring_[window.SlotOf(index)];
    slot.index = index;
    slot.gaussian = *std::move(gaussian);
  }
  if (state.live_size() > 0) {
    window.total_ = NewGaussianAccumulator(window.dim_);
    window.RebuildTotal();
  }
  return window;
}

}  // namespace mled::stats
