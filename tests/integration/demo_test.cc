// `mlectl demo` against the real daemon: it creates its four streams with the documented
// dimensions, stops after --duration or at SIGTERM with exit 0, and reports rejections (exit 1).
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_support.h"

namespace mled::integration {
namespace {

// The demo's streams and their dimensions.
std::map<std::string, uint32_t> DemoStreams() {
  return {
      {"demo/plant/temperature", 1},
      {"demo/plant/pressure", 1},
      {"demo/robot/accel", 3},
      {"demo/pump/vibration", 1},
  };
}

class DemoTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(daemon_, DaemonProcess::Start());
    ASSERT_OK_AND_ASSIGN(client_, Connect(daemon_->tcp_address()));
  }

  std::string Addr() const { return absl::StrCat("--addr=", daemon_->tcp_address()); }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(DemoTest, FeedsFourStreamsForTheDurationAndExits0) {
  const ProgramResult result = RunProgram(
      MlectlBinary(), {"demo", Addr(), "--duration=2s", "--rate=20", "--seed=7"}, absl::Seconds(60));
  ASSERT_TRUE(result.status.ExitedWith(0)) << result.status.ToString() << "\n" << result.err;
  EXPECT_TRUE(absl::StrContains(result.out, "(the dashboard")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "demo: stopped after")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "rejected 0")) << result.out;

  ASSERT_OK_AND_ASSIGN(mled::v1::Estimates estimates, QueryEstimates(*client_, {"demo/*"}));
  std::map<std::string, mled::v1::Estimate> by_stream;
  for (const mled::v1::Estimate& estimate : estimates.estimates()) {
    by_stream[estimate.stream()] = estimate;
  }
  ASSERT_EQ(by_stream.size(), DemoStreams().size());
  // Every Ingest carries one sample of each stream, so the counts agree; 2 s at 20/s is 40
  // ticks unless a loaded machine made the demo skip some.
  const uint64_t count = by_stream.begin()->second.count();
  EXPECT_GE(count, 2u);
  EXPECT_LE(count, 40u);
  for (const auto& [name, dim] : DemoStreams()) {
    ASSERT_TRUE(by_stream.contains(name)) << name;
    EXPECT_EQ(by_stream[name].dim(), dim) << name;
    EXPECT_EQ(by_stream[name].count(), count) << name;
    EXPECT_EQ(by_stream[name].mean_size(), static_cast<int>(dim)) << name;
  }
}

TEST_F(DemoTest, SigtermStopsItCleanly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> demo,
                       ChildProcess::Spawn(MlectlBinary(), {"demo", Addr(), "--rate=50"}));
  ASSERT_OK(PollQuery(*client_, {"demo/pump/vibration"},
                      [](const mled::v1::Estimates& answer) {
                        return answer.estimates_size() == 1 && answer.estimates(0).count() >= 5;
                      })
                .status());
  ASSERT_TRUE(demo->SendSignal(SIGTERM));
  const std::optional<ExitStatus> status = demo->WaitForExit(kWait);
  ASSERT_TRUE(status.has_value()) << "mlectl demo did not stop at SIGTERM";
  EXPECT_TRUE(status->ExitedWith(0)) << status->ToString() << "\n" << demo->StderrText();
  EXPECT_TRUE(absl::StrContains(demo->StdoutText(), "demo: stopped after"))
      << demo->StdoutText();
}

TEST_F(DemoTest, ReportsRejectionsAndExits1) {
  // The accelerometer stream already exists with D=1, so every 3-D sample of it is rejected.
  mled::v1::Ingest ingest;
  ingest.set_seq(1);
  *ingest.add_samples() = MakeSample("demo/robot/accel", {1.0});
  ASSERT_OK(IngestAndWaitAck(*client_, ingest).status());

  const ProgramResult result =
      RunProgram(MlectlBinary(), {"demo", Addr(), "--duration=500ms", "--rate=20"},
                 absl::Seconds(60));
  EXPECT_TRUE(result.status.ExitedWith(1)) << result.status.ToString() << "\n" << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "demo/robot/accel")) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "DIMENSION_MISMATCH")) << result.err;
}

}  // namespace
}  // namespace mled::integration
