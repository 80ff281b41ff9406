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
// or common_flags.cc when several commands share one); `ParseCommandLine` sets them through
// absl's reflection, accepting only the flags of the command being run, so `mlectl query --udp`
// is a usage error rather than silently ignored.
//
// Not thread-safe: parse on the main thread before starting any other.
#ifndef MLED_TOOLS_MLECTL_COMMAND_H_
#define MLED_TOOLS_MLECTL_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mled::mlectl {

// Exit codes, the same for every command (and listed by `mlectl --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure: connection, daemon error, rejections
inline constexpr int kExitUsage = 2;    // bad command line

// One flag a command accepts. `default_value` (in the flag's text syntax) replaces the flag's own
// default for this command; empty keeps it. `validate`, if set, checks the value once parsed;
// its error is a usage error.
struct FlagSpec {
  absl::string_view name;
  absl::string_view default_value = {};
  absl::Status (*validate)() = nullptr;
};

struct Command {
  absl::string_view name;
  absl::string_view arguments;    // positional arguments for the usage line, e.g. "[FILE|-]"
  absl::string_view summary;      // one line for `mlectl --help`
  absl::string_view description;  // the paragraphs of `mlectl help NAME`, ending in a newline
  std::vector<FlagSpec> flags;
  // Runs the command with its positional arguments, after its flags were parsed; returns the
  // process exit code.
  int (*run)(const std::vector<std::string>& positional);
};

struct ParsedCommandLine {
  bool help = false;  // --help or -h was given: print the command's help and do nothing else
  std::vector<std::string> positional;
};

// Applies `command`'s flag defaults, then parses `args` (the words after the command name):
// `--name=value`, `--name value`, `--bool`, `--nobool`, `--` ending the flags, one or two
// leading dashes. INVALID_ARGUMENT, with a message fit for UsageError, for a flag the command
// does not take or a value that does not parse.
absl::StatusOr<ParsedCommandLine> ParseCommandLine(const Command& command,
                                                   const std::vector<std::string>& args);

// The text of `mlectl help NAME`: usage line, description, and every flag with its default and
// help text (taken from the flag's definition, so it cannot drift).
std::string CommandHelp(const Command& command);

// Prints "mlectl: MESSAGE" to stderr and returns kExitFailure.
int Fail(const absl::Status& status);

// Prints "mlectl NAME: MESSAGE" and where to find help to stderr; returns kExitUsage.
int UsageError(const Command& command, absl::string_view message);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_COMMAND_H_
