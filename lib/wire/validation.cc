#include "lib/wire/validation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/base/status_macros.h"

namespace mled::wire {
namespace {

// Validation runs once per sample on the ingest path. On success it builds no string and
// allocates nothing (an OK absl::Status is a plain integer). Every message is built by a cold,
// out-of-line function below, so that string formatting neither bloats the hot loops nor gives
// them a large stack frame.
#define MLED_COLD ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE

MLED_COLD absl::Status NameEmpty() {
  return absl::InvalidArgumentError("stream name is empty; every sample and batch needs one");
}

MLED_COLD absl::Status NameTooLong(size_t bytes, uint32_t limit) {
  return absl::InvalidArgumentError(
      absl::StrCat("stream name is ", bytes, " bytes; the limit is ", limit, " (max_name_bytes)"));
}

MLED_COLD absl::Status NameNotUtf8(size_t at) {
  return absl::InvalidArgumentError(
      absl::StrCat("stream name is not valid UTF-8 at byte ", at, "; send names as UTF-8 text"));
}

MLED_COLD absl::Status NameHasControl(uint32_t code_point, size_t at) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "stream name contains control character U+%04X at byte %u; remove it", code_point, at));
}

MLED_COLD absl::Status ValueError(double value, size_t index, double bound) {
  if (std::isnan(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("value ", index, " is NaN; values must be finite"));
  }
  if (std::isinf(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value ", index, " is ", value > 0 ? "+Inf" : "-Inf", "; values must be finite"));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "value %u is %g; the limit is |value| <= %g (max_abs_value): rescale the values or raise "
      "the limit",
      index, value, bound));
}

MLED_COLD absl::Status SampleTooWide(size_t values, uint32_t max_dim) {
  return absl::ResourceExhaustedError(
      absl::StrCat("sample has ", values, " values; max_dim is ", max_dim));
}

MLED_COLD absl::Status BatchTooWide(uint32_t dim, uint32_t max_dim) {
  return absl::ResourceExhaustedError(
      absl::StrCat("batch has dim ", dim, "; max_dim is ", max_dim));
}

MLED_COLD absl::Status BatchNotWholeRows(size_t values, uint32_t dim) {
  return absl::InvalidArgumentError(absl::StrCat("batch has ", values,
                                                 " values, not a multiple of dim ", dim,
                                                 "; send whole rows of dim values each"));
}

MLED_COLD absl::Status BatchTimesMismatch(size_t rows, size_t times) {
  return absl::InvalidArgumentError(
      absl::StrCat("batch has ", rows, " rows but ", times,
                   " times; send no times (time of receipt) or one per row"));
}

#undef MLED_COLD

// --- Names ---------------------------------------------------------------------------------

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
constexpr uint64_t kOnes = 0x0101010101010101ULL;

// True when all eight bytes of `word` are printable ASCII (0x20..0x7E).
inline bool AllPrintableAscii(uint64_t word) {
  if ((word & kHighBits) != 0) return false;
  // With every byte below 0x80 no byte-wise subtraction or addition carries into the high bit of
  // the next byte except from a byte that itself matched, so these flag presence exactly:
  // (word - 0x20..) & ~word sets a high bit for a byte below 0x20 (C0 controls), and
  // word + 0x01.. sets one for a byte equal to 0x7F (DEL).
  const uint64_t below_space = (word - 0x20 * kOnes) & ~word;
  const uint64_t del = word + kOnes;
  return ((below_space | del) & kHighBits) == 0;
}

// Whether the whole name is printable ASCII, the common case, decided a word at a time. The tail
// shorter than a word is read as the last word of the name, overlapping bytes already checked,
// or, for a name shorter than a word, copied over a word of spaces. Precondition: n > 0.
inline bool AllPrintableAscii(const uint8_t* p, size_t n) {
  uint64_t word;
  if (n < sizeof word) {
    word = 0x20 * kOnes;
    std::memcpy(&word, p, n);
    return AllPrintableAscii(word);
  }
  size_t i = 0;
  for (; i + sizeof word <= n; i += sizeof word) {
    std::memcpy(&word, p + i, sizeof word);
    if (!AllPrintableAscii(word)) return false;
  }
  if (i == n) return true;
  std::memcpy(&word, p + n - sizeof word, sizeof word);
  return AllPrintableAscii(word);
}

inline bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// Checks the multi-byte sequence whose lead byte is p[i] (>= 0x80) against the well-formed
// sequences of the Unicode standard (table 3-7), which exclude overlong forms, surrogates and
// code points above U+10FFFF by restricting the second byte. Returns the sequence's length, or 0
// when it is ill-formed or truncated. Sets `*c1_control` for U+0080..U+009F.
inline size_t Utf8SequenceLength(const uint8_t* p, size_t i, size_t n, bool* c1_control) {
  const uint8_t lead = p[i];
  size_t length;
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {  // C0 and C1 would be overlong
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong below U+0800
    if (lead == 0xED) second_max = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong below U+10000
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a stray continuation byte, or a lead byte that no valid sequence uses
  }
  if (n - i < length) return 0;
  const uint8_t second = p[i + 1];
  if (second < second_min || second > second_max) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (!IsContinuation(p[i + k])) return 0;
  }
  // U+0080..U+009F encode as C2 80..C2 9F.
  *c1_control = lead == 0xC2 && second <= 0x9F;
  return length;
}

