#include "lib/stats/multivariate_gaussian.h"

#include <cassert>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/stats/chan_merge.h"
#include "lib/stats/finite.h"
#include "lib/stats/gaussian_state.h"

namespace mled::stats {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

MultivariateGaussian::MultivariateGaussian(int dim)
    : dim_(dim),
      shift_(Eigen::VectorXd::Zero(dim)),
      mean_(Eigen::VectorXd::Zero(dim)),
      comoment_(Eigen::MatrixXd::Zero(dim, dim)),
      delta_(dim) {
  assert(dim >= 1);
}

void MultivariateGaussian::Add(absl::Span<const double> x) {
  assert(static_cast<int>(x.size()) == dim_);
  const Eigen::Map<const Eigen::VectorXd> xv(x.data(), dim_);
  if (n_ == 0) {
    // The first sample becomes the shift (see UnivariateGaussian::Add).
    shift_ = xv;
    mean_.setZero();
    comoment_.setZero();
    n_ = 1;
    return;
  }
  ++n_;
  const double n = static_cast<double>(n_);
  delta_ = (xv - shift_) - mean_;
  mean_ += (1.0 / n) * delta_;  // a multiply, not D divisions on the dependency chain
  // Welford: C += (n-1)/n delta delta^T, a symmetric rank-1 update of the lower triangle only.
  comoment_.selfadjointView<Eigen::Lower>().rankUpdate(delta_, (n - 1) / n);
}

void MultivariateGaussian::AddBlock(absl::Span<const double> rows) {
  const Eigen::Index nb = static_cast<Eigen::Index>(rows.size()) / dim_;
  assert(static_cast<Eigen::Index>(rows.size()) == nb * dim_);
  if (nb == 0) return;
  const Eigen::Map<const RowMajorMatrix> x(rows.data(), nb, dim_);
  if (n_ == 0) shift_ = x.row(0).transpose();
  // Pass 1: the block mean of x - shift. Pass 2: deviations from it, whose co-moment Y^T Y is
  // added to the state as one symmetric rank-k update (SYRK, lower triangle; it measured faster
  // than a full GEMM). Then Chan's correction for the difference of the means.
  RowMajorMatrix y = x.rowwise() - shift_.transpose();
  const Eigen::VectorXd mean_b = y.colwise().sum().transpose() / static_cast<double>(nb);
  y.rowwise() -= mean_b.transpose();
  comoment_.selfadjointView<Eigen::Lower>().rankUpdate(y.transpose());
  if (n_ == 0) {  // an empty state has a zero co-moment: nothing to correct
    n_ = static_cast<uint64_t>(nb);
    mean_ = mean_b;
    return;
  }
  delta_ = mean_b - mean_;
  MergeDelta(static_cast<uint64_t>(nb));
}

void MultivariateGaussian::Merge(const MultivariateGaussian& other) {
  assert(other.dim_ == dim_);
  if (other.n_ == 0) return;
  if (n_ == 0) {
    *this = other;
    return;
  }
  if (&other == this) {
    // The update reads `other` while it writes *this: merge a copy.
    const MultivariateGaussian copy = other;
    Merge(copy);
    return;
  }
  // Other's mean relative to our shift, minus ours, straight into the scratch vector: merging
  // allocates nothing (the window merges once per bucket each time it rebuilds its total).
  comoment_.triangularView<Eigen::Lower>() += other.comoment_;
  delta_ = ((other.shift_ - shift_) + other.mean_) - mean_;
  MergeDelta(other.n_);
}

void MultivariateGaussian::Clear() {
  n_ = 0;
  shift_.setZero();
  mean_.setZero();
  comoment_.setZero();
}

void MultivariateGaussian::MergeDelta(uint64_t n_b) {
  const ChanWeights w = ChanMergeWeights(n_, n_b);
  mean_ += w.b_fraction * delta_;
  comoment_.selfadjointView<Eigen::Lower>().rankUpdate(delta_, w.comoment);
  n_ += n_b;
}

Eigen::VectorXd MultivariateGaussian::Mean() const {
  if (n_ == 0) return Eigen::VectorXd::Zero(dim_);
  return (shift_ + mean_).unaryExpr([](double v) { return SaturateToFinite(v, 0.0); });
}

Eigen::MatrixXd MultivariateGaussian::ScaledComoment(double divisor) const {
  Eigen::MatrixXd c = comoment_.selfadjointView<Eigen::Lower>();
  c /= divisor;
  for (Eigen::Index j = 0; j < dim_; ++j) {
    for (Eigen::Index i = 0; i < dim_; ++i) {
      // NaN on the diagonal is an unbounded variance; off it, an unknown correlation.
      c(i, j) = SaturateToFinite(c(i, j), i == j ? kMaxFinite : 0.0);
    }
  }
  return c;
}

Eigen::MatrixXd MultivariateGaussian::Covariance() const {
  if (n_ == 0) return Eigen::MatrixXd::Zero(dim_, dim_);
  return ScaledComoment(static_cast<double>(n_));
}

Eigen::MatrixXd MultivariateGaussian::UnbiasedCovariance() const {
  if (n_ < 2) return Eigen::MatrixXd::Zero(dim_, dim_);
  return ScaledComoment(static_cast<double>(n_ - 1));
}

std::optional<double> MultivariateGaussian::Nll() const { return NllAtMle(n_, Fit()); }

void MultivariateGaussian::AddRows(absl::Span<const double> rows, RowTimes /*times*/) {
  if (static_cast<int>(rows.size()) == dim_) {
    Add(rows);
  } else {
    AddBlock(rows);
  }
}

absl::Status MultivariateGaussian::Merge(const Accumulator& other) {
  const auto* same = dynamic_cast<const MultivariateGaussian*>(&other);
  if (same == nullptr || same->dim_ != dim_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot merge an accumulator of another family or dimension (dim ",
                     other.dim(), ") into a ", dim_, "-dimensional multivariate gaussian"));
  }
  Merge(*same);
  return absl::OkStatus();
}

