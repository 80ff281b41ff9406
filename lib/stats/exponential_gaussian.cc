#include "lib/stats/exponential_gaussian.h"

#include <cassert>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_state.h"

namespace mled::stats {
namespace {

// t - earlier in nanoseconds, exactly, for any two int64 times with t > earlier (the difference
// can exceed INT64_MAX, not UINT64_MAX).
uint64_t Elapsed(int64_t earlier, int64_t t) {
  return static_cast<uint64_t>(t) - static_cast<uint64_t>(earlier);
}

}  // namespace

ExponentialGaussian::ExponentialGaussian(int dim, int64_t half_life_ns)
    : dim_(dim),
      half_life_ns_(half_life_ns),
      inverse_half_life_(1.0 / static_cast<double>(half_life_ns)),
      shift_(Eigen::VectorXd::Zero(dim)),
      mean_(Eigen::VectorXd::Zero(dim)),
      comoment_(Eigen::MatrixXd::Zero(dim, dim)),
      delta_(Eigen::VectorXd::Zero(dim)),
      block_mean_(Eigen::VectorXd::Zero(dim)) {
  assert(dim >= 1);
  assert(half_life_ns >= 1);
}

double ExponentialGaussian::effective_count() const {
  if (weight_ == 0) return 0;
  return weight_ * weight_ / weight2_;
}

void ExponentialGaussian::ClearWeights() {
  weight_ = 0;
  weight2_ = 0;
  shift_.setZero();
  mean_.setZero();
  comoment_.setZero();
}

void ExponentialGaussian::CheckWeight() {
  // W2 >= W^2 / count keeps W2 normal whenever W >= kMinWeightSum; the second test only guards
  // against states that could not arise from samples. A weight of 0 (a sample so late that its
  // weight underflowed, into an empty model) clears the shift it may have set.
  if (!(weight_ >= kMinWeightSum && weight2_ >= std::numeric_limits<double>::min())) {
    ClearWeights();
  }
}

void ExponentialGaussian::Decay(double lambda) {
  if (weight_ == 0) return;
  weight_ *= lambda;
  if (!(weight_ >= kMinWeightSum)) {
    // A gap long enough to make every weight negligible next to a new sample's: start clean
    // rather than carry weights towards underflow (where W2 and Kish's count break first).
    ClearWeights();
    return;
  }
  weight2_ *= lambda * lambda;
  if (dim_ == 1) {
    comoment_(0, 0) *= lambda;
  } else {
    comoment_.triangularView<Eigen::Lower>() *= lambda;
  }
  CheckWeight();
}

double ExponentialGaussian::DecayFactor(uint64_t elapsed) {
  if (elapsed != cached_elapsed_) {
    // In (0, 1]; 0 once it underflows.
    cached_decay_ = std::exp2(-static_cast<double>(elapsed) * inverse_half_life_);
    cached_elapsed_ = elapsed;
  }
  return cached_decay_;
}

void ExponentialGaussian::AdvanceTo(int64_t time_unix_nano) {
  if (time_unix_nano <= reference_time_) return;
  const uint64_t elapsed = Elapsed(reference_time_, time_unix_nano);
  reference_time_ = time_unix_nano;
  if (weight_ == 0) return;  // nothing to decay (and no exp2 to pay for)
  Decay(DecayFactor(elapsed));
}

double ExponentialGaussian::WeightAt(int64_t time) {
  if (time >= reference_time_) {
    AdvanceTo(time);
    return 1.0;
  }
  // Out of order: weighed relative to t_ref, which stays where it is.
  return DecayFactor(Elapsed(time, reference_time_));
}

void ExponentialGaussian::AddOne(const double* x, double w) {
  if (weight_ == 0) {
    // The first sample (or the first after the model emptied) becomes the shift, so the running
    // mean stays near zero and does not round with |x| (as in UnivariateGaussian::Add).
    for (int i = 0; i < dim_; ++i) shift_(i) = x[i];
    mean_.setZero();
    comoment_.setZero();
    weight_ = w;
    weight2_ = w * w;
    CheckWeight();
    return;
  }
  const double w_old = weight_;
  const double w_new = w_old + w;
  const double step = w / w_new;              // how far the mean moves towards x
  const double spread = w * (w_old / w_new);  // C += w W_old / W_new * delta delta^T
  weight_ = w_new;
  weight2_ += w * w;
  if (dim_ == 1) {
    // The scalar path: no Eigen expression machinery for the common univariate stream.
    const double delta = (x[0] - shift_(0)) - mean_(0);
    mean_(0) += delta * step;
    comoment_(0, 0) += spread * delta * delta;
    return;
  }
  const Eigen::Map<const Eigen::VectorXd> xv(x, dim_);
  delta_ = (xv - shift_) - mean_;
  mean_ += step * delta_;
  comoment_.selfadjointView<Eigen::Lower>().rankUpdate(delta_, spread);
}

void ExponentialGaussian::AddBlock(const double* rows, int64_t n, double w) {
  if (weight_ == 0) {
    for (int i = 0; i < dim_; ++i) shift_(i) = rows[i];
  }
  const double inverse_n = 1.0 / static_cast<double>(n);
  // Equal weights within the block, so its weighted moments are its plain two-pass moments:
  // mean_b, and C_b = w * sum (y - mean_b)(y - mean_b)^T, added to comoment_ before the merge.
  // (x - shift) - mean in two steps keeps x - shift exact near the shift (Sterbenz).
  if (dim_ == 1) {
    const double shift = shift_(0);
    double sum = 0;
    for (int64_t r = 0; r < n; ++r) sum += rows[r] - shift;
    const double mean_b = sum * inverse_n;
    double m2 = 0;
    for (int64_t r = 0; r < n; ++r) {
      const double d = (rows[r] - shift) - mean_b;
      m2 = std::fma(d, d, m2);
    }
    comoment_(0, 0) += w * m2;
    MergeMoments(w * static_cast<double>(n), w * w * static_cast<double>(n), &mean_b);
    return;
  }
  block_mean_.setZero();
  for (int64_t r = 0; r < n; ++r) {
    block_mean_ += Eigen::Map<const Eigen::VectorXd>(rows + r * dim_, dim_) - shift_;
  }
  block_mean_ *= inverse_n;
  for (int64_t r = 0; r < n; ++r) {
    delta_ = (Eigen::Map<const Eigen::VectorXd>(rows + r * dim_, dim_) - shift_) - block_mean_;
    comoment_.selfadjointView<Eigen::Lower>().rankUpdate(delta_, w);
  }
  MergeMoments(w * static_cast<double>(n), w * w * static_cast<double>(n), block_mean_.data());
}

void ExponentialGaussian::MergeMoments(double w_b, double w2_b, const double* mean_b) {
  if (weight_ == 0) {
    for (int i = 0; i < dim_; ++i) mean_(i) = mean_b[i];
    weight_ = w_b;
    weight2_ = w2_b;
    CheckWeight();
    return;
  }
  // Chan et al. with weights in place of counts: W = W_a + W_b, mean = mean_a + delta W_b / W,
  // C = C_a + C_b + delta delta^T W_a W_b / W.
  const double w_a = weight_;
  const double w_new = w_a + w_b;
  const double b_fraction = w_b / w_new;
  const double spread = w_a * b_fraction;
  weight_ = w_new;
  weight2_ += w2_b;
  if (dim_ == 1) {
    const double delta = mean_b[0] - mean_(0);
    mean_(0) += delta * b_fraction;
    comoment_(0, 0) += spread * delta * delta;
  } else {
    delta_ = Eigen::Map<const Eigen::VectorXd>(mean_b, dim_) - mean_;
    mean_ += b_fraction * delta_;
    comoment_.selfadjointView<Eigen::Lower>().rankUpdate(delta_, spread);
  }
  CheckWeight();
}

void ExponentialGaussian::AddRows(absl::Span<const double> rows, RowTimes times) {
  const size_t d = static_cast<size_t>(dim_);
  const size_t n = rows.size() / d;
  assert(rows.size() == n * d);
  for (size_t first = 0; first < n;) {
    // Rows of one time share a weight: a run of them is one block.
    const int64_t time = times[first];
    size_t end = first + 1;
    while (end < n && times[end] == time) ++end;
    const double w = WeightAt(time);
    count_ += end - first;
    if (end - first == 1) {
      AddOne(rows.data() + first * d, w);
    } else {
      AddBlock(rows.data() + first * d, static_cast<int64_t>(end - first), w);
    }
    first = end;
  }
}

absl::Status ExponentialGaussian::Merge(const Accumulator& other) {
  const auto* same = dynamic_cast<const ExponentialGaussian*>(&other);
  if (same == nullptr || same->dim_ != dim_ || same->half_life_ns_ != half_life_ns_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot merge an accumulator of another estimator, dimension or half-life (dim ",
        other.dim(), ", estimator ", mled::v1::Estimator_Name(other.kind()), ") into a ", dim_,
        "-dimensional exponential gaussian with a half-life of ", half_life_ns_, " ns"));
  }
  // A copy, brought to the common reference time (and safe when `other` is *this).
  ExponentialGaussian b = *same;
  AdvanceTo(b.reference_time_);
  b.AdvanceTo(reference_time_);
  count_ += b.count_;
  if (b.weight_ == 0) return absl::OkStatus();
  if (weight_ == 0) {
    weight_ = b.weight_;
    weight2_ = b.weight2_;
    shift_ = b.shift_;
    mean_ = b.mean_;
    comoment_ = b.comoment_;
    return absl::OkStatus();
  }
  // Re-express b's mean relative to our shift.
  b.mean_ += b.shift_ - shift_;
  comoment_.triangularView<Eigen::Lower>() += b.comoment_;
  MergeMoments(b.weight_, b.weight2_, b.mean_.data());
  return absl::OkStatus();
}

