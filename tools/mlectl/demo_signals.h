// The synthetic sensor streams of `mlectl demo`: four streams whose values are a function of a
// seeded random generator and the time since the demo started, so that the same seed and rate
// give the same values.
//
//   DemoSignals signals(/*seed=*/1, /*rate=*/10);
//   for (int64_t tick = 0;; ++tick) {
//     for (size_t s = 0; s < DemoSignals::Streams().size(); ++s) {
//       signals.Next(s, tick, &x);   // x gets Streams()[s].dim values
//       ...
//     }
//   }
//
// The streams:
//   demo/plant/temperature  D=1  steady Gaussian noise around 21.5 (°C)
//   demo/plant/pressure     D=1  noise around 101.3 (kPa) on a slow drift (a 5-minute swing)
//   demo/robot/accel        D=3  correlated 3-axis acceleration (m/s², gravity on z) with a slow
//                               sway; Gaussian with a full covariance
//   demo/pump/vibration     D=1  noise around 2.0 (mm/s), with a burst of fault spikes every
//                               15-20 s, the first once the stream has well over the default
//                               warm-up of 30 samples behind it (so mled scores the spikes)
//
// Not thread-safe: one generator per thread.
#ifndef MLED_TOOLS_MLECTL_DEMO_SIGNALS_H_
#define MLED_TOOLS_MLECTL_DEMO_SIGNALS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace mled::mlectl {

struct DemoStream {
  std::string name;
  uint32_t dim;
  std::string description;  // one line for the startup banner
};

class DemoSignals {
 public:
  // Seconds between the start of one fault burst and the next, drawn uniformly.
  static constexpr double kFaultGapMin = 15;
  static constexpr double kFaultGapMax = 20;
  // The first burst comes this long after the start, or after kFaultAfterSamples samples of the
  // pump stream if that is later (at a low --rate).
  static constexpr double kFirstFaultAfter = 6;
  static constexpr int64_t kFaultAfterSamples = 60;
  // A burst lasts this long (and at least 3 samples).
  static constexpr double kFaultLength = 1;

  // `rate`: ticks (samples of every stream) per second, > 0.
  DemoSignals(uint64_t seed, double rate);

  // The streams, in the order Next numbers them.
  static absl::Span<const DemoStream> Streams();

  // The value of stream `stream` at tick `tick` (time tick / rate since the start) into `x`.
  // Ticks must not decrease (they may skip).
  void Next(size_t stream, int64_t tick, std::vector<double>* x);

  // Fault bursts begun so far (ticks passed to Next for the pump stream).
  int64_t faults() const { return faults_; }

 private:
  double Normal() { return normal_(rng_); }

  std::mt19937_64 rng_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  double rate_;
  // The pump's fault schedule, in ticks: the current or next burst is [fault_start_, fault_end_).
  int64_t fault_start_;
  int64_t fault_end_;
  int64_t counted_start_ = -1;  // the burst last counted in faults_
  int64_t faults_ = 0;
};

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_DEMO_SIGNALS_H_
