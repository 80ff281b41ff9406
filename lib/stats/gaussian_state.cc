#include "lib/stats/gaussian_state.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/repeated_field.h"

namespace mled::stats {
namespace {

void Assign(absl::Span<const double> values, google::protobuf::RepeatedField<double>* out) {
  out->Clear();
  out->Add(values.begin(), values.end());
}

absl::Status CheckFinite(const google::protobuf::RepeatedField<double>& values, const char* field) {
  for (int i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("gaussian state: ", field, "[", i, "] is not finite (", values[i], ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckZero(const google::protobuf::RepeatedField<double>& values, const char* field) {
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] != 0) {
      return absl::InvalidArgumentError(absl::StrCat("gaussian state: count is 0 but ", field, "[",
                                                     i, "] is ", values[i], ", not 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void WriteGaussianState(uint64_t count, absl::Span<const double> shift,
                        absl::Span<const double> mean, absl::Span<const double> comoment,
                        mled::v1::StreamState* state) {
  state->set_version(kStreamStateVersion);
  mled::v1::GaussianState* gaussian = state->mutable_gaussian();
  gaussian->set_count(count);
  gaussian->set_dim(static_cast<uint32_t>(mean.size()));
  Assign(shift, gaussian->mutable_shift());
  Assign(mean, gaussian->mutable_mean());
  Assign(comoment, gaussian->mutable_comoment());
}

absl::Status ValidateGaussianState(const mled::v1::GaussianState& state) {
  const uint64_t dim = state.dim();
  if (dim == 0) return absl::InvalidArgumentError("gaussian state: dim is 0");
  // Sizes first, in 64 bits, so a corrupt dim cannot make anyone allocate dim² doubles.
  if (static_cast<uint64_t>(state.shift_size()) != dim ||
      static_cast<uint64_t>(state.mean_size()) != dim ||
      static_cast<uint64_t>(state.comoment_size()) != dim * dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("gaussian state: dim ", dim, " needs ", dim, " shift, ", dim, " mean and ",
                     dim * dim, " comoment values; got ", state.shift_size(), ", ",
                     state.mean_size(), " and ", state.comoment_size()));
  }
  if (absl::Status s = CheckFinite(state.shift(), "shift"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(state.mean(), "mean"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(state.comoment(), "comoment"); !s.ok()) return s;
  if (state.count() == 0) {
    if (absl::Status s = CheckZero(state.mean(), "mean"); !s.ok()) return s;
    if (absl::Status s = CheckZero(state.comoment(), "comoment"); !s.ok()) return s;
  }
  const auto& c = state.comoment();
  const int d = static_cast<int>(dim);
  for (int i = 0; i < d; ++i) {
    if (c[i * d + i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("gaussian state: comoment diagonal [", i,
                                                     "] is negative (", c[i * d + i], ")"));
    }
    for (int j = 0; j < i; ++j) {
      if (c[i * d + j] != c[j * d + i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("gaussian state: comoment is not symmetric at (", i, ",", j,
                         "): ", c[i * d + j], " vs ", c[j * d + i]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace mled::stats
