#include "tools/mlectl/demo_signals.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace mled::mlectl {
namespace {

constexpr size_t kVibration = 3;

TEST(DemoSignalsTest, StreamsHaveTheDocumentedNamesAndDimensions) {
  const absl::Span<const DemoStream> streams = DemoSignals::Streams();
  ASSERT_EQ(streams.size(), 4u);
  EXPECT_EQ(streams[0].name, "demo/plant/temperature");
  EXPECT_EQ(streams[1].name, "demo/plant/pressure");
  EXPECT_EQ(streams[2].name, "demo/robot/accel");
  EXPECT_EQ(streams[3].name, "demo/pump/vibration");
  DemoSignals signals(1, 10);
  std::vector<double> x;
  for (size_t s = 0; s < streams.size(); ++s) {
    signals.Next(s, 0, &x);
    EXPECT_EQ(x.size(), streams[s].dim) << streams[s].name;
  }
}

TEST(DemoSignalsTest, SameSeedSameValues) {
  DemoSignals a(42, 10), b(42, 10), c(43, 10);
  std::vector<double> xa, xb, xc;
  bool differs = false;
  for (int64_t tick = 0; tick < 500; ++tick) {
    for (size_t s = 0; s < DemoSignals::Streams().size(); ++s) {
      a.Next(s, tick, &xa);
      b.Next(s, tick, &xb);
      c.Next(s, tick, &xc);
      ASSERT_EQ(xa, xb) << "stream " << s << " tick " << tick;
      differs |= xa != xc;
    }
  }
  EXPECT_TRUE(differs);
}

// The pump's bursts: the first after the warm-up margin, then one every 15-20 s; each starts
// with a spike far above the normal level (2.0, sd 0.08), and nothing outside them is.
TEST(DemoSignalsTest, PumpFaultsComeOnSchedule) {
  constexpr double kRate = 10;
  DemoSignals signals(3, kRate);
  std::vector<double> x;
  std::vector<int64_t> burst_starts;
  int64_t last_spike = -100;
  for (int64_t tick = 0; tick < static_cast<int64_t>(120 * kRate); ++tick) {
    const int64_t faults_before = signals.faults();
    signals.Next(kVibration, tick, &x);
    ASSERT_EQ(x.size(), 1u);
    const bool spike = x[0] > 2.0 + 0.4;  // 5 sd from either side
    if (signals.faults() > faults_before) {
      burst_starts.push_back(tick);
      EXPECT_TRUE(spike) << "tick " << tick;
    }
    if (spike) {
      // Spikes only within a burst's first second.
      ASSERT_FALSE(burst_starts.empty()) << "tick " << tick;
      EXPECT_LT(tick - burst_starts.back(), static_cast<int64_t>(kRate)) << "tick " << tick;
      last_spike = tick;
    }
  }
  ASSERT_GE(burst_starts.size(), 6u);
  EXPECT_EQ(burst_starts[0], DemoSignals::kFaultAfterSamples);  // 6 s at 10/s is 60 samples
  for (size_t i = 1; i < burst_starts.size(); ++i) {
    const int64_t gap = burst_starts[i] - burst_starts[i - 1];
    EXPECT_GE(gap, static_cast<int64_t>(DemoSignals::kFaultGapMin * kRate));
    EXPECT_LE(gap, static_cast<int64_t>(DemoSignals::kFaultGapMax * kRate));
  }
  EXPECT_GE(last_spike, burst_starts.back());
}

// At a low rate the first burst waits for enough samples to score it.
TEST(DemoSignalsTest, FirstFaultWaitsForTheWarmUpAtLowRates) {
  DemoSignals signals(1, 2);
  std::vector<double> x;
  int64_t first = -1;
  for (int64_t tick = 0; tick < 200 && first < 0; ++tick) {
    signals.Next(kVibration, tick, &x);
    if (signals.faults() > 0) first = tick;
  }
  EXPECT_EQ(first, DemoSignals::kFaultAfterSamples);
}

}  // namespace
}  // namespace mled::mlectl
