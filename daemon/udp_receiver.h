// The UDP socket machinery shared by the protobuf UDP listener and the StatsD listener: receives
// datagrams in batches with recvmmsg(2), asks for a large kernel receive buffer, and reads the
// kernel's drop count (SO_RXQ_OVFL).
//
//   UdpReceiver receiver(io, {.name = "statsd", ...}, &counters.statsd_receive_drops,
//                        [&](absl::Span<const ReceivedDatagram> batch) { ... });
//   RETURN_IF_ERROR(receiver.Open(endpoint));
//   receiver.Start();
//   ...
//   receiver.Close();
//
// - Receiving: an asynchronous zero-copy MSG_PEEK receive of one byte says a datagram is queued;
//   then non-blocking recvmmsg calls (`batch_datagrams` a call) drain the socket until a call
//   comes back short (the queue was empty) or `max_calls_per_turn` calls were made (so a flood
//   cannot starve other handlers of the strand, such as the StatsD flush timer); then the peek
//   is armed again. The peek, unlike `async_wait(wait_read)`, cannot miss a datagram that
//   arrives between the last recvmmsg and re-arming: Asio's reactor is edge-triggered and tries
//   a receive speculatively, but completes a bare wait only on the next edge.
// - Datagrams larger than `max_datagram_bytes` are delivered with `oversized` set and their
//   bytes cut; the caller counts and drops them.
// - Receive buffer: SO_RCVBUFFORCE (needs CAP_NET_ADMIN, e.g. root), else SO_RCVBUF (capped by
//   net.core.rmem_max). What the kernel granted is read back, and logged once (info) when it is
//   less than asked.
// - Drops: the kernel's cumulative count of datagrams dropped on this socket for want of buffer
//   space arrives with received datagrams (SO_RXQ_OVFL); the latest value is stored in `drops`.
//   A datagram carries the count as of its own arrival, so drops after the last datagram queued
//   (a burst that overflows, then silence) would never be reported that way: each time the queue
//   is drained the count is also read directly (SO_MEMINFO), one getsockopt per drain.
//
// Thread-safety: Open, Start, Close and local_endpoint may be called from any thread (Open
// before Start). The batch callback runs on strand(), one batch at a time; its views are valid
// only during the call.
#ifndef MLED_DAEMON_UDP_RECEIVER_H_
#define MLED_DAEMON_UDP_RECEIVER_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "daemon/daemon_counters.h"

namespace mled::daemon {

// One datagram of a batch.
struct ReceivedDatagram {
  // The payload; cut to max_datagram_bytes + 1 when `oversized`.
  absl::string_view bytes;
  // Larger than max_datagram_bytes: to be counted and dropped.
  bool oversized = false;
  const boost::asio::ip::udp::endpoint* sender = nullptr;
};

struct UdpReceiverOptions {
  // "udp" or "statsd": names the socket in errors and log lines.
  std::string name;
  uint32_t max_datagram_bytes = 65507;
  uint32_t receive_buffer_bytes = 32u << 20;
  // Datagrams one recvmmsg call may return.
  uint32_t batch_datagrams = 64;
  // recvmmsg calls before the receiver lets other handlers of its strand run.
  uint32_t max_calls_per_turn = 16;
};

class UdpReceiver {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using BatchHandler = std::function<void(absl::Span<const ReceivedDatagram> batch)>;

  // `drops` (not owned, may be null) receives the kernel's drop count.
  UdpReceiver(boost::asio::io_context& io, UdpReceiverOptions options,
              DaemonCounters::Counter* drops, BatchHandler on_batch);

  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Opens and binds the socket and sets its options. UNAVAILABLE with the cause when the address
  // cannot be bound.
  absl::Status Open(const boost::asio::ip::udp::endpoint& endpoint);
  // Starts receiving (after a successful Open).
  void Start();
  // Closes the socket on the strand; the pending receive ends. Idempotent.
  void Close();
  boost::asio::ip::udp::endpoint local_endpoint() const;

  // The strand batches are delivered on; other work touching the caller's receive state (timers)
  // belongs on it too.
  const Strand& strand() const { return strand_; }

 private:
  // Control-message space for one datagram: SO_RXQ_OVFL's uint32_t, with room to spare.
  struct alignas(cmsghdr) Control {
    char bytes[64];
  };

  void ArmPeek();
  void Drain();
  // Stores the socket's drop count, read with SO_MEMINFO.
  void RefreshDrops();
  // Receives one batch; returns the datagrams received (0 when none was queued).
  size_t ReceiveBatch();

  Strand strand_;
  boost::asio::ip::udp::socket socket_;
  const UdpReceiverOptions options_;
  DaemonCounters::Counter* drops_;
  BatchHandler on_batch_;
  // Slot i of each: datagram i of a recvmmsg call.
  size_t slot_bytes_;
  // Not value-initialized: pages are touched only as datagrams fill them.
  std::unique_ptr<char[]> buffers_;
  std::vector<boost::asio::ip::udp::endpoint> senders_;
  std::vector<Control> controls_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<ReceivedDatagram> batch_;
  char peek_byte_ = 0;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_UDP_RECEIVER_H_