void ExponentialGaussian::Moments(Summary* out) const {
  out->count = count_;
  out->effective_count = effective_count();
  out->weight_sum = weight_;
  out->dim = dim_;
  out->nll.reset();
  const size_t d = static_cast<size_t>(dim_);
  out->mean.assign(d, 0.0);
  out->covariance.assign(d * d, 0.0);
  if (weight_ == 0) return;
  for (int i = 0; i < dim_; ++i) {
    out->mean[static_cast<size_t>(i)] = SaturateToFinite(shift_(i) + mean_(i), 0.0);
    for (int j = 0; j <= i; ++j) {
      // NaN on the diagonal is an unbounded variance; off it, an unknown correlation.
      const double c = SaturateToFinite(comoment_(i, j) / weight_, i == j ? kMaxFinite : 0.0);
      out->covariance[static_cast<size_t>(i) * d + static_cast<size_t>(j)] = c;
      out->covariance[static_cast<size_t>(j) * d + static_cast<size_t>(i)] = c;
    }
  }
}

void ExponentialGaussian::Summarize(Summary* out) const {
  Moments(out);
  const absl::StatusOr<GaussianModel> model =
      FitWeightedMle(out->effective_count, out->mean, out->covariance);
  if (model.ok()) out->nll = WeightedNllAtMle(weight_, dim_, model->log_det());
}

