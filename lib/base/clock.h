// The wall clock behind a small interface, so tests control time (intervals, windows, decay).
//
// Implementations must be safe to call from any thread.
#ifndef MLED_LIB_BASE_CLOCK_H_
#define MLED_LIB_BASE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mled {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since the Unix epoch.
  virtual int64_t NowUnixNanos() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  int64_t NowUnixNanos() const override { return absl::GetCurrentTimeNanos(); }
  // One shared instance; it has no state.
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_unix_nanos = 0) : now_(start_unix_nanos) {}
  int64_t NowUnixNanos() const override { return now_.load(std::memory_order_relaxed); }
  void Set(int64_t unix_nanos) { now_.store(unix_nanos, std::memory_order_relaxed); }
  void Advance(int64_t nanos) { now_.fetch_add(nanos, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace mled

#endif  // MLED_LIB_BASE_CLOCK_H_
