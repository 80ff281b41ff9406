// Reading samples from text, the input of `mlectl send`.
//
// One sample per line, in either of two forms:
//
//   cpu.load 0.75              stream name, then its D values, separated by spaces or tabs
//   pos/robot1 1.5 -2 0x1p-3
//   cpu.load,0.75              CSV: stream name, then the values, separated by commas
//   pos/robot1, 1.5, -2, 3e-2  (spaces around fields are ignored)
//
// With SampleFormat::kAuto a line containing a comma is CSV, any other uses whitespace; a file
// may mix both. Blank lines and lines whose first non-blank character is `#` are skipped. Values
// take any form strtod accepts (decimal, exponent, hex float); "nan" and "inf" are passed on,
// because judging values is the daemon's job and its validation is what users should see. Stream
// names are passed on as they are, for the same reason. Any other token that is not a number is
// an error naming the line and the token.
//
// Pure: no I/O beyond the std::istream it is given. Not thread-safe.
#ifndef MLED_TOOLS_MLECTL_SAMPLE_READER_H_
#define MLED_TOOLS_MLECTL_SAMPLE_READER_H_

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mled::mlectl {

enum class SampleFormat { kAuto, kLines, kCsv };

// "auto", "lines" or "csv"; INVALID_ARGUMENT otherwise.
absl::StatusOr<SampleFormat> ParseSampleFormat(absl::string_view name);

struct ParsedSample {
  std::string stream;
  std::vector<double> values;
};

// Parses one line (without its newline; a trailing '\r' is ignored). Returns false for a blank or
// comment line. INVALID_ARGUMENT for a line with no values or a token that is not a number; the
// message names the field, not the line, which the caller knows.
absl::StatusOr<bool> ParseSampleLine(absl::string_view line, SampleFormat format,
                                     ParsedSample* sample);

// Reads samples line by line from a stream, counting lines.
class SampleReader {
 public:
  // `name` prefixes error messages ("data.txt:12: ..."); `in` must outlive the reader.
  SampleReader(std::istream* in, std::string name, SampleFormat format);

  SampleReader(const SampleReader&) = delete;
  SampleReader& operator=(const SampleReader&) = delete;

  // Reads the next sample into `sample` (reused); false at the end of the input.
  // INVALID_ARGUMENT, with the input's name and line number, for a line that does not parse;
  // DATA_LOSS if reading fails.
  absl::StatusOr<bool> Next(ParsedSample* sample);

  // Whether input is at hand, so that Next will not wait for a slow source (a terminal, a pipe,
  // `tail -f`) to write more: some of it is buffered or readable now. False at the end too.
  bool InputAtHand() const;

  // The line number (from 1) of the sample returned last, or of the line that failed.
  int64_t line() const { return line_; }

 private:
  std::istream* in_;
  std::string name_;
  SampleFormat format_;
  std::string text_;  // the current line, reused
  int64_t line_ = 0;
};

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_SAMPLE_READER_H_
