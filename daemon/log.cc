#include "daemon/log.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"

namespace mled::daemon {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

char LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void SetLogLevel(LogLevel level) { min_level.store(static_cast<int>(level)); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warning") {
    *level = LogLevel::kWarning;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void Log(LogLevel level, absl::string_view message) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " ", std::string(1, LevelLetter(level)), " ", message, "\n");
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void RateLimitedLog::Log(absl::string_view message) {
  const int64_t second = absl::ToUnixSeconds(absl::Now());
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (second != second_) {
      second_ = second;
      lines_ = 0;
      suppressed = suppressed_;
      suppressed_ = 0;
    }
    if (lines_ >= per_second_) {
      ++suppressed_;
      message = {};
    } else {
      ++lines_;
    }
  }
  if (suppressed > 0) {
    daemon::Log(level_, absl::StrCat("(", suppressed, " similar messages suppressed)"));
  }
  if (!message.empty()) daemon::Log(level_, message);
}

void RouteProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* /*file*/,
                                     int /*line*/, const std::string& message) {
    static RateLimitedLog log(LogLevel::kWarning, 5);
    if (level >= google::protobuf::LOGLEVEL_FATAL) {
      daemon::Log(LogLevel::kError, absl::StrCat("protobuf: ", message));
      return;
    }
    log.Log(absl::StrCat("protobuf: ", message));
  });
}

}  // namespace mled::daemon
