#include "tools/mlectl/demo_signals.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace mled::mlectl {
namespace {

enum StreamIndex : size_t { kTemperature = 0, kPressure, kAccel, kVibration };

// The lower Cholesky factor of the accelerometer's noise covariance
// [[0.04, 0.03, 0.01], [0.03, 0.0481, 0.0203], [0.01, 0.0203, 0.0285]] (m/s²)²: strongly
// correlated x and y, weaker z, so the model has a full covariance to estimate.
constexpr double kAccelFactor[3][3] = {{0.2, 0, 0}, {0.15, 0.16, 0}, {0.05, 0.08, 0.14}};

}  // namespace

DemoSignals::DemoSignals(uint64_t seed, double rate) : rng_(seed), rate_(rate) {
  // No burst before the model has warmed up: at least kFaultAfterSamples samples in.
  fault_start_ = std::max(static_cast<int64_t>(std::ceil(kFirstFaultAfter * rate_)),
                          kFaultAfterSamples);
  fault_end_ = fault_start_ + std::max<int64_t>(3, std::llround(kFaultLength * rate_));
}

absl::Span<const DemoStream> DemoSignals::Streams() {
  static const DemoStream kStreams[] = {
      {"demo/plant/temperature", 1, "steady noise around 21.5 (degrees C)"},
      {"demo/plant/pressure", 1, "noise on a slow drift around 101.3 (kPa)"},
      {"demo/robot/accel", 3, "correlated 3-axis acceleration (m/s^2), full covariance"},
      {"demo/pump/vibration", 1, "around 2.0 (mm/s), a burst of faults every 15-20 s"},
  };
  return kStreams;
}

void DemoSignals::Next(size_t stream, int64_t tick, std::vector<double>* x) {
  const double t = static_cast<double>(tick) / rate_;
  constexpr double kTwoPi = 2 * std::numbers::pi;
  switch (stream) {
    case kTemperature:
      x->assign({21.5 + 0.15 * Normal()});
      return;
    case kPressure:
      x->assign({101.3 + 0.3 * std::sin(kTwoPi * t / 300) + 0.2 * Normal()});
      return;
    case kAccel: {
      const double z[3] = {Normal(), Normal(), Normal()};
      const double mean[3] = {0.05 * std::sin(kTwoPi * t / 20), 0.05 * std::cos(kTwoPi * t / 20),
                              9.81};
      x->resize(3);
      for (int i = 0; i < 3; ++i) {
        double v = mean[i];
        for (int j = 0; j <= i; ++j) v += kAccelFactor[i][j] * z[j];
        (*x)[static_cast<size_t>(i)] = v;
      }
      return;
    }
    case kVibration: {
      double v = 2.0 + 0.08 * Normal();
      // Skipped ticks may jump past a whole burst; the schedule then moves on.
      while (tick >= fault_end_) {
        const double gap = kFaultGapMin + (kFaultGapMax - kFaultGapMin) * uniform_(rng_);
        fault_start_ += std::llround(gap * rate_);
        fault_end_ = fault_start_ + std::max<int64_t>(3, std::llround(kFaultLength * rate_));
      }
      if (tick >= fault_start_) {
        const bool first = counted_start_ != fault_start_;
        if (first) {
          ++faults_;
          counted_start_ = fault_start_;
        }
        // The burst's first sample is always a spike, later ones more often than not: 10 to 20
        // standard deviations above the level.
        if (first || uniform_(rng_) < 0.6) v += 0.8 + 0.8 * uniform_(rng_);
      }
      x->assign({v});
      return;
    }
    default:
      x->clear();
  }
}

}  // namespace mled::mlectl
