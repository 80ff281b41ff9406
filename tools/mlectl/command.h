// An mlectl command, the parsing of its command line, and the exit codes every command shares.
//
// Each command file defines one `Command`: its name, a summary for `mlectl --help`, a description
// for `mlectl help NAME`, the absl flags it accepts (by name, optionally with a default of its
// own) and its entry point. main.cc only lists the commands and dispatches:
//
//   absl::StatusOr<ParsedCommandLine> parsed = ParseCommandLine(SendCommand(), args);
//   if (!parsed.ok()) return UsageError(SendCommand(), parsed.status().message());
//   return SendCommand().run(parsed->positional);
//
// The flags themselves are ordinary ABSL_FLAGs (one definition each, in the file that uses them,
// or common_flags.cc when several commands share one); lib/base/command_line.h parses them.
//
// Not thread-safe: parse on the main thread before starting any other.
#ifndef MLED_TOOLS_MLECTL_COMMAND_H_
#define MLED_TOOLS_MLECTL_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/base/command_line.h"

namespace mled::mlectl {

// Exit codes, the same for every command (and listed by `mlectl --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure: connection, daemon error, rejections
inline constexpr int kExitUsage = 2;    // bad command line

using cli::Command;
using cli::FlagSpec;
using cli::ParseCommandLine;
using cli::ParsedCommandLine;

// The text of `mlectl help NAME` (lib/base/command_line.h) with the exit codes.
std::string CommandHelp(const Command& command);

// Prints "mlectl: MESSAGE" to stderr and returns kExitFailure.
int Fail(const absl::Status& status);

// Prints "mlectl NAME: MESSAGE" and where to find help to stderr; returns kExitUsage.
int UsageError(const Command& command, absl::string_view message);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_COMMAND_H_
