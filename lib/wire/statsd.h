// Parsing StatsD datagrams (etsy StatsD and DogStatsD line formats) into samples, for the StatsD
// ingest of issue 4. Pure functions; thread-safe.
//
// A datagram holds lines separated by '\n' (a trailing newline, or "\r\n", is fine):
//
//   name:value|type[|@rate][|#tag:value,key_only,...][|unknown fields...]
//
// - type: g (gauge), ms (timer), h (histogram), d (distribution), c (counter), s (set).
// - value: any JavaScript or C decimal number ("1e-7", "1e+21", ".5"); finite. A gauge whose
//   value starts with '+' or '-' is a delta to the gauge's last value (StatsD's rule). DogStatsD
//   packs several values into one line as "name:1:2:3|d"; each is a sample.
// - @rate: the client's sampling rate, in (0, 1].
// - #tags: DogStatsD tags, folded into the stream name in a form that does not depend on the
//   order the client wrote them: "name;tag1;tag2" with the tags ("k:v" or "key_only") sorted
//   and duplicates dropped, so `x:1|g|#b:2,a:1` and `x:1|g|#a:1,b:2` are the same stream
//   "x;a:1;b:2".
// - Other fields (DogStatsD's "|c:container", "|T<timestamp>", "|card:...", "|e:...") are
//   skipped, not errors.
// A line that does not parse is counted as malformed and skipped; the rest of the datagram is
// still parsed. Set lines (|s) are counted and not turned into samples (a set's members are
// not numbers).
#ifndef MLED_LIB_WIRE_STATSD_H_
#define MLED_LIB_WIRE_STATSD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace mled::wire {

enum class StatsdType { kGauge, kTimer, kHistogram, kDistribution, kCounter, kSet };

// One value of one line.
struct StatsdSample {
  // The metric name with its tags folded in (see above); a view valid during the callback.
  absl::string_view stream;
  double value = 0;
  StatsdType type = StatsdType::kGauge;
  // A gauge delta ("+3", "-5"): `value` is signed and adds to the gauge's last value.
  bool gauge_delta = false;
  // The client's sampling rate, in (0, 1].
  double sample_rate = 1;
};

struct StatsdCounts {
  uint64_t lines = 0;      // lines that parsed (sets included)
  uint64_t samples = 0;    // samples handed to the callback
  uint64_t malformed = 0;  // lines skipped as unparseable
  uint64_t sets = 0;       // set lines, counted and skipped
};

// Parses datagrams with scratch buffers it keeps between calls, so a warmed-up parser allocates
// nothing per line or datagram (the StatsD listener keeps one per socket). Thread-compatible.
class StatsdParser {
 public:
  // Parses every line of `datagram`, calling `on_sample` for each value of each valid non-set
  // line, in order. A sample's `stream` view is valid during its callback only.
  StatsdCounts Parse(absl::string_view datagram,
                     absl::FunctionRef<void(const StatsdSample&)> on_sample);

 private:
  bool ParseLine(absl::string_view line, StatsdCounts& counts,
                 absl::FunctionRef<void(const StatsdSample&)> on_sample);

  struct PackedValue {
    double value;
    bool gauge_delta;
  };
  std::string stream_;
  std::vector<absl::string_view> tags_;
  std::vector<PackedValue> values_;
};

// One-off form of StatsdParser::Parse.
StatsdCounts ParseStatsdDatagram(absl::string_view datagram,
                                 absl::FunctionRef<void(const StatsdSample&)> on_sample);

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_STATSD_H_
