#include "tools/mlectl/command.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace mled::mlectl {

std::string CommandHelp(const Command& command) {
  return absl::StrCat(cli::CommandHelp("mlectl", command),
                      "\nexit status: 0 success, 1 runtime failure, 2 usage error "
                      "(see 'mlectl --help')\n");
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "mlectl: %s\n", std::string(status.message()).c_str());
  return kExitFailure;
}

int UsageError(const Command& command, absl::string_view message) {
  std::fprintf(stderr, "mlectl %.*s: %.*s (see 'mlectl help %.*s')\n",
               static_cast<int>(command.name.size()), command.name.data(),
               static_cast<int>(message.size()), message.data(),
               static_cast<int>(command.name.size()), command.name.data());
  return kExitUsage;
}

}  // namespace mled::mlectl
