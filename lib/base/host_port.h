// "HOST:PORT" addresses, as given to mled's --listen/--udp and mlectl's --addr.
//
//   "127.0.0.1:7070" -> {"127.0.0.1", 7070}   "[::1]:7070" -> {"::1", 7070}
//   "localhost:7070" -> {"localhost", 7070}   ":7070"      -> {"127.0.0.1", 7070}
//
// An empty host means loopback, never "all interfaces". Port 0 parses (a listener takes it as
// "pick a free port"); callers that need a real port check for it.
//
// Pure; thread-safe.
#ifndef MLED_LIB_BASE_HOST_PORT_H_
#define MLED_LIB_BASE_HOST_PORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mled {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  // "host:port", or "[host]:port" for an IPv6 host.
  std::string ToString() const;
};

// INVALID_ARGUMENT ("\"x\" is not HOST:PORT: no port") when there is no ":PORT", the port is
// not a number in 0..65535, or an IPv6 host is not in matching brackets.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view address);

}  // namespace mled

#endif  // MLED_LIB_BASE_HOST_PORT_H_
