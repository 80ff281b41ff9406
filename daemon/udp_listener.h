// UDP ingest: each datagram is one serialized `mled.v1.Ingest`, no length prefix, no ack.
//
// A datagram that does not decode, or is larger than max_datagram_bytes, is counted and dropped.
// Receives are handled on one strand, one datagram at a time, with a reused Ingest and applier,
// so a warmed-up listener allocates nothing per sample.
#ifndef MLED_DAEMON_UDP_LISTENER_H_
#define MLED_DAEMON_UDP_LISTENER_H_

#include <cstdint>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "absl/status/status.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/request_handler.h"
#include "lib/engine/ingest_applier.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

class UdpListener {
 public:
  UdpListener(boost::asio::io_context& io, engine::StreamTable* table, RequestHandler* handler,
              DaemonCounters* counters, RateLimitedLog* client_errors,
              uint32_t max_datagram_bytes);

  // Binds and starts receiving. UNAVAILABLE with the cause when the address cannot be bound.
  absl::Status Start(const boost::asio::ip::udp::endpoint& endpoint);
  // Closes the socket; pending receives end. Any thread.
  void Stop();
  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  void Receive();
  void OnReceive(const boost::system::error_code& error, size_t bytes);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::udp::socket socket_;
  RequestHandler* handler_;
  DaemonCounters* counters_;
  RateLimitedLog* client_errors_;
  uint32_t max_datagram_bytes_;
  std::vector<char> buffer_;
  boost::asio::ip::udp::endpoint sender_;
  mled::v1::Ingest ingest_;
  mled::v1::Ack ack_;  // filled and discarded: UDP has no acks
  engine::IngestApplier applier_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_UDP_LISTENER_H_
