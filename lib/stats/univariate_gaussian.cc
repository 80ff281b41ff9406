#include "lib/stats/univariate_gaussian.h"

#include <cmath>
#include <cstddef>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/stats/chan_merge.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_state.h"

namespace mled::stats {
namespace {

// The block kernels keep kLanes independent partial sums. Without -ffast-math the compiler may
// not reassociate one running sum, so a single accumulator would run at one add per FP-add
// latency (~3-4 cycles); 16 lanes are four AVX2 registers, enough to cover the latency of both
// add ports. The lane layout fixes the summation order, so results are reproducible.
constexpr size_t kLanes = 16;

// Sums the lanes as a fixed balanced tree (pairwise summation, a little more accurate too).
double SumLanes(double (&lanes)[kLanes]) {
  for (size_t width = kLanes / 2; width > 0; width /= 2) {
    for (size_t j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  }
  return lanes[0];
}

// Pass 1: sum of (x - shift).
double ShiftedSum(const double* x, size_t n, double shift) {
  double lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j] - shift;
  }
  for (size_t j = 0; i < n; ++i, ++j) lanes[j] += x[i] - shift;
  return SumLanes(lanes);
}

// Pass 2: sum of ((x - shift) - mean)², where `mean` is the block mean of x - shift. Subtracting
// in two steps keeps x - shift exact for samples near the shift (Sterbenz); folding shift + mean
// into one constant would round it to the magnitude of x (1e9 -> 1.2e-7).
double SquaredDeviationSum(const double* x, size_t n, double shift, double mean) {
  double lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const double d = (x[i + j] - shift) - mean;
      lanes[j] = std::fma(d, d, lanes[j]);
    }
  }
  for (size_t j = 0; i < n; ++i, ++j) {
    const double d = (x[i] - shift) - mean;
    lanes[j] = std::fma(d, d, lanes[j]);
  }
  return SumLanes(lanes);
}

}  // namespace

void UnivariateGaussian::Add(double x) {
  if (n_ == 0) {
    // The first sample becomes the shift: later samples are taken relative to it, so the
    // running mean stays near zero and its rounding does not grow with |x| (DESIGN.md).
    shift_ = x;
    n_ = 1;
    mean_ = 0;
    m2_ = 0;
    return;
  }
  ++n_;
  // 1/n does not depend on the running mean, so the division overlaps with the previous
  // sample's update instead of sitting on the mean's dependency chain (~2x faster per Add).
  const double inverse_n = 1.0 / static_cast<double>(n_);
  const double y = x - shift_;
  const double delta = y - mean_;
  mean_ += delta * inverse_n;
  m2_ += delta * (y - mean_);
}

void UnivariateGaussian::AddBlock(absl::Span<const double> xs) {
  if (xs.empty()) return;
  const size_t nb = xs.size();
  if (n_ == 0) shift_ = xs[0];
  const double mean_b = ShiftedSum(xs.data(), nb, shift_) / static_cast<double>(nb);
  const double m2_b = SquaredDeviationSum(xs.data(), nb, shift_, mean_b);
  MergeMoments(nb, mean_b, m2_b);
}

void UnivariateGaussian::Merge(const UnivariateGaussian& other) {
  if (other.n_ == 0) return;
  if (n_ == 0) {
    *this = other;
    return;
  }
  // Re-express the other mean relative to our shift; copies first, as `other` may be `*this`.
  const uint64_t n_b = other.n_;
  const double mean_b = (other.shift_ - shift_) + other.mean_;
  const double m2_b = other.m2_;
  MergeMoments(n_b, mean_b, m2_b);
}

void UnivariateGaussian::MergeMoments(uint64_t n_b, double mean_b, double m2_b) {
  if (n_ == 0) {
    n_ = n_b;
    mean_ = mean_b;
    m2_ = m2_b;
    return;
  }
  const ChanWeights w = ChanMergeWeights(n_, n_b);
  const double delta = mean_b - mean_;
  mean_ += delta * w.b_fraction;
  m2_ += m2_b + delta * delta * w.comoment;
  n_ += n_b;
}

double UnivariateGaussian::Mean() const {
  if (n_ == 0) return 0;
  return SaturateToFinite(shift_ + mean_, /*if_nan=*/0.0);
}

double UnivariateGaussian::Variance() const {
  if (n_ == 0) return 0;
  return SaturateToFinite(m2_ / static_cast<double>(n_));
}

double UnivariateGaussian::UnbiasedVariance() const {
  if (n_ < 2) return 0;
  return SaturateToFinite(m2_ / static_cast<double>(n_ - 1));
}

std::optional<double> UnivariateGaussian::Nll() const { return NllAtMle(n_, Fit()); }

void UnivariateGaussian::AddRows(absl::Span<const double> rows, RowTimes /*times*/) {
  if (rows.size() == 1) {
    Add(rows[0]);
  } else {
    AddBlock(rows);
  }
}

absl::Status UnivariateGaussian::Merge(const Accumulator& other) {
  const auto* same = dynamic_cast<const UnivariateGaussian*>(&other);
  if (same == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot merge an accumulator of another family or dimension (dim ",
                     other.dim(), ") into a univariate gaussian"));
  }
  Merge(*same);
  return absl::OkStatus();
}

void UnivariateGaussian::Moments(Summary* out) const {
  out->count = n_;
  out->effective_count = static_cast<double>(n_);
  out->weight_sum = static_cast<double>(n_);
  out->dim = 1;
  out->mean.assign(1, Mean());
  out->covariance.assign(1, Variance());
  out->nll.reset();
}

void UnivariateGaussian::Summarize(Summary* out) const {
  Moments(out);
  out->nll = Nll();
}

absl::StatusOr<GaussianModel> UnivariateGaussian::Fit() const {
  const double mean = Mean();
  const double variance = Variance();
  return FitMle(n_, {&mean, 1}, {&variance, 1});
}

void UnivariateGaussian::ToState(mled::v1::StreamState* state) const {
  // Saturated like every accessor, so a state that overflowed still writes (and reads back)
  // finite numbers; for any ordinary state this is the identity, and the round trip is exact.
  const double shift = SaturateToFinite(shift_, 0.0);
  const double mean = SaturateToFinite(mean_, 0.0);
  const double m2 = SaturateToFinite(m2_);
  WriteGaussianState(n_, {&shift, 1}, {&mean, 1}, {&m2, 1}, state);
}

std::unique_ptr<Accumulator> UnivariateGaussian::Clone() const {
  return std::make_unique<UnivariateGaussian>(*this);
}

absl::StatusOr<UnivariateGaussian> UnivariateGaussian::FromState(
    const mled::v1::GaussianState& state) {
  if (absl::Status s = ValidateGaussianState(state); !s.ok()) return s;
  if (state.dim() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("gaussian state: dim ", state.dim(), " is not univariate"));
  }
  UnivariateGaussian g;
  g.n_ = state.count();
  g.shift_ = state.shift(0);
  g.mean_ = state.mean(0);
  g.m2_ = state.comoment(0);
  return g;
}

}  // namespace mled::stats
