#include "lib/base/host_port.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mled {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address) {
  const auto invalid = [address](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT: ", why));
  };
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return invalid("no port");
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']') return invalid("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != absl::string_view::npos) {
    return invalid("put an IPv6 host in brackets, like [::1]:7070");
  }
  uint32_t number = 0;
  if (!absl::SimpleAtoi(port, &number) || number > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  return HostPort{host.empty() ? "127.0.0.1" : std::string(host), static_cast<uint16_t>(number)};
}

}  // namespace mled
