#include "tools/mlectl/datagram_sender.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/connect.hpp"
#include "lib/base/host_port.h"

namespace mled::mlectl {

namespace asio = boost::asio;
using asio::ip::udp;

absl::StatusOr<std::unique_ptr<DatagramSender>> DatagramSender::Open(absl::string_view address) {
  absl::StatusOr<HostPort> host_port = ParseHostPort(address);
  if (!host_port.ok()) return host_port.status();
  std::unique_ptr<DatagramSender> sender(new DatagramSender(address));
  boost::system::error_code error;
  udp::resolver resolver(sender->io_);
  const udp::resolver::results_type endpoints =
      resolver.resolve(host_port->host, std::to_string(host_port->port), error);
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "cannot resolve \"", host_port->host, "\" (from --addr=", address, "): ", error.message()));
  }
  asio::connect(sender->socket_, endpoints, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot open UDP socket to ", address, ": ", error.message()));
  }
  return sender;
}

absl::Status DatagramSender::Send(absl::Span<const absl::string_view> pieces) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(pieces.size());
  size_t bytes = 0;
  for (absl::string_view piece : pieces) {
    buffers.push_back(asio::buffer(piece.data(), piece.size()));
    bytes += piece.size();
  }
  if (bytes > kMaxDatagramBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a datagram of ", bytes, " bytes is over the UDP limit of ", kMaxDatagramBytes));
  }
  boost::system::error_code error;
  socket_.send(buffers, 0, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot send to ", address_,
                                               " over UDP: ", error.message(),
                                               " (is mled running? start it with scripts/run)"));
  }
  return absl::OkStatus();
}

}  // namespace mled::mlectl
