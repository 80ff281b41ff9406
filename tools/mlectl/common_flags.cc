#include "tools/mlectl/common_flags.h"

#include "absl/flags/flag.h"
#include "lib/base/host_port.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:7070",
          "mled's address, HOST:PORT (IPv6 as [HOST]:PORT); the same port serves TCP and UDP");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "how long to wait for mled: to connect, and for each answer or acknowledgement;\n"
          "for subscribe, how long to watch (0 = no limit)");
ABSL_FLAG(bool, json, false, "print machine-readable JSON, one object per line, instead of text");
ABSL_FLAG(bool, udp, false,
          "send UDP datagrams (one Ingest each, at most 65507 bytes) instead of TCP frames;\n"
          "UDP has no acknowledgements, so send cannot report rejections or losses (bench\n"
          "compares mled's counters before and after instead)");
ABSL_FLAG(int32_t, batch, 1000, "samples per Ingest message");
ABSL_FLAG(int32_t, window, 16,
          "Ingest messages sent ahead of their acknowledgement (pipelining depth)");
ABSL_FLAG(double, rate, 0,
          "samples per second: for bench, the target over all connections (0 = as fast as\n"
          "possible); for demo, per stream");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "how long to send (demo: 0 = until Ctrl-C or SIGTERM)");

namespace mled::mlectl {

const FlagSpec kAddrFlag{
    .name = "addr", .validate = [] {
      absl::StatusOr<HostPort> parsed = ParseHostPort(absl::GetFlag(FLAGS_addr));
      if (parsed.ok() && parsed->port == 0) {
        return absl::InvalidArgumentError("the port must be a number from 1 to 65535");
      }
      return parsed.status();
    }};

}  // namespace mled::mlectl
