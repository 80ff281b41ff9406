// mlectl reset: clear the state of the matching streams.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/json_line.h"
#include "tools/mlectl/requests.h"

namespace mled::mlectl {
namespace {

int RunReset(const std::vector<std::string>& globs) {
  if (globs.empty()) {
    return UsageError(ResetCommand(),
                      "needs at least one GLOB; use '*' (quoted for the shell) for every stream");
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(absl::GetFlag(FLAGS_addr), timeout);
  if (!client.ok()) return Fail(client.status());

  absl::StatusOr<mled::v1::ServerMessage> answer = ResetStreams(**client, globs, timeout);
  if (!answer.ok()) return Fail(answer.status());
  const mled::v1::Ack& ack = answer->ack();
  const bool rejected = ack.rejected() > 0 || !ack.rejections().empty();

  if (absl::GetFlag(FLAGS_json)) {
    absl::PrintF("%s\n", ToJsonLine(*answer));
  } else if (!rejected) {
    absl::PrintF("reset %d streams\n", ack.accepted());
  }
  if (rejected) {
    for (const mled::v1::Rejection& rejection : ack.rejections()) {
      absl::FPrintF(stderr, "mlectl: mled rejected the reset: %s: %s\n",
                    mled::v1::Code_Name(rejection.code()), rejection.message());
    }
    if (ack.rejections().empty()) absl::FPrintF(stderr, "mlectl: mled rejected the reset\n");
    return kExitFailure;
  }
  if (ack.accepted() == 0) std::fputs("mlectl: no stream matches\n", stderr);
  return kExitOk;
}

}  // namespace

const Command& ResetCommand() {
  static const Command command{
      .name = "reset",
      .arguments = "GLOB...",
      .summary = "clear the state of the matching streams",
      .description =
          "Asks mled to clear the state of the streams matching the GLOBs (names or fnmatch\n"
          "patterns, '*' also matching '/'; quote them for the shell): their estimates,\n"
          "anomaly counts and scores start again from the next sample, under the stream's\n"
          "rule. At least one GLOB is required; '*' clears every stream. Prints 'reset N\n"
          "streams' with the number cleared (0, with a note on stderr, when none matches);\n"
          "with --json the acknowledgement as one line of JSON (mled.v1.ServerMessage). Exits\n"
          "1 with mled's reason when it rejects the reset.\n",
      .flags = {kAddrFlag, {"timeout"}, {"json"}},
      .run = RunReset,
  };
  return command;
}

}  // namespace mled::mlectl
