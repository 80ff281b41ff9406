// mlectl: the command-line client of mled. This file only dispatches to the commands and prints
// the top-level help; each command lives in its own file (commands.h).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "tools/mlectl/command.h"
#include "tools/mlectl/commands.h"

namespace mled::mlectl {
namespace {

std::vector<const Command*> AllCommands() {
  return {&SendCommand(),  &SubscribeCommand(), &QueryCommand(), &ResetCommand(),
          &StatsCommand(), &BenchCommand(),     &DemoCommand()};
}

const Command* FindCommand(absl::string_view name) {
  for (const Command* command : AllCommands()) {
    if (command->name == name) return command;
  }
  return nullptr;
}

std::string MainHelp() {
  std::string out =
      "usage: mlectl COMMAND [flags] [arguments]\n"
      "\n"
      "The command-line client of mled, the streaming Gaussian-MLE daemon.\n"
      "\n"
      "commands:\n";
  for (const Command* command : AllCommands()) {
    absl::StrAppend(&out, absl::StrFormat("  %-10s %s\n", command->name, command->summary));
  }
  absl::StrAppend(
      &out,
      "  help       'mlectl help COMMAND' explains a command and every flag it takes\n"
      "             (as does 'mlectl COMMAND --help')\n"
      "\n"
      "Every command takes --addr=HOST:PORT (default 127.0.0.1:7070), mled's address.\n"
      "\n"
      "exit status:\n"
      "  0  success\n"
      "  1  runtime failure: cannot connect, no answer within --timeout, an error from\n"
      "     mled, a bad input line or rejected samples (send, demo)\n"
      "  2  usage error: unknown command or flag, bad flag value or argument\n"
      "\n"
      "examples:\n"
      "  printf 'cpu 0.5\\ncpu 0.7\\ncpu 0.6\\n' | mlectl send\n"
      "  mlectl send --format=csv samples.csv\n"
      "  mlectl send --scores samples.txt\n"
      "  mlectl subscribe --anomalies 'cpu*'\n"
      "  mlectl query --json 'robot/*'\n"
      "  mlectl reset 'robot/*'\n"
      "  mlectl bench --streams=1000 --mode=batch --duration=5s\n"
      "  mlectl demo --rate=20\n");
  return out;
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(MainHelp().c_str(), stderr);
    return kExitUsage;
  }
  const absl::string_view first = args[0];
  if (first == "help" || first == "--help" || first == "-h" || first == "-help") {
    if (args.size() == 1) {
      std::fputs(MainHelp().c_str(), stdout);
      return kExitOk;
    }
    const Command* command = FindCommand(args[1]);
    if (command == nullptr || args.size() > 2) {
      absl::FPrintF(stderr,
                    "mlectl: usage: mlectl help COMMAND (one of send, subscribe, query, "
                    "reset, stats, bench, demo)\n");
      return kExitUsage;
    }
    std::fputs(CommandHelp(*command).c_str(), stdout);
    return kExitOk;
  }
  const Command* command = FindCommand(first);
  if (command == nullptr) {
    absl::FPrintF(stderr, "mlectl: unknown command \"%s\" (see 'mlectl --help')\n", first);
    return kExitUsage;
  }
  absl::StatusOr<ParsedCommandLine> parsed =
      ParseCommandLine(*command, std::vector<std::string>(args.begin() + 1, args.end()));
  if (!parsed.ok()) return UsageError(*command, parsed.status().message());
  if (parsed->help) {
    std::fputs(CommandHelp(*command).c_str(), stdout);
    return kExitOk;
  }
  return command->run(parsed->positional);
}

}  // namespace
}  // namespace mled::mlectl

int main(int argc, char** argv) {
  return mled::mlectl::Main(std::vector<std::string>(argv + 1, argv + argc));
}
