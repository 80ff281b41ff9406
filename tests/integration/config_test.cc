// Config files: the shipped example starts the daemon; a typo exits 2 with FILE:LINE:COL; the
// file's values take effect and flags given on the command line override them; SIGHUP reloads.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

absl::StatusOr<mled::v1::Ack> IngestStreams(Client& client, uint64_t seq,
                                            const std::vector<std::string>& streams) {
  mled::v1::Ingest ingest;
  ingest.set_seq(seq);
  for (const std::string& stream : streams) *ingest.add_samples() = MakeSample(stream, {1.0});
  return IngestAndWaitAck(client, ingest);
}

TEST(ConfigTest, ShippedExampleConfigStarts) {
  const std::string path = absl::StrCat(SourceDir(), "/config/mled.textproto");
  if (access(path.c_str(), R_OK) != 0) {
    GTEST_SKIP() << path << " does not exist yet; nothing to check";
  }
  // The flags override the example's addresses, so the test never needs a fixed port.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({absl::StrCat("--config=", path)}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestStreams(*client, 1, {"cfg/x"}));
  EXPECT_EQ(ack.accepted(), 1u);
  ASSERT_OK_AND_ASSIGN(const mled::v1::Estimate estimate, QueryStream(*client, "cfg/x"));
  EXPECT_EQ(estimate.count(), 1u);
}

TEST(ConfigTest, TypoExits2WithFileLineAndColumn) {
  TempFile config("typo.textproto",
                  "# a config with a misspelt field\n"
                  "publish_interval: \"250ms\"\n"
                  "limits {\n"
                  "  max_stream: 5\n"
                  "}\n");
  const ProgramResult result =
      RunProgram(MledBinary(),
                 {absl::StrCat("--config=", config.path()), "--listen=127.0.0.1:0",
                  "--udp=127.0.0.1:0"},
                 absl::Seconds(30));
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString() << "\nstderr:\n"
                                           << result.err;
  // FILE:LINE:COL, 1-based, on line 4. (Protobuf's text parser puts the column on the token
  // after the unknown name, so only "a column" is checked.)
  const std::string prefix = absl::StrCat(config.path(), ":4:");
  const size_t at = result.err.find(prefix);
  ASSERT_NE(at, std::string::npos) << "no " << prefix << "COL in:\n" << result.err;
  size_t end = at + prefix.size();
  while (end < result.err.size() && absl::ascii_isdigit(static_cast<unsigned char>(result.err[end]))) {
    ++end;
  }
  EXPECT_GT(end, at + prefix.size()) << "no column number: " << result.err;
  EXPECT_EQ(result.err.substr(end, 2), ": ") << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "max_stream")) << result.err;
}

TEST(ConfigTest, MissingFileExits2NamingIt) {
  const std::string path = absl::StrCat(testing::TempDir(), "mled_it_no_such_config.textproto");
  const ProgramResult result = RunProgram(
      MledBinary(), {absl::StrCat("--config=", path), "--listen=127.0.0.1:0", "--udp=127.0.0.1:0"},
      absl::Seconds(30));
  ASSERT_FALSE(result.timed_out);
  EXPECT_TRUE(result.status.ExitedWith(2)) << result.status.ToString();
  EXPECT_TRUE(absl::StrContains(result.err, path)) << result.err;
}

TEST(ConfigTest, FileValuesApplyAndFlagsOverrideThem) {
  TempFile config("limits.textproto",
                  "listen: \"127.0.0.1:0\"\n"
                  "udp: \"\"\n"
                  "limits { max_streams: 2 }\n");
  {
    // From the file: UDP off, two streams at most.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                         DaemonProcess::Start({absl::StrCat("--config=", config.path()),
                                               "--listen=127.0.0.1:0"}));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
    // DaemonProcess passes --udp=127.0.0.1:0 unless told otherwise, overriding the file.
    EXPECT_FALSE(daemon->udp_address().empty());
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestStreams(*client, 1, {"c/1", "c/2", "c/3"}));
    EXPECT_EQ(ack.accepted(), 2u) << ack.ShortDebugString();
    EXPECT_EQ(ack.rejected(), 1u) << ack.ShortDebugString();
    ASSERT_EQ(ack.rejections_size(), 1);
    EXPECT_EQ(ack.rejections(0).code(), mled::v1::RESOURCE_EXHAUSTED);
  }
  {
    // A flag beats the file.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                         DaemonProcess::Start({absl::StrCat("--config=", config.path()),
                                               "--max_streams=3", "--udp="}));
    EXPECT_TRUE(daemon->udp_address().empty());
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
    ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestStreams(*client, 1, {"c/1", "c/2", "c/3"}));
    EXPECT_EQ(ack.accepted(), 3u) << ack.ShortDebugString();
  }
}

TEST(ConfigTest, SighupReloadsTheConfigFile) {
  TempFile config("reload.textproto", "publish_interval: \"1s\"\n");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
                       DaemonProcess::Start({absl::StrCat("--config=", config.path())}));
  config.Write("publish_interval: \"200ms\"\nlog_level: \"info\"\n");
  ASSERT_TRUE(daemon->SendSignal(SIGHUP));
  const absl::Time deadline = absl::Now() + kWait;
  while (!absl::StrContains(daemon->StderrText(), "reloaded") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(absl::StrContains(daemon->StderrText(), "reloaded")) << daemon->StderrText();
  // A broken file on SIGHUP keeps the running config (and the daemon).
  config.Write("publish_interval: \n");
  ASSERT_TRUE(daemon->SendSignal(SIGHUP));
  const absl::Time deadline2 = absl::Now() + kWait;
  while (!absl::StrContains(daemon->StderrText(), "not reloaded") && absl::Now() < deadline2) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(absl::StrContains(daemon->StderrText(), "not reloaded")) << daemon->StderrText();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon->tcp_address()));
  ASSERT_OK_AND_ASSIGN(const mled::v1::Ack ack, IngestStreams(*client, 1, {"hup/1"}));
  EXPECT_EQ(ack.accepted(), 1u);
}

}  // namespace
}  // namespace mled::integration
