#include "tools/mlectl/value_text.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mled::mlectl {

std::string FormatNumber(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.6g", value) : "-";
}

std::string FormatValue(double value) {
  if (!std::isfinite(value)) return "-";
  char buffer[32];  // the longest shortest form of a double is 24 characters
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string FormatPValue(double value) {
  return std::isfinite(value) ? absl::StrFormat("%.3g", value) : "-";
}

std::string FormatList(absl::Span<const double> values, std::string (*format)(double)) {
  if (values.empty()) return "-";
  if (values.size() == 1) return format(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    absl::StrAppend(&out, i == 0 ? "" : ",", format(values[i]));
  out += "]";
  return out;
}

std::string FormatLocalTime(int64_t unix_nanos, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::FromUnixNanos(unix_nanos), zone);
}

}  // namespace mled::mlectl