// The general check, which also finds the offending byte: ASCII a word at a time where it can,
// other bytes one sequence at a time.
absl::Status ValidateNameBytes(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if (AllPrintableAscii(word)) {
        i += 8;
        continue;
      }
    }
    const uint8_t byte = p[i];
    if (byte < 0x80) {
      if (byte < 0x20 || byte == 0x7F) return NameHasControl(byte, i);
      ++i;
      continue;
    }
    bool c1_control = false;
    const size_t length = Utf8SequenceLength(p, i, n, &c1_control);
    if (length == 0) return NameNotUtf8(i);
    if (c1_control) return NameHasControl(((byte & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu), i);
    i += length;
  }
  return absl::OkStatus();
}

// --- Values --------------------------------------------------------------------------------

// Whether any of v[0..n) fails |v| <= bound (NaN fails every comparison). Written as an OR
// reduction into an int, the form GCC's loop vectorizer accepts; a bool `&=` or an early exit
// keeps the loop scalar.
bool AnyOutOfBound(const double* v, size_t n, double bound) {
  int out = 0;
  for (size_t i = 0; i < n; ++i) out |= !(std::fabs(v[i]) <= bound);
  return out != 0;
}

}  // namespace

absl::Status ValidateStreamName(std::string_view name, const IngestLimits& limits) {
  const size_t n = name.size();
  if (n == 0) return NameEmpty();
  if (n > limits.max_name_bytes) return NameTooLong(n, limits.max_name_bytes);
  const auto* p = reinterpret_cast<const uint8_t*>(name.data());
  if (AllPrintableAscii(p, n)) return absl::OkStatus();
  return ValidateNameBytes(p, n);
}

absl::Status ValidateValues(absl::Span<const double> values, const IngestLimits& limits) {
  // "Finite" folds into the one comparison: NaN fails every comparison and ±Inf exceeds any
  // finite bound. The bound is clamped to the largest finite double so that a limit of +Inf (or
  // a NaN from a bad config) still rejects non-finite values.
  constexpr double kLargest = std::numeric_limits<double>::max();
  const double bound = limits.max_abs_value < kLargest ? limits.max_abs_value : kLargest;
  const double* v = values.data();
  const size_t n = values.size();
  // A Sample has a handful of values, for which a plain loop beats setting up vectors.
  constexpr size_t kShort = 16;
  if (n <= kShort) {
    for (size_t i = 0; i < n; ++i) {
      if (!(std::fabs(v[i]) <= bound)) return ValueError(v[i], i, bound);
    }
    return absl::OkStatus();
  }
  // Batches: chunks checked by the vectorized loop; only a chunk that holds a bad value is
  // searched again for its index.
  constexpr size_t kChunk = 256;
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t end = std::min(n, start + kChunk);
    if (!AnyOutOfBound(v + start, end - start, bound)) continue;
    for (size_t i = start; i < end; ++i) {
      if (!(std::fabs(v[i]) <= bound)) return ValueError(v[i], i, bound);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSample(const mled::v1::Sample& sample, const IngestLimits& limits) {
  RETURN_IF_ERROR(ValidateStreamName(sample.stream(), limits));
  const size_t size = static_cast<size_t>(sample.x_size());
  if (size == 0) return absl::InvalidArgumentError("sample has no values");
  if (size > limits.max_dim) return SampleTooWide(size, limits.max_dim);
  return ValidateValues(sample.x(), limits);
}

absl::Status ValidateBatchShape(const mled::v1::StreamBatch& batch, const IngestLimits& limits) {
  RETURN_IF_ERROR(ValidateStreamName(batch.stream(), limits));
  const uint32_t dim = BatchDim(batch);
  if (dim > limits.max_dim) return BatchTooWide(dim, limits.max_dim);
  const size_t values = static_cast<size_t>(batch.values_size());
  if (values == 0) return absl::InvalidArgumentError("batch has no values");
  if (values % dim != 0) return BatchNotWholeRows(values, dim);
  const size_t rows = values / dim;
  const size_t times = static_cast<size_t>(batch.time_unix_nano_size());
  if (times != 0 && times != rows) return BatchTimesMismatch(rows, times);
  return absl::OkStatus();
}

absl::Status ValidateSampleTime(int64_t time_unix_nano, int64_t receipt_time_unix_nano,
                                const IngestLimits& limits) {
  // Saturating: receipt + limit must not overflow for times near INT64_MAX.
  const int64_t latest = receipt_time_unix_nano > std::numeric_limits<int64_t>::max() -
                                                      limits.max_time_ahead_ns
                             ? std::numeric_limits<int64_t>::max()
                             : receipt_time_unix_nano + limits.max_time_ahead_ns;
  if (time_unix_nano <= latest) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "sample time %d ns is %.3g s ahead of the daemon's clock (limit %.3g s, max_time_ahead); "
      "send Unix time in nanoseconds, or 0 for the time of receipt",
      time_unix_nano,
      (static_cast<double>(time_unix_nano) - static_cast<double>(receipt_time_unix_nano)) * 1e-9,
      static_cast<double>(limits.max_time_ahead_ns) * 1e-9));
}

}  // namespace mled::wire
