// The daemon's configuration: a `mled.v1.Config` in protobuf text format, overridden by flags.
//
// Precedence, lowest first: each flag's default, the config file (--config), then the flags
// given on the command line. Every Config field (and every `limits` field) has a flag of the same
// name, so flags and the schema cannot drift apart (a test checks it). The result is validated
// and resolved into DaemonConfig, with one clear error per problem.
#ifndef MLED_DAEMON_CONFIG_H_
#define MLED_DAEMON_CONFIG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/log.h"
#include "lib/base/command_line.h"
#include "lib/base/host_port.h"
#include "lib/engine/engine_limits.h"
#include "lib/engine/stream_rules.h"
#include "mled/v1/config.pb.h"

namespace mled::daemon {

// Everything the server needs, validated.
struct DaemonConfig {
  mled::v1::Config proto;  // every field present
  HostPort listen;
  std::optional<HostPort> udp;  // nullopt: UDP off
  std::optional<HostPort> http;    // nullopt: HTTP off
  std::optional<HostPort> statsd;  // nullopt: StatsD off
  uint32_t udp_receive_buffer_bytes = 0;
  absl::Duration statsd_flush_interval;
  absl::Duration publish_interval;
  uint32_t io_threads = 1;
  uint32_t shards = 16;
  LogLevel log_level = LogLevel::kInfo;
  engine::EngineLimits engine_limits;
  uint64_t max_frame_bytes = 0;
  uint32_t max_datagram_bytes = 0;
  uint64_t max_session_write_bytes = 0;
  uint32_t max_connections = 0;
  uint32_t max_subscriptions_per_connection = 0;
  uint32_t max_http_header_bytes = 0;
  uint64_t max_http_body_bytes = 0;
  uint32_t max_metrics_streams = 0;
  uint32_t max_http_connections = 0;
  std::shared_ptr<const engine::StreamRules> rules;
};

// Parses text-format config. Errors read "FILE:LINE:COLUMN: message".
absl::StatusOr<mled::v1::Config> ParseConfigText(absl::string_view text,
                                                 absl::string_view filename);
// Reads and parses a config file. NOT_FOUND / INVALID_ARGUMENT with the path in the message.
absl::StatusOr<mled::v1::Config> LoadConfigFile(const std::string& path);

// mled's command line: --config and one flag per Config field (daemon/config_flags.cc), in the
// schema's order, with the usage text of `mled --help`. `run` is unused (main runs the daemon).
const cli::Command& DaemonCommand();

// Builds the effective config: flag defaults, then `file` (if any), then the flags named in
// `given` (those set on the command line, see cli::ParsedCommandLine). Requires the flags of
// daemon/config_flags.cc to be linked in.
absl::StatusOr<mled::v1::Config> MergeWithFlags(const mled::v1::Config* file,
                                                const absl::flat_hash_set<std::string>& given);

// Validates and resolves a complete config.
absl::StatusOr<DaemonConfig> ResolveConfig(const mled::v1::Config& config);

}  // namespace mled::daemon

#endif  // MLED_DAEMON_CONFIG_H_
