#include "daemon/tcp_listen.h"

#include "absl/strings/str_cat.h"

namespace mled::daemon {

using boost::asio::ip::tcp;

boost::system::error_code OpenAcceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  return error;
}

void RetryAcceptLater(boost::asio::steady_timer& timer, const tcp::acceptor& acceptor,
                      std::function<void()> accept) {
  timer.expires_after(kAcceptRetryDelay);
  timer.async_wait([&acceptor, accept = std::move(accept)](const boost::system::error_code& error) {
    if (!error && acceptor.is_open()) accept();
  });
}

std::string PeerName(const tcp::socket& socket) {
  boost::system::error_code error;
  const tcp::endpoint peer = socket.remote_endpoint(error);
  if (error) return "unknown peer";
  return absl::StrCat(peer.address().to_string(), ":", peer.port());
}

}  // namespace mled::daemon