void MultivariateGaussian::Moments(Summary* out) const {
  out->count = n_;
  out->effective_count = static_cast<double>(n_);
  out->weight_sum = static_cast<double>(n_);
  out->dim = dim_;
  out->nll.reset();
  const size_t d = static_cast<size_t>(dim_);
  // Written in place, the same arithmetic as Mean() and Covariance() without their temporaries:
  // the engine calls this before every scored sample.
  out->mean.assign(d, 0.0);
  out->covariance.assign(d * d, 0.0);
  if (n_ == 0) return;
  const double n = static_cast<double>(n_);
  for (Eigen::Index i = 0; i < dim_; ++i) {
    out->mean[static_cast<size_t>(i)] = SaturateToFinite(shift_(i) + mean_(i), 0.0);
    for (Eigen::Index j = 0; j <= i; ++j) {
      // NaN on the diagonal is an unbounded variance; off it, an unknown correlation.
      const double c = SaturateToFinite(comoment_(i, j) / n, i == j ? kMaxFinite : 0.0);
      out->covariance[static_cast<size_t>(i) * d + static_cast<size_t>(j)] = c;
      out->covariance[static_cast<size_t>(j) * d + static_cast<size_t>(i)] = c;
    }
  }
}

void MultivariateGaussian::Summarize(Summary* out) const {
  Moments(out);
  out->nll = NllAtMle(n_, FitMle(n_, out->mean, out->covariance));
}

absl::StatusOr<GaussianModel> MultivariateGaussian::Fit() const {
  const Eigen::VectorXd mean = Mean();
  const Eigen::MatrixXd covariance = Covariance();  // symmetric: row-major = column-major
  return FitMle(n_, {mean.data(), static_cast<size_t>(mean.size())},
                {covariance.data(), static_cast<size_t>(covariance.size())});
}

void MultivariateGaussian::ToState(mled::v1::StreamState* state) const {
  // Saturated like the accessors (the identity for any ordinary state; see UnivariateGaussian).
  const Eigen::VectorXd shift = shift_.unaryExpr([](double v) { return SaturateToFinite(v, 0); });
  const Eigen::VectorXd mean = mean_.unaryExpr([](double v) { return SaturateToFinite(v, 0); });
  const Eigen::MatrixXd comoment = ScaledComoment(1.0);  // full symmetric matrix
  const auto span = [](const auto& m) {
    return absl::Span<const double>(m.data(), static_cast<size_t>(m.size()));
  };
  WriteGaussianState(n_, span(shift), span(mean), span(comoment), state);
}

std::unique_ptr<Accumulator> MultivariateGaussian::Clone() const {
  return std::make_unique<MultivariateGaussian>(*this);
}

absl::StatusOr<MultivariateGaussian> MultivariateGaussian::FromState(
    const mled::v1::GaussianState& state) {
  if (absl::Status s = ValidateGaussianState(state); !s.ok()) return s;
  const int dim = static_cast<int>(state.dim());
  MultivariateGaussian g(dim);
  g.n_ = state.count();
  g.shift_ = Eigen::Map<const Eigen::VectorXd>(state.shift().data(), dim);
  g.mean_ = Eigen::Map<const Eigen::VectorXd>(state.mean().data(), dim);
  // Validated symmetric, so the row-major record reads as is.
  g.comoment_ = Eigen::Map<const Eigen::MatrixXd>(state.comoment().data(), dim, dim);
  return g;
}

}  // namespace mled::stats
