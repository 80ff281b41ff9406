// The flags that several mlectl commands share, defined once. A command lists the ones it takes
// in its `Command::flags` (command.h), where it may also give one a default of its own (--window
// is 16 for send and 64 for bench; --timeout is 0, "no limit", for subscribe; --duration is 10s
// for bench and 0, "until stopped", for demo).
#ifndef MLED_TOOLS_MLECTL_COMMON_FLAGS_H_
#define MLED_TOOLS_MLECTL_COMMON_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"
#include "tools/mlectl/command.h"

ABSL_DECLARE_FLAG(std::string, addr);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(bool, udp);
ABSL_DECLARE_FLAG(int32_t, batch);
ABSL_DECLARE_FLAG(int32_t, window);
ABSL_DECLARE_FLAG(double, rate);
ABSL_DECLARE_FLAG(absl::Duration, duration);

namespace mled::mlectl {

// --addr, checked to be HOST:PORT while the command line is parsed.
extern const FlagSpec kAddrFlag;

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_COMMON_FLAGS_H_
