#include "tools/mlectl/command.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"

namespace mled::mlectl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<const Command*> AllCommands() {
  return {&SendCommand(),  &SubscribeCommand(), &QueryCommand(), &ResetCommand(),
          &StatsCommand(), &BenchCommand(),     &DemoCommand()};
}

TEST(CommandHelpTest, ExplainsEveryFlagOfEveryCommand) {
  for (const Command* command : AllCommands()) {
    const std::string help = CommandHelp(*command);
    EXPECT_THAT(help, HasSubstr(absl::StrCat("usage: mlectl ", command->name)));
    EXPECT_THAT(help, HasSubstr("exit status"));
    for (const FlagSpec& spec : command->flags) {
      EXPECT_THAT(help, HasSubstr(absl::StrCat("--", spec.name))) << command->name;
    }
  }
}

TEST(CommandHelpTest, ShowsCommandSpecificDefaults) {
  EXPECT_THAT(CommandHelp(SendCommand()), HasSubstr("--window=16\n"));
  EXPECT_THAT(CommandHelp(BenchCommand()), HasSubstr("--window=64\n"));
  EXPECT_THAT(CommandHelp(SubscribeCommand()), HasSubstr("--timeout=0\n"));
  EXPECT_THAT(CommandHelp(QueryCommand()), HasSubstr("--timeout=5s\n"));
}

TEST(ParseCommandLineTest, FlagForms) {
  absl::FlagSaver saver;
  absl::StatusOr<ParsedCommandLine> parsed = ParseCommandLine(
      SendCommand(), {"--batch", "5", "-window=3", "--udp", "in.txt", "--", "--not-a-flag"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->help);
  EXPECT_THAT(parsed->positional, ElementsAre("in.txt", "--not-a-flag"));
  EXPECT_EQ(absl::GetFlag(FLAGS_batch), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_window), 3);
  EXPECT_TRUE(absl::GetFlag(FLAGS_udp));

  parsed = ParseCommandLine(SendCommand(), {"--noudp", "-"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(absl::GetFlag(FLAGS_udp));
  EXPECT_THAT(parsed->positional, ElementsAre("-"));
  EXPECT_EQ(absl::GetFlag(FLAGS_window), 16);  // the command's default, applied again
}

TEST(ParseCommandLineTest, CommandDefaults) {
  absl::FlagSaver saver;
  ASSERT_TRUE(ParseCommandLine(BenchCommand(), {}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_window), 64);
  ASSERT_TRUE(ParseCommandLine(SubscribeCommand(), {}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_timeout), absl::ZeroDuration());
}

TEST(ParseCommandLineTest, Help) {
  absl::FlagSaver saver;
  EXPECT_TRUE(ParseCommandLine(QueryCommand(), {"--help"})->help);
  EXPECT_TRUE(ParseCommandLine(QueryCommand(), {"x", "-h"})->help);
}

TEST(ParseCommandLineTest, UsageErrors) {
  absl::FlagSaver saver;
  const auto error = [](const Command& command, std::vector<std::string> args) {
    absl::StatusOr<ParsedCommandLine> parsed = ParseCommandLine(command, args);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(parsed.status().message());
  };
  EXPECT_EQ(error(QueryCommand(), {"--udp"}), "unknown flag --udp");  // another command's flag
  EXPECT_EQ(error(QueryCommand(), {"--nosuch"}), "unknown flag --nosuch");
  EXPECT_EQ(error(QueryCommand(), {"--noaddr"}), "unknown flag --noaddr");  // not a bool
  EXPECT_THAT(error(SendCommand(), {"--batch=many"}), HasSubstr("bad value \"many\" for --batch"));
  EXPECT_THAT(error(SendCommand(), {"--batch"}), HasSubstr("--batch needs a value"));
  EXPECT_THAT(error(StatsCommand(), {"--addr=localhost"}),
              HasSubstr("--addr: \"localhost\" is not HOST:PORT"));
}

}  // namespace
}  // namespace mled::mlectl
