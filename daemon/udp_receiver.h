// The UDP socket machinery shared by the protobuf UDP listener and the StatsD listener: a socket
// with a large kernel receive buffer, read in batches with recvmmsg(2) by a thread of its own,
// and the kernel's count of the datagrams it dropped (SO_RXQ_OVFL).
//
//   UdpReceiver receiver({.name = "statsd", ...}, &counters.statsd_receive_drops,
//                        [&](absl::Span<const ReceivedDatagram> batch) { ... },
//                        [&] { ... apply what the wakeup received ... });
//   RETURN_IF_ERROR(receiver.Open(endpoint));
//   receiver.Start();
//   ...
//   receiver.Close();   // joins the thread
//
// - Why a thread and a plain socket, not Asio: Asio registers every socket it opens with its
//   epoll set, edge-triggered, and Linux reports an edge for every datagram that arrives, so
//   each datagram woke an I/O thread even while no receive was pending; those wakeups were half
//   of the daemon's CPU at 100k datagrams/s. The receive thread instead blocks in recvmmsg
//   (MSG_WAITFORONE: wait for one, then take what is queued, up to `batch_datagrams`).
// - Coalescing: after a wakeup that received datagrams, the thread sleeps `coalesce_delay`
//   before receiving again, so under steady traffic one wakeup takes hundreds of datagrams
//   instead of one or two; no datagram waits much longer than the delay.
// - Datagrams larger than `max_datagram_bytes` are delivered with `oversized` set and their
//   bytes cut; the caller counts and drops them.
// - Receive buffer: SO_RCVBUFFORCE (needs CAP_NET_ADMIN, e.g. root), else SO_RCVBUF (capped by
//   net.core.rmem_max). What the kernel granted is read back, and logged once (info) when it is
//   less than asked; with less than 4 MiB the coalescing delay is cut to 200 µs, so that even
//   the default 208 KiB holds what arrives meanwhile.
// - Drops: the kernel's cumulative count of datagrams dropped on this socket for want of buffer
//   space arrives with received datagrams (SO_RXQ_OVFL); the latest value is stored in `drops`.
//   A datagram carries the count as of its own arrival, so drops after the last datagram queued
//   (a burst that overflows, then silence) would never be reported that way: after each wakeup
//   the count is also read directly (SO_MEMINFO).
//
// Thread-safety: Open, Start and Close from one controlling thread (Open before Start; Close
// joins the receive thread, so never from a callback). Both callbacks run on the receive thread,
// one at a time; a batch's views are valid only during its call. local_endpoint: any thread.
#ifndef MLED_DAEMON_UDP_RECEIVER_H_
#define MLED_DAEMON_UDP_RECEIVER_H_

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/udp.hpp>

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
  // "udp" or "statsd": names the socket in errors, log lines and the thread.
  std::string name;
  uint32_t max_datagram_bytes = 65507;
  uint32_t receive_buffer_bytes = 32u << 20;
  // Datagrams one recvmmsg call may return.
  uint32_t batch_datagrams = 64;
  // Sleep after a wakeup that received datagrams (each wakeup is a context switch, ~10 µs on a
  // VM); 1 ms is a few hundred datagrams at the rates one core can parse.
  std::chrono::microseconds coalesce_delay{1000};
  // Longest wait in recvmmsg: `on_drained` runs at least this often while the socket is idle
  // (the StatsD flush runs from it), and Close takes at most this long.
  std::chrono::milliseconds idle_tick{20};
};

class UdpReceiver {
 public:
  using BatchHandler = std::function<void(absl::Span<const ReceivedDatagram> batch)>;
  using DrainedHandler = std::function<void()>;

  // `drops` (not owned, may be null) receives the kernel's drop count. `on_drained` (may be
  // empty) runs after the batches of each wakeup, and every `idle_tick` while idle.
  UdpReceiver(UdpReceiverOptions options, DaemonCounters::Counter* drops, BatchHandler on_batch,
              DrainedHandler on_drained = nullptr);
  // Close().
  ~UdpReceiver();

  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Opens and binds the socket and sets its options. UNAVAILABLE with the cause when the address
  // cannot be bound.
  absl::Status Open(const boost::asio::ip::udp::endpoint& endpoint);
  // Starts the receive thread (after a successful Open).
  void Start();
  // Stops and joins the receive thread (within idle_tick) and closes the socket. Idempotent.
  void Close();
  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  // recvmmsg calls between two on_drained calls while datagrams keep coming.
  static constexpr uint32_t kMaxCallsPerDrain = 16;

  // Control-message space for one datagram: SO_RXQ_OVFL's uint32_t, with room to spare.
  struct alignas(cmsghdr) Control {
    char bytes[64];
  };

  void Run();
  // Stores the socket's drop count, read with SO_MEMINFO.
  void RefreshDrops();
  // Waits up to idle_tick for a datagram and receives one batch; returns its size (0 on timeout).
  size_t ReceiveBatch();

  UdpReceiverOptions options_;
  DaemonCounters::Counter* drops_;
  BatchHandler on_batch_;
  DrainedHandler on_drained_;
  int fd_ = -1;
  boost::asio::ip::udp::endpoint local_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  // Slot i of each: datagram i of a recvmmsg call. Used by the receive thread only.
  size_t slot_bytes_;
  // Not value-initialized: pages are touched only as datagrams fill them.
  std::unique_ptr<char[]> buffers_;
  std::vector<boost::asio::ip::udp::endpoint> senders_;
  std::vector<Control> controls_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<ReceivedDatagram> batch_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_UDP_RECEIVER_H_
