// mlectl against the real daemon: send a lines file, query it back as JSON, print stats; send
// exits 1 when something was rejected. Few and robust: output is checked for the documented
// summary line and parsed (JSON) rather than matched byte for byte.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

class CliTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start()); }

  void TearDown() override {
    for (const std::string& path : files_) std::remove(path.c_str());
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(testing::TempDir(), "mled_it_cli_", getpid(), "_", name);
    std::ofstream(path, std::ios::trunc) << contents;
    files_.push_back(path);
    return path;
  }

  ProgramResult Mlectl(std::vector<std::string> args) {
    return RunProgram(MlectlBinary(), args, absl::Seconds(60));
  }

  std::string Addr() const { return absl::StrCat("--addr=", daemon_->tcp_address()); }

  // Runs `mlectl query --json GLOBS...` and returns the estimates by stream.
  std::map<std::string, mled::v1::Estimate> QueryJson(const std::vector<std::string>& globs) {
    std::vector<std::string> args = {"query", "--json", Addr()};
    args.insert(args.end(), globs.begin(), globs.end());
    const ProgramResult result = Mlectl(args);
    EXPECT_TRUE(result.status.ExitedWith(0)) << result.status.ToString() << "\n" << result.err;
    const absl::string_view line = absl::StripAsciiWhitespace(result.out);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 0) << "one JSON line:\n" << result.out;
    mled::v1::ServerMessage message;
    const auto status =
        google::protobuf::util::JsonStringToMessage(std::string(line), &message);
    EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << result.out;
    std::map<std::string, mled::v1::Estimate> by_stream;
    EXPECT_TRUE(message.has_estimates()) << result.out;
    for (const auto& estimate : message.estimates().estimates()) {
      by_stream[estimate.stream()] = estimate;
    }
    return by_stream;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::vector<std::string> files_;
};

TEST_F(CliTest, SendThenQueryJsonShowsTheCounts) {
  const std::string input = WriteFile("samples.txt",
                                      "# cpu load, then a 2-D stream, then CSV\n"
                                      "cli/a 1\n"
                                      "cli/a 2\n"
                                      "\n"
                                      "cli/a 3\n"
                                      "cli/b 1.5 2.5\n"
                                      "cli/b 0.5 1.0\n"
                                      "cli/c,4\n");
  const ProgramResult sent = Mlectl({"send", Addr(), input});
  EXPECT_TRUE(sent.status.ExitedWith(0)) << sent.status.ToString() << "\n" << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.out, "sent 6 samples: accepted 6, rejected 0")) << sent.out;

  std::map<std::string, mled::v1::Estimate> all = QueryJson({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all["cli/a"].count(), 3u);
  ASSERT_EQ(all["cli/a"].mean_size(), 1);
  EXPECT_DOUBLE_EQ(all["cli/a"].mean(0), 2.0);
  ASSERT_EQ(all["cli/a"].covariance_size(), 1);
  EXPECT_DOUBLE_EQ(all["cli/a"].covariance(0), 2.0 / 3.0);
  EXPECT_EQ(all["cli/b"].count(), 2u);
  EXPECT_EQ(all["cli/b"].dim(), 2u);
  EXPECT_EQ(all["cli/c"].count(), 1u);

  std::map<std::string, mled::v1::Estimate> some = QueryJson({"cli/[ab]"});
  EXPECT_EQ(some.size(), 2u);
  EXPECT_EQ(some.count("cli/c"), 0u);

  // The table form runs too.
  const ProgramResult table = Mlectl({"query", Addr()});
  EXPECT_TRUE(table.status.ExitedWith(0)) << table.err;
  EXPECT_TRUE(absl::StrContains(table.out, "cli/a")) << table.out;
}

TEST_F(CliTest, StatsRuns) {
  const std::string input = WriteFile("two.txt", "cli/s 1\ncli/s 2\n");
  ASSERT_TRUE(Mlectl({"send", Addr(), input}).status.ExitedWith(0));
  const ProgramResult stats = Mlectl({"stats", Addr()});
  EXPECT_TRUE(stats.status.ExitedWith(0)) << stats.status.ToString() << "\n" << stats.err;
  EXPECT_TRUE(absl::StrContains(stats.out, "samples_accepted 2")) << stats.out;
  EXPECT_TRUE(absl::StrContains(stats.out, "streams 1")) << stats.out;
}

TEST_F(CliTest, SendExits1WhenSomethingIsRejected) {
  const std::string input = WriteFile("bad.txt",
                                      "cli/r 1\n"
                                      "cli/r nan\n"
                                      "cli/r 2 3\n"
                                      "cli/r 4\n");
  const ProgramResult sent = Mlectl({"send", Addr(), input});
  EXPECT_TRUE(sent.status.ExitedWith(1)) << sent.status.ToString() << "\n" << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.out, "sent 4 samples: accepted 2, rejected 2")) << sent.out;
  // Each rejection names its input line and code.
  EXPECT_TRUE(absl::StrContains(sent.err, absl::StrCat(input, ":2"))) << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.err, "INVALID_ARGUMENT")) << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.err, absl::StrCat(input, ":3"))) << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.err, "DIMENSION_MISMATCH")) << sent.err;
  std::map<std::string, mled::v1::Estimate> all = QueryJson({"cli/r"});
  EXPECT_EQ(all["cli/r"].count(), 2u);
}

TEST_F(CliTest, SendOverUdpArrives) {
  const std::string input = WriteFile("udp.txt", "cli/u 1\ncli/u 2\ncli/u 3\n");
  const ProgramResult sent =
      Mlectl({"send", "--udp", absl::StrCat("--addr=", daemon_->udp_address()), input});
  EXPECT_TRUE(sent.status.ExitedWith(0)) << sent.status.ToString() << "\n" << sent.err;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client, Connect(daemon_->tcp_address()));
  EXPECT_OK(PollQuery(*client, {"cli/u"}, [](const mled::v1::Estimates& answer) {
              return answer.estimates_size() == 1 && answer.estimates(0).count() == 3;
            }).status());
}

TEST_F(CliTest, UnreachableDaemonExits1AndHelpExits0) {
  // Nobody listens on port 1 of loopback.
  const ProgramResult refused = Mlectl({"query", "--addr=127.0.0.1:1", "--timeout=5s"});
  EXPECT_TRUE(refused.status.ExitedWith(1)) << refused.status.ToString() << "\n" << refused.err;
  EXPECT_TRUE(absl::StrContains(refused.err, "127.0.0.1:1")) << refused.err;

  const ProgramResult help = Mlectl({"--help"});
  EXPECT_TRUE(help.status.ExitedWith(0)) << help.status.ToString();
  EXPECT_TRUE(absl::StrContains(help.out, "send")) << help.out;
  const ProgramResult usage = Mlectl({"query", "--no_such_flag"});
  EXPECT_TRUE(usage.status.ExitedWith(2)) << usage.status.ToString() << "\n" << usage.err;
}

}  // namespace
}  // namespace mled::integration
