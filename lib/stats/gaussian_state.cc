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

absl::Status CheckFinite(absl::string_view record,
                         const google::protobuf::RepeatedField<double>& values, const char* field) {
  for (int i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(record, ": ", field, "[", i, "] is not finite (", values[i], ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckZero(absl::string_view record, absl::string_view empty_field,
                       const google::protobuf::RepeatedField<double>& values, const char* field) {
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] != 0) {
      return absl::InvalidArgumentError(absl::StrCat(record, ": ", empty_field, " is 0 but ", field,
                                                     "[", i, "] is ", values[i], ", not 0"));
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
  if (state.dim() == 0) return absl::InvalidArgumentError("gaussian state: dim is 0");
  return ValidateMoments("gaussian state", "count", state.dim(), state.shift(), state.mean(),
                         state.comoment(), state.count() == 0);
}

absl::Status ValidateMoments(absl::string_view record, absl::string_view empty_field, uint64_t dim,
                             const google::protobuf::RepeatedField<double>& shift,
                             const google::protobuf::RepeatedField<double>& mean,
                             const google::protobuf::RepeatedField<double>& comoment, bool empty) {
  // Sizes first, in 64 bits, so a corrupt dim cannot make anyone allocate dim² doubles.
  if (static_cast<uint64_t>(shift.size()) != dim || static_cast<uint64_t>(mean.size()) != dim ||
      static_cast<uint64_t>(comoment.size()) != dim * dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        record, ": dim ", dim, " needs ", dim, " shift, ", dim, " mean and ", dim * dim,
        " comoment values; got ", shift.size(), ", ", mean.size(), " and ", comoment.size()));
  }
  if (absl::Status s = CheckFinite(record, shift, "shift"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(record, mean, "mean"); !s.ok()) return s;
  if (absl::Status s = CheckFinite(record, comoment, "comoment"); !s.ok()) return s;
  if (empty) {
    if (absl::Status s = CheckZero(record, empty_field, mean, "mean"); !s.ok()) return s;
    if (absl::Status s = CheckZero(record, empty_field, comoment, "comoment"); !s.ok()) return s;
  }
  const int d = static_cast<int>(dim);
  for (int i = 0; i < d; ++i) {
    if (comoment[i * d + i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(record, ": comoment diagonal [", i,
                                                     "] is negative (", comoment[i * d + i], ")"));
    }
    for (int j = 0; j < i; ++j) {
      if (comoment[i * d + j] != comoment[j * d + i]) {
        return absl::InvalidArgumentError(absl::StrCat(record, ": comoment is not symmetric at (",
                                                       i, ",", j, "): ", comoment[i * d + j],
                                                       " vs ", comoment[j * d + i]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace mled::stats
