#include "tools/mlectl/sample_reader.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mled::mlectl {
namespace {

// Parses a whole token as a double in any strtod form. Out-of-range values become ±inf or a
// subnormal, like strtod, and are left for the daemon to judge.
bool ParseValue(absl::string_view token, double* value) {
  if (token.empty() || absl::ascii_isspace(static_cast<unsigned char>(token.front()))) {
    return false;
  }
  const std::string text(token);  // strtod needs a terminator; short tokens do not allocate
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Fills `sample` from the fields after splitting; the first is the stream name.
template <typename Fields>
absl::StatusOr<bool> FillSample(const Fields& fields, ParsedSample* sample) {
  sample->values.clear();
  auto it = fields.begin();
  sample->stream.assign(it->data(), it->size());
  if (sample->stream.empty()) return absl::InvalidArgumentError("empty stream name");
  size_t field = 1;
  for (++it; it != fields.end(); ++it) {
    ++field;
    double value = 0;
    if (!ParseValue(*it, &value)) {
      return absl::InvalidArgumentError(
          it->empty() ? absl::StrCat("field ", field, " is empty")
                      : absl::StrCat("field ", field, " \"", *it, "\" is not a number"));
    }
    sample->values.push_back(value);
  }
  if (sample->values.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream \"", sample->stream, "\" has no values"));
  }
  return true;
}

}  // namespace

absl::StatusOr<SampleFormat> ParseSampleFormat(absl::string_view name) {
  if (name == "auto") return SampleFormat::kAuto;
  if (name == "lines") return SampleFormat::kLines;
  if (name == "csv") return SampleFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name, "\" (expected auto, lines or csv)"));
}

absl::StatusOr<bool> ParseSampleLine(absl::string_view line, SampleFormat format,
                                     ParsedSample* sample) {
  line = absl::StripAsciiWhitespace(line);  // also drops the '\r' of CRLF files
  if (line.empty() || line.front() == '#') return false;
  if (format == SampleFormat::kAuto) {
    format = line.find(',') != absl::string_view::npos ? SampleFormat::kCsv : SampleFormat::kLines;
  }
  if (format == SampleFormat::kCsv) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    std::vector<absl::string_view> stripped;
    stripped.reserve(fields.size());
    for (absl::string_view field : fields) stripped.push_back(absl::StripAsciiWhitespace(field));
    return FillSample(stripped, sample);
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  return FillSample(fields, sample);
}

SampleReader::SampleReader(std::istream* in, std::string name, SampleFormat format)
    : in_(in), name_(std::move(name)), format_(format) {}

bool SampleReader::InputAtHand() const { return in_->rdbuf()->in_avail() > 0; }

absl::StatusOr<bool> SampleReader::Next(ParsedSample* sample) {
  while (std::getline(*in_, text_)) {
    ++line_;
    absl::StatusOr<bool> parsed = ParseSampleLine(text_, format_, sample);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ":", line_, ": ", parsed.status().message()));
    }
    if (*parsed) return true;
  }
  if (in_->bad()) {
    return absl::DataLossError(absl::StrCat(name_, ": read failed after line ", line_));
  }
  return false;
}

}  // namespace mled::mlectl
