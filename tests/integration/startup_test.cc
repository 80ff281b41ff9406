// Starting mled: bad flags exit 2 with a one-line message naming the flag, --help and --version
// exit 0, an address in use exits 1 with a clear message (main.cc documents the exit codes:
// "0 clean stop, 1 cannot start (address in use, ...), 2 bad flags or config").
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

void ExpectOneLineNaming(const ProgramResult& result, const std::string& name) {
  EXPECT_EQ(LineCount(result.err), 1u) << "stderr:\n" << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, name)) << "stderr does not name " << name << ":\n"
                                                   << result.err;
  EXPECT_TRUE(result.out.empty() || !absl::StrContains(result.out, "listening"))
      << "stdout:\n" << result.out;
}

TEST(StartupTest, UnknownFlagExits2WithOneLineNamingIt) {
  const ProgramResult result = RunMled({"--no_such_flag=1"});
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  ExpectOneLineNaming(result, "no_such_flag");
}

TEST(StartupTest, UnparsableFlagValueExits2WithOneLineNamingIt) {
  const ProgramResult result = RunMled({"--io_threads=lots"});
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  ExpectOneLineNaming(result, "io_threads");
}

TEST(StartupTest, InvalidFlagValueExits2WithOneLineNamingIt) {
  for (const std::string& flag : {std::string("--shards=3"), std::string("--publish_interval=0s"),
                                  std::string("--max_dim=0"), std::string("--log_level=loud")}) {
    SCOPED_TRACE(flag);
    const ProgramResult result = RunMled({flag});
    ASSERT_FALSE(result.timed_out);
    EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                             << result.err;
    const std::string name(flag.substr(2, flag.find('=') - 2));
    ExpectOneLineNaming(result, name);
  }
}

TEST(StartupTest, BadAddressExits2) {
  const ProgramResult result = RunMled({"--listen=nonsense"}, /*ephemeral=*/false);
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  ExpectOneLineNaming(result, "listen");
}

TEST(StartupTest, PositionalArgumentExits2) {
  const ProgramResult result = RunMled({"stray"});
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString();
  ExpectOneLineNaming(result, "stray");
}

TEST(StartupTest, HelpExits0AndDescribesTheFlags) {
  const ProgramResult result = RunProgram(MledBinary(), {"--help"}, absl::Seconds(30));
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(0))
      << result.status.ToString() << " (conventional for --help; the daemon's documented exit "
      << "codes reserve 1 for 'cannot start' and 2 for bad flags)";
  const std::string text = result.out + result.err;
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(text), "usage: mled")) << text;
  for (const char* flag : {"--listen", "--udp", "--config", "--max_streams", "--publish_interval"}) {
    EXPECT_TRUE(absl::StrContains(text, flag)) << flag << " missing from --help:\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "listening on"));
}

TEST(StartupTest, VersionExits0) {
  const ProgramResult result = RunProgram(MledBinary(), {"--version"}, absl::Seconds(30));
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(0)) << result.status.ToString();
  EXPECT_TRUE(absl::StrContains(result.out, "mled 0.")) << result.out;
}

TEST(StartupTest, TcpAddressInUseExits1WithAClearMessage) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> first, DaemonProcess::Start());
  const ProgramResult result =
      RunMled({absl::StrCat("--listen=", first->tcp_address()), "--udp=127.0.0.1:0"},
              /*ephemeral=*/false);
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(1)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  EXPECT_EQ(LineCount(result.err), 1u) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, first->tcp_address())) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "in use")) << result.err;
  // The first daemon is untouched.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(first->tcp_address()));
  EXPECT_OK(QueryEstimates(*client, {}).status());
}

TEST(StartupTest, UdpAddressInUseExits1WithAClearMessage) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> first, DaemonProcess::Start());
  const ProgramResult result =
      RunMled({"--listen=127.0.0.1:0", absl::StrCat("--udp=", first->udp_address())},
              /*ephemeral=*/false);
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(1)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  EXPECT_EQ(LineCount(result.err), 1u) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "udp")) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "in use")) << result.err;
}

TEST(StartupTest, UdpCanBeTurnedOff) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon, DaemonProcess::Start({"--udp="}));
  EXPECT_TRUE(daemon->udp_address().empty()) << daemon->startup_line();
  EXPECT_TRUE(absl::StrContains(daemon->startup_line(), "udp off")) << daemon->startup_line();
}

}  // namespace
}  // namespace mled::integration
