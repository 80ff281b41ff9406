#include "lib/wire/statsd.h"

#include <algorithm>
#include <charconv>
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
  // std::from_chars also takes "nan", "inf" and hex, which no StatsD client sends as a value.
  for (char c : text) {
    const bool allowed = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
                         c == '+' || c == '-';
    if (!allowed) return std::nullopt;
  }
  // std::from_chars (exact, and several times faster than absl::SimpleAtod here, which mattered
  // at millions of lines a second) takes no leading '+'.
  if (text.front() == '+') {
    text.remove_prefix(1);
    if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  }
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [parsed_to, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || parsed_to != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

// Parses one non-empty line; false when it is malformed.
bool StatsdParser::ParseLine(absl::string_view line, StatsdCounts& counts,
                             absl::FunctionRef<void(const StatsdSample&)> on_sample) {
  const size_t colon = line.find(':');
  const size_t bar = line.find('|');
  if (colon == absl::string_view::npos || bar == absl::string_view::npos || colon == 0 ||
      colon > bar) {
    return false;
  }
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value_text = line.substr(colon + 1, bar - colon - 1);
  // Fields are walked in place (no vector of them): this runs for every line at line rate.
  absl::string_view rest = line.substr(bar + 1);
  const size_t type_end = rest.find('|');
  const std::optional<StatsdType> type = ParseType(rest.substr(0, type_end));
  if (!type) return false;
  rest = type_end == absl::string_view::npos ? absl::string_view() : rest.substr(type_end + 1);

  StatsdSample sample;
  sample.type = *type;
  tags_.clear();
  for (absl::string_view field : absl::StrSplit(rest, '|', absl::SkipEmpty())) {
    if (field.front() == '@') {
      const std::optional<double> rate = ParseNumber(field.substr(1));
      if (!rate || !(*rate > 0 && *rate <= 1)) return false;
      sample.sample_rate = *rate;
    } else if (field.front() == '#') {
      for (absl::string_view tag : absl::StrSplit(field.substr(1), ',', absl::SkipEmpty())) {
        tags_.push_back(tag);
      }
    }
    // Any other field is an extension this parser does not use: skipped.
  }
  if (*type == StatsdType::kSet) {
    ++counts.lines;
    ++counts.sets;
    return true;
  }
  values_.clear();
  for (absl::string_view text : absl::StrSplit(value_text, ':')) {
    const std::optional<double> value = ParseNumber(text);
    if (!value) return false;
    // Each packed value is a delta or not by its own sign ("g:5:+1|g" sets 5, then adds 1).
    const bool delta = *type == StatsdType::kGauge && (text.front() == '+' || text.front() == '-');
    values_.push_back(PackedValue{*value, delta});
  }

  if (tags_.empty()) {
    sample.stream = name;  // the common case needs no copy
  } else {
    std::sort(tags_.begin(), tags_.end());
    tags_.erase(std::unique(tags_.begin(), tags_.end()), tags_.end());
    stream_.assign(name.data(), name.size());
    for (absl::string_view tag : tags_) {
      stream_.push_back(';');
      stream_.append(tag.data(), tag.size());
    }
    sample.stream = stream_;
  }
  ++counts.lines;
  for (const PackedValue& value : values_) {
    sample.value = value.value;
    sample.gauge_delta = value.gauge_delta;
    ++counts.samples;
    on_sample(sample);
  }
  return true;
}

StatsdCounts StatsdParser::Parse(absl::string_view datagram,
                                 absl::FunctionRef<void(const StatsdSample&)> on_sample) {
  StatsdCounts counts;
  for (absl::string_view line : absl::StrSplit(datagram, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    if (!ParseLine(line, counts, on_sample)) ++counts.malformed;
  }
  return counts;
}

StatsdCounts ParseStatsdDatagram(absl::string_view datagram,
                                 absl::FunctionRef<void(const StatsdSample&)> on_sample) {
  StatsdParser parser;
  return parser.Parse(datagram, on_sample);
}

}  // namespace mled::wire
