#include "lib/base/command_line.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mled::cli {
namespace {

const FlagSpec* FindSpec(const Command& command, absl::string_view name) {
  for (const FlagSpec& spec : command.flags) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// The absl flag behind `spec`. Every name in a Command's table is defined in the program; a
// missing one is a programming error caught by the help tests.
absl::CommandLineFlag& FlagOf(const FlagSpec& spec) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(spec.name);
  if (flag == nullptr) {
    std::fprintf(stderr, "internal error: flag --%.*s is not defined\n",
                 static_cast<int>(spec.name.size()), spec.name.data());
    std::abort();
  }
  return *flag;
}

}  // namespace

absl::StatusOr<ParsedCommandLine> ParseCommandLine(const Command& command,
                                                   const std::vector<std::string>& args) {
  for (const FlagSpec& spec : command.flags) {
    std::string error;
    if (!spec.default_value.empty() && !FlagOf(spec).ParseFrom(spec.default_value, &error)) {
      return absl::InternalError(absl::StrCat("bad default for --", spec.name, ": ", error));
    }
  }
  ParsedCommandLine parsed;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    const size_t equals = arg.find('=');
    const absl::string_view name = arg.substr(0, equals);
    if (name == "help" || name == "h") {
      parsed.help = true;
      continue;
    }
    const FlagSpec* spec = FindSpec(command, name);
    std::string value;
    bool has_value = equals != absl::string_view::npos;
    if (has_value) value = std::string(arg.substr(equals + 1));
    if (spec == nullptr && absl::StartsWith(name, "no") && !has_value) {
      spec = FindSpec(command, name.substr(2));
      if (spec != nullptr && !FlagOf(*spec).IsOfType<bool>()) spec = nullptr;
      value = "false";
      has_value = true;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    absl::CommandLineFlag& flag = FlagOf(*spec);
    if (!has_value) {
      if (flag.IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    std::string error;
    if (!flag.ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value \"", value, "\" for --", name, ": ", error));
    }
    parsed.given.insert(std::string(spec->name));
  }
  for (const FlagSpec& spec : command.flags) {
    if (spec.validate == nullptr) continue;
    absl::Status status = spec.validate();
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", spec.name, ": ", status.message()));
    }
  }
  return parsed;
}

namespace {

// `text` wrapped at 80 columns after `indent`: runs of prose lines are joined and refilled at
// spaces (a word longer than a line stays whole); blank lines, and lines that start with a
// space (tables, examples), are kept as they are.
std::string WrapText(absl::string_view text, absl::string_view indent) {
  constexpr size_t kWidth = 80;
  std::string out;
  size_t column = 0;  // 0: at the start of a line
  auto end_line = [&] {
    if (column > 0) absl::StrAppend(&out, "\n");
    column = 0;
  };
  for (absl::string_view line : absl::StrSplit(absl::StripSuffix(text, "\n"), '\n')) {
    if (line.empty() || line.front() == ' ') {
      end_line();
      absl::StrAppend(&out, line.empty() ? "" : indent, line, "\n");
      continue;
    }
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      if (column > 0 && column + 1 + word.size() > kWidth) end_line();
      if (column == 0) {
        absl::StrAppend(&out, indent, word);
        column = indent.size() + word.size();
      } else {
        absl::StrAppend(&out, " ", word);
        column += 1 + word.size();
      }
    }
  }
  end_line();
  return out;
}

}  // namespace

std::string CommandHelp(absl::string_view program, const Command& command) {
  std::string out = absl::StrCat(
      "usage: ", program, command.name.empty() ? "" : " ", command.name,
      command.flags.empty() ? "" : " [flags]",
      command.arguments.empty() ? "" : " ", command.arguments, "\n\n",
      WrapText(command.description, ""));
  if (!command.flags.empty()) absl::StrAppend(&out, "\nflags:\n");
  for (const FlagSpec& spec : command.flags) {
    const absl::CommandLineFlag& flag = FlagOf(spec);
    const std::string default_value =
        spec.default_value.empty() ? flag.DefaultValue() : std::string(spec.default_value);
    if (flag.IsOfType<bool>()) {
      absl::StrAppend(&out, "  --", spec.name, default_value == "true" ? " (default on)" : "",
                      "\n");
    } else {
      absl::StrAppend(&out, "  --", spec.name, "=", default_value.empty() ? "\"\"" : default_value,
                      "\n");
    }
    absl::StrAppend(&out, WrapText(flag.Help(), "      "));
  }
  return out;
}

}  // namespace mled::cli
