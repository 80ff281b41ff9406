// What the TCP (protobuf) and HTTP servers share about their sockets: opening a listening
// acceptor, and naming a connection's peer in log lines.
//
// Thread-compatible: call on the acceptor's / socket's own strand (or before any handler runs).
#ifndef MLED_DAEMON_TCP_LISTEN_H_
#define MLED_DAEMON_TCP_LISTEN_H_

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace mled::daemon {

// Opens `acceptor` on `endpoint` (SO_REUSEADDR, so a restart does not wait for TIME_WAIT) and
// starts listening. Returns the first error, e.g. address in use.
boost::system::error_code OpenAcceptor(boost::asio::ip::tcp::acceptor& acceptor,
                                       const boost::asio::ip::tcp::endpoint& endpoint);

// After an accept error such as EMFILE (out of descriptors: the connection stays queued), an
// immediate retry fails again at once and spins a thread. Runs `accept` after
// kAcceptRetryDelay on `timer` (which must use the acceptor's strand), if `acceptor` is open.
inline constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
void RetryAcceptLater(boost::asio::steady_timer& timer,
                      const boost::asio::ip::tcp::acceptor& acceptor,
                      std::function<void()> accept);

// "HOST:PORT" of the socket's peer, or "unknown peer" once it is gone.
std::string PeerName(const boost::asio::ip::tcp::socket& socket);

}  // namespace mled::daemon

#endif  // MLED_DAEMON_TCP_LISTEN_H_
