// The daemon's log: one line per event on stderr, "2026-11-25T03:34:46.123Z I message".
//
// Events that a client can trigger at will (bad frames, refused connections) go through a
// RateLimitedLog, so a hostile or broken client cannot flood the log: past `per_second` lines a
// second, lines are counted and summarized once the next second begins.
//
// Thread-safe.
#ifndef MLED_DAEMON_LOG_H_
#define MLED_DAEMON_LOG_H_

#include <cstdint>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include <mutex>

namespace mled::daemon {

enum class LogLevel { kInfo = 0, kWarning = 1, kError = 2 };

// Lines below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
// Parses "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

void Log(LogLevel level, absl::string_view message);
inline void LogInfo(absl::string_view message) { Log(LogLevel::kInfo, message); }
inline void LogWarning(absl::string_view message) { Log(LogLevel::kWarning, message); }
inline void LogError(absl::string_view message) { Log(LogLevel::kError, message); }

// Sends protobuf's own log lines (e.g. "String field contains invalid UTF-8" for every such
// frame a client sends) through a RateLimitedLog, so clients cannot flood the log through it.
void RouteProtobufLogs();

class RateLimitedLog {
 public:
  RateLimitedLog(LogLevel level, uint32_t per_second) : level_(level), per_second_(per_second) {}
  void Log(absl::string_view message);

 private:
  const LogLevel level_;
  const uint32_t per_second_;
  std::mutex mu_;
  int64_t second_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t lines_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_LOG_H_
