// UDP ingest: each datagram is one serialized `mled.v1.Ingest`, no length prefix, no ack.
//
// A datagram that does not decode, or is larger than max_datagram_bytes, is counted and dropped.
// Datagrams arrive in batches (daemon/udp_receiver.h: recvmmsg, a large kernel buffer, the
// kernel's drop count in DaemonCounters::udp_receive_drops) and are applied on the receiver's thread,
// one datagram at a time, with a reused Ingest and applier, so a warmed-up listener allocates
// nothing per sample.
#ifndef MLED_DAEMON_UDP_LISTENER_H_
#define MLED_DAEMON_UDP_LISTENER_H_

#include <cstdint>

#include <boost/asio/ip/udp.hpp>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/request_handler.h"
#include "daemon/udp_receiver.h"
#include "lib/engine/ingest_applier.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

class UdpListener {
 public:
  // `receive_buffer_bytes`: the kernel receive buffer to ask for (udp_receive_buffer_bytes).
  UdpListener(engine::StreamTable* table, RequestHandler* handler,
              DaemonCounters* counters, RateLimitedLog* client_errors,
              uint32_t max_datagram_bytes, uint32_t receive_buffer_bytes);

  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Binds and starts receiving. UNAVAILABLE with the cause when the address cannot be bound.
  absl::Status Start(const boost::asio::ip::udp::endpoint& endpoint);
  // Stops and joins the receive thread and closes the socket. From the controlling thread, never
  // from the receive thread.
  void Stop();
  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  // On the receiver's thread.
  void OnBatch(absl::Span<const ReceivedDatagram> batch);

  RequestHandler* handler_;
  DaemonCounters* counters_;
  RateLimitedLog* client_errors_;
  uint32_t max_datagram_bytes_;
  mled::v1::Ingest ingest_;
  mled::v1::Ack ack_;  // filled and discarded: UDP has no acks
  engine::IngestApplier applier_;
  // Last: destroyed first, so its thread (which calls OnBatch) ends before the rest.
  UdpReceiver receiver_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_UDP_LISTENER_H_
