// mlectl query: one answer with the current estimates of the matching streams.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/estimate_table.h"
#include "tools/mlectl/json_line.h"
#include "tools/mlectl/requests.h"

namespace mled::mlectl {
namespace {

int RunQuery(const std::vector<std::string>& globs) {
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(absl::GetFlag(FLAGS_addr), timeout);
  if (!client.ok()) return Fail(client.status());

  absl::StatusOr<mled::v1::ServerMessage> answer = QueryEstimates(**client, globs, timeout);
  if (!answer.ok()) return Fail(answer.status());

  const std::string text = absl::GetFlag(FLAGS_json) ? ToJsonLine(*answer) + "\n"
                                                     : FormatEstimateTable(answer->estimates());
  std::fputs(text.c_str(), stdout);
  if (answer->estimates().estimates().empty()) {
    std::fputs(globs.empty() ? "mlectl: mled has no streams yet\n" : "mlectl: no stream matches\n",
               stderr);
  }
  return kExitOk;
}

}  // namespace

const Command& QueryCommand() {
  static const Command command{
      .name = "query",
      .arguments = "[GLOB...]",
      .summary = "print the current estimates of the matching streams once",
      .description =
          "Asks mled for the current estimates of the streams matching the GLOBs (names or\n"
          "fnmatch patterns: '*' matches any run of characters including '/', '?' one\n"
          "character, [...] a class; quote them for the shell). No GLOB means every stream, up\n"
          "to the daemon's query cap; unknown names are left out. Prints a table: the estimator\n"
          "EST (cum: every sample, exp: exponential forgetting, win: sliding window), N samples,\n"
          "the effective count N_EFF the model stands on (N but for exp), dimension D, the\n"
          "mean, the MLE variance (for D > 1 the diagonal of the MLE covariance), the unbiased\n"
          "variance N_EFF/(N_EFF-1)*VAR(MLE), the negative log-likelihood at the MLE and its\n"
          "mean per sample ('degenerate' when the model has none: N <= D or constant data), the\n"
          "ANOMALIES flagged since the stream began or was reset, and LAST_P, the p-value of\n"
          "the latest scored sample ('-' before any).\n",
      .flags = {kAddrFlag, {"timeout"}, {"json"}},
      .run = RunQuery,
  };
  return command;
}

}  // namespace mled::mlectl