absl::StatusOr<GaussianModel> ExponentialGaussian::Fit() const {
  Summary s;
  Moments(&s);
  return FitWeightedMle(s.effective_count, s.mean, s.covariance);
}

void ExponentialGaussian::ToState(mled::v1::StreamState* state) const {
  state->set_version(kStreamStateVersion);
  mled::v1::ExponentialState* e = state->mutable_exponential();
  e->set_dim(static_cast<uint32_t>(dim_));
  e->set_count(count_);
  e->set_weight_sum(weight_);
  e->set_weight_square_sum(weight2_);
  e->set_reference_time_unix_nano(reference_time_);
  e->set_half_life_ns(half_life_ns_);
  e->clear_shift();
  e->clear_mean();
  e->clear_comoment();
  // Saturated like the accessors (the identity for any ordinary state; see UnivariateGaussian).
  for (int i = 0; i < dim_; ++i) {
    e->add_shift(SaturateToFinite(shift_(i), 0.0));
    e->add_mean(SaturateToFinite(mean_(i), 0.0));
  }
  for (int i = 0; i < dim_; ++i) {
    for (int j = 0; j < dim_; ++j) {
      // The full symmetric matrix, row-major, from the lower triangle.
      e->add_comoment(SaturateToFinite(i >= j ? comoment_(i, j) : comoment_(j, i)));
    }
  }
}

std::unique_ptr<Accumulator> ExponentialGaussian::Clone() const {
  return std::make_unique<ExponentialGaussian>(*this);
}

absl::StatusOr<ExponentialGaussian> ExponentialGaussian::FromState(
    const mled::v1::ExponentialState& state) {
  constexpr char kRecord[] = "exponential state";
  if (state.dim() == 0) return absl::InvalidArgumentError("exponential state: dim is 0");
  const double w = state.weight_sum();
  const double w2 = state.weight_square_sum();
  if (!std::isfinite(w) || !std::isfinite(w2) || w < 0 || w2 < 0) {
    return absl::InvalidArgumentError(absl::StrCat(kRecord, ": weight_sum (", w,
                                                   ") and weight_square_sum (", w2,
                                                   ") must be finite and >= 0"));
  }
  if ((w == 0) != (w2 == 0) ||
      (w != 0 && !(w >= kMinWeightSum && w2 >= std::numeric_limits<double>::min()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(kRecord, ": weight_sum ", w, " and weight_square_sum ", w2,
                     " must both be 0 or both positive, weight_sum >= ", kMinWeightSum));
  }
  if (state.half_life_ns() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(kRecord, ": half_life_ns is ", state.half_life_ns(), ", not > 0"));
  }
  if (absl::Status s = ValidateMoments(kRecord, "weight_sum", state.dim(), state.shift(),
                                       state.mean(), state.comoment(), w == 0);
      !s.ok()) {
    return s;
  }
  const int dim = static_cast<int>(state.dim());
  ExponentialGaussian g(dim, state.half_life_ns());
  g.count_ = state.count();
  g.weight_ = w;
  g.weight2_ = w2;
  g.reference_time_ = state.reference_time_unix_nano();
  g.shift_ = Eigen::Map<const Eigen::VectorXd>(state.shift().data(), dim);
  g.mean_ = Eigen::Map<const Eigen::VectorXd>(state.mean().data(), dim);
  // Validated symmetric, so the row-major record reads as is.
  g.comoment_ = Eigen::Map<const Eigen::MatrixXd>(state.comoment().data(), dim, dim);
  return g;
}

}  // namespace mled::stats
