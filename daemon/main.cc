// mled: the streaming online estimator daemon. main only parses arguments, builds the server
// and runs it (see server.h).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/server.h"

ABSL_DECLARE_FLAG(std::string, config);

namespace {

constexpr char kUsage[] =
    "streaming Gaussian maximum-likelihood estimates and NLL for live streams.\n"
    "\n"
    "Usage: mled [--config=PATH] [--flag=value ...]\n"
    "\n"
    "Producers push samples over TCP (varint length-delimited mled.v1.ClientMessage frames)\n"
    "or UDP (one mled.v1.Ingest per datagram); subscribers receive estimates at intervals.\n"
    "With no flags mled listens on loopback only: TCP and UDP on 127.0.0.1:7070.\n"
    "Every config field is also a flag; flags given here override the config file.\n"
    "Signals: SIGTERM/SIGINT stop cleanly (exit 0); SIGHUP reloads log_level and\n"
    "publish_interval from the config file.\n"
    "Exit codes: 0 clean stop, 1 cannot start (address in use, ...), 2 bad flags or config.";

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "mled: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  // --help lists the daemon's own flags (those defined under daemon/), not Abseil's.
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "daemon/");
  };
  usage_config.version_string = [] { return std::string("mled 0.1.0\n"); };
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(kUsage);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return Fail(2, absl::StrCat("unexpected argument \"", positional[1],
                                "\"; flags take the form --name=value (see mled --help)"));
  }

  using mled::daemon::DaemonConfig;
  const std::string config_path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<mled::v1::Config> merged;
  if (config_path.empty()) {
    merged = mled::daemon::MergeWithFlags(nullptr);
  } else {
    absl::StatusOr<mled::v1::Config> file = mled::daemon::LoadConfigFile(config_path);
    if (!file.ok()) return Fail(2, file.status().message());
    merged = mled::daemon::MergeWithFlags(&*file);
  }
  if (!merged.ok()) return Fail(2, merged.status().message());
  absl::StatusOr<DaemonConfig> config = mled::daemon::ResolveConfig(*merged);
  if (!config.ok()) return Fail(2, config.status().message());
  mled::daemon::SetLogLevel(config->log_level);
  mled::daemon::RouteProtobufLogs();

  const uint32_t io_threads = config->io_threads;
  const uint32_t shards = config->shards;
  const std::string interval = config->proto.publish_interval();
  mled::daemon::Server server(*std::move(config));
  server.set_config_path(config_path);
  if (absl::Status status = server.Start(); !status.ok()) return Fail(1, status.message());

  const std::string udp = server.udp_address();
  // The startup line: scripts and tests read the real ports from it.
  std::printf("mled listening on tcp %s, udp %s (publish_interval %s, io_threads %u, shards %u)\n",
              server.tcp_address().c_str(), udp.empty() ? "off" : udp.c_str(), interval.c_str(),
              io_threads, shards);
  std::fflush(stdout);
  server.Run();
  mled::daemon::LogInfo("stopped");
  return 0;
}
