// mled: the streaming online estimator daemon. main only parses arguments, builds the server
// and runs it (see server.h).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "lib/base/command_line.h"

ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(bool, version);

namespace {

constexpr char kVersion[] = "0.1.0";
constexpr int kExitCannotStart = 1;
constexpr int kExitUsage = 2;

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "mled: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const mled::cli::Command& command = mled::daemon::DaemonCommand();
  absl::StatusOr<mled::cli::ParsedCommandLine> parsed =
      mled::cli::ParseCommandLine(command, std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    return Fail(kExitUsage, absl::StrCat(parsed.status().message(), " (see mled --help)"));
  }
  if (parsed->help) {
    std::fputs(mled::cli::CommandHelp("mled", command).c_str(), stdout);
    return 0;
  }
  if (absl::GetFlag(FLAGS_version)) {
    std::printf("mled %s\n", kVersion);
    return 0;
  }
  if (!parsed->positional.empty()) {
    return Fail(kExitUsage, absl::StrCat("unexpected argument \"", parsed->positional[0],
                                         "\"; flags take the form --name=value (see mled --help)"));
  }

  const std::string config_path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<mled::v1::Config> merged;
  if (config_path.empty()) {
    merged = mled::daemon::MergeWithFlags(nullptr, parsed->given);
  } else {
    absl::StatusOr<mled::v1::Config> file = mled::daemon::LoadConfigFile(config_path);
    if (!file.ok()) return Fail(kExitUsage, file.status().message());
    merged = mled::daemon::MergeWithFlags(&*file, parsed->given);
  }
  if (!merged.ok()) return Fail(kExitUsage, merged.status().message());
  absl::StatusOr<mled::daemon::DaemonConfig> config = mled::daemon::ResolveConfig(*merged);
  if (!config.ok()) return Fail(kExitUsage, config.status().message());
  mled::daemon::SetLogLevel(config->log_level);
  mled::daemon::RouteProtobufLogs();

  const uint32_t io_threads = config->io_threads;
  const uint32_t shards = config->shards;
  const std::string interval = config->proto.publish_interval();
  mled::daemon::Server server(*std::move(config));
  server.set_reload_source(config_path, parsed->given);
  if (absl::Status status = server.Start(); !status.ok()) {
    return Fail(kExitCannotStart, status.message());
  }

  const auto or_off = [](std::string address) { return address.empty() ? "off" : address; };
  // The startup line: scripts and tests read the real ports from it.
  std::printf(
      "mled listening on tcp %s, udp %s, http %s, statsd %s (publish_interval %s, io_threads %u, "
      "shards %u)\n",
      server.tcp_address().c_str(), or_off(server.udp_address()).c_str(),
      or_off(server.http_address()).c_str(), or_off(server.statsd_address()).c_str(),
      interval.c_str(), io_threads, shards);
  std::fflush(stdout);
  server.Run();
  mled::daemon::LogInfo("stopped");
  return 0;
}
