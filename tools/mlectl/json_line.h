// One protobuf message as one line of JSON, for the --json output of every command.
//
// The canonical proto3 JSON mapping (lowerCamelCase names, 64-bit integers as strings), on a
// single line, with zero-valued counters printed rather than left out. Fields with explicit
// presence (`Estimate.nll`, `Estimate.mean_nll`) appear only when set, so a degenerate model
// has no "nll" key, never a NaN.
//
// Thread-safe.
#ifndef MLED_TOOLS_MLECTL_JSON_LINE_H_
#define MLED_TOOLS_MLECTL_JSON_LINE_H_

#include <string>

#include "google/protobuf/message.h"

namespace mled::mlectl {

// The JSON text, without a trailing newline.
std::string ToJsonLine(const google::protobuf::Message& message);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_JSON_LINE_H_
