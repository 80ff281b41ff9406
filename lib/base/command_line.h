// Command-line parsing over Abseil flags, shared by mled and mlectl.
//
// A `Command` names the ABSL_FLAGs it accepts; ParseCommandLine sets them through absl's
// reflection, accepting only those (so `mlectl query --udp` is a usage error rather than
// silently ignored), reports which were given (so given flags can override a config file), and
// never exits the process: errors come back as INVALID_ARGUMENT for the caller to print with its
// own exit code. (absl::ParseCommandLine exits with 1 on a bad flag and on --help.)
//
//   absl::StatusOr<ParsedCommandLine> parsed = ParseCommandLine(SendCommand(), args);
//   if (!parsed.ok()) return UsageError(SendCommand(), parsed.status().message());
//   return SendCommand().run(parsed->positional);
//
// Not thread-safe: parse on the main thread before starting any other.
#ifndef MLED_LIB_BASE_COMMAND_LINE_H_
#define MLED_LIB_BASE_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mled::cli {

// One flag a command accepts. `default_value` (in the flag's text syntax) replaces the flag's own
// default for this command; empty keeps it. `validate`, if set, checks the value once parsed;
// its error is a usage error.
struct FlagSpec {
  absl::string_view name;
  absl::string_view default_value = {};
  absl::Status (*validate)() = nullptr;
};

struct Command {
  absl::string_view name;         // empty for a program without subcommands (mled)
  absl::string_view arguments;    // positional arguments for the usage line, e.g. "[FILE|-]"
  absl::string_view summary;      // one line for a list of commands
  absl::string_view description;  // the paragraphs of the help text, ending in a newline
  std::vector<FlagSpec> flags;
  // Runs the command with its positional arguments, after its flags were parsed; returns the
  // process exit code.
  int (*run)(const std::vector<std::string>& positional);
};

struct ParsedCommandLine {
  bool help = false;  // --help or -h was given: print the command's help and do nothing else
  std::vector<std::string> positional;
  // Names of the flags given on the command line (whatever their value).
  absl::flat_hash_set<std::string> given;
};

// Applies `command`'s flag defaults, then parses `args` (the words after the program or command
// name): `--name=value`, `--name value`, `--bool`, `--nobool`, `--` ending the flags, one or two
// leading dashes. INVALID_ARGUMENT, with a one-line message, for a flag the command does not
// take or a value that does not parse.
absl::StatusOr<ParsedCommandLine> ParseCommandLine(const Command& command,
                                                   const std::vector<std::string>& args);

// The help text: "usage: PROGRAM [NAME] [flags] ARGUMENTS", the description, and every flag with
// its default and help text (taken from the flag's definition, so it cannot drift).
std::string CommandHelp(absl::string_view program, const Command& command);

}  // namespace mled::cli

#endif  // MLED_LIB_BASE_COMMAND_LINE_H_
