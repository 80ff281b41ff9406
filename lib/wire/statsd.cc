#include "lib/wire/statsd.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mled::wire {
namespace {

std::optional<StatsdType> ParseType(absl::string_view text) {
  if (text == "g") return StatsdType::kGauge;
  if (text == "ms") return StatsdType::kTimer;
  if (text == "h") return StatsdType::kHistogram;
  if (text == "d") return StatsdType::kDistribution;
  if (text == "c") return StatsdType::kCounter;
  if (text == "s") return StatsdType::kSet;
  return std::nullopt;
}

// A finite decimal number, as JavaScript and C print them; nullopt otherwise.
std::optional<double> ParseNumber(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  // SimpleAtod also takes "nan", "inf" and hex, which no StatsD client sends as a value.
  for (char c : text) {
    const bool allowed = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
                         c == '+' || c == '-';
    if (!allowed) return std::nullopt;
  }
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Parses one non-empty line; false when it is malformed.
bool ParseLine(absl::string_view line, std::string& stream, std::vector<std::string_view>& tags,
               std::vector<double>& values, StatsdCounts& counts,
               absl::FunctionRef<void(const StatsdSample&)> on_sample) {
  const size_t colon = line.find(':');
  const size_t bar = line.find('|');
  if (colon == absl::string_view::npos || bar == absl::string_view::npos || colon == 0 ||
      colon > bar) {
    return false;
  }
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value_text = line.substr(colon + 1, bar - colon - 1);
  std::vector<absl::string_view> fields = absl::StrSplit(line.substr(bar + 1), '|');
  const std::optional<StatsdType> type = ParseType(fields[0]);
  if (!type) return false;

  StatsdSample sample;
  sample.type = *type;
  tags.clear();
  for (size_t i = 1; i < fields.size(); ++i) {
    const absl::string_view field = fields[i];
    if (absl::StartsWith(field, "@")) {
      const std::optional<double> rate = ParseNumber(field.substr(1));
      if (!rate || !(*rate > 0 && *rate <= 1)) return false;
      sample.sample_rate = *rate;
    } else if (absl::StartsWith(field, "#")) {
      for (absl::string_view tag : absl::StrSplit(field.substr(1), ',', absl::SkipEmpty())) {
        tags.push_back(std::string_view(tag.data(), tag.size()));
      }
    }
    // Any other field is an extension this parser does not use: skipped.
  }
  if (*type == StatsdType::kSet) {
    ++counts.lines;
    ++counts.sets;
    return true;
  }
  values.clear();
  for (absl::string_view text : absl::StrSplit(value_text, ':')) {
    const std::optional<double> value = ParseNumber(text);
    if (!value) return false;
    values.push_back(*value);
  }
  sample.gauge_delta =
      *type == StatsdType::kGauge && (value_text.front() == '+' || value_text.front() == '-');

  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  stream.assign(name.data(), name.size());
  for (std::string_view tag : tags) {
    stream.push_back(';');
    stream.append(tag);
  }
  sample.stream = stream;
  ++counts.lines;
  for (double value : values) {
    sample.value = value;
    ++counts.samples;
    on_sample(sample);
  }
  return true;
}

}  // namespace

StatsdCounts ParseStatsdDatagram(absl::string_view datagram,
                                 absl::FunctionRef<void(const StatsdSample&)> on_sample) {
  StatsdCounts counts;
  std::string stream;
  std::vector<std::string_view> tags;
  std::vector<double> values;
  for (absl::string_view line : absl::StrSplit(datagram, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    if (!ParseLine(line, stream, tags, values, counts, on_sample)) ++counts.malformed;
  }
  return counts;
}

}  // namespace mled::wire
