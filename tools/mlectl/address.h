// Splitting "HOST:PORT" addresses, as given to --addr.
//
//   "127.0.0.1:7070" -> {"127.0.0.1", "7070"}   "[::1]:7070" -> {"::1", "7070"}
//   "localhost:7070" -> {"localhost", "7070"}   ":7070"      -> {"127.0.0.1", "7070"}
//
// Pure; thread-safe.
#ifndef MLED_TOOLS_MLECTL_ADDRESS_H_
#define MLED_TOOLS_MLECTL_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mled::mlectl {

struct HostPort {
  std::string host;
  std::string port;
};

// INVALID_ARGUMENT when there is no ":PORT", the port is not a number in 1..65535, or the
// brackets of an IPv6 host do not match.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_ADDRESS_H_
