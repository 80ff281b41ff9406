// How mlectl writes numbers, lists of numbers and times as text, so that every command prints
// them alike.
//
//   FormatNumber(0.08316123)        "0.0831612"    six significant digits: what mled computed
//   FormatValue(1234567.89)         "1234567.89"   shortest exact form: what the user sent
//   FormatPValue(1.2345e-7)         "1.23e-07"     three significant digits
//   FormatList({1, 2.5}, FormatValue)  "[1,2.5]"   one value bare ("2.5"), none "-"
//   FormatLocalTime(t)              "2024-05-01 12:00:00.123"
//
// No function here ever writes NaN or Inf: a number that is not finite reads "-".
//
// Pure; thread-safe.
#ifndef MLED_TOOLS_MLECTL_VALUE_TEXT_H_
#define MLED_TOOLS_MLECTL_VALUE_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace mled::mlectl {

// Six significant digits (printf "%.6g"); "-" when not finite.
std::string FormatNumber(double value);

// The shortest text that reads back as exactly `value` (std::to_chars); "-" when not finite.
std::string FormatValue(double value);

// Three significant digits (printf "%.3g"); "-" when not finite.
std::string FormatPValue(double value);

// One value as `format` writes it, several as "[a,b,c]" (no blanks, so that the list stays one
// word for scripts), none as "-".
std::string FormatList(absl::Span<const double> values, std::string (*format)(double));

// A time in nanoseconds since the Unix epoch as "YYYY-MM-DD HH:MM:SS.mmm" in `zone`.
std::string FormatLocalTime(int64_t unix_nanos, absl::TimeZone zone = absl::LocalTimeZone());

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_VALUE_TEXT_H_
