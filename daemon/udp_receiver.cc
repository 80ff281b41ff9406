#include "daemon/udp_receiver.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/log.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::udp;

UdpReceiver::UdpReceiver(asio::io_context& io, UdpReceiverOptions options,
                         DaemonCounters::Counter* drops, BatchHandler on_batch)
    : strand_(asio::make_strand(io)),
      socket_(strand_),
      options_(std::move(options)),
      drops_(drops),
      on_batch_(std::move(on_batch)),
      // One byte more than the limit tells an oversized datagram from one exactly at it.
      slot_bytes_(static_cast<size_t>(options_.max_datagram_bytes) + 1),
      buffers_(std::make_unique_for_overwrite<char[]>(slot_bytes_ * options_.batch_datagrams)),
      senders_(options_.batch_datagrams),
      controls_(options_.batch_datagrams),
      iovecs_(options_.batch_datagrams),
      headers_(options_.batch_datagrams),
      batch_(options_.batch_datagrams) {
  for (size_t i = 0; i < headers_.size(); ++i) {
    iovecs_[i] = iovec{.iov_base = buffers_.get() + i * slot_bytes_, .iov_len = slot_bytes_};
    std::memset(&headers_[i], 0, sizeof(headers_[i]));
    headers_[i].msg_hdr.msg_iov = &iovecs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
}

absl::Status UdpReceiver::Open(const udp::endpoint& endpoint) {
  boost::system::error_code error;
  socket_.open(endpoint.protocol(), error);
  if (!error) socket_.bind(endpoint, error);
  // recvmmsg with MSG_DONTWAIT never blocks; the flag on the socket keeps Asio's own peek
  // non-blocking too.
  if (!error) socket_.non_blocking(true, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.name, " ",
                                               endpoint.address().to_string(), ":",
                                               endpoint.port(), ": ", error.message()));
  }
  const int fd = socket_.native_handle();
  // A large buffer absorbs bursts while the strand is busy applying. SO_RCVBUFFORCE ignores
  // net.core.rmem_max but needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max.
  const int asked = static_cast<int>(std::min<uint32_t>(options_.receive_buffer_bytes, INT_MAX / 2));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &asked, sizeof(asked)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &asked, sizeof(asked));
  }
  int granted = 0;
  socklen_t granted_size = sizeof(granted);
  // The kernel doubles what it is given (to cover its bookkeeping) and reports the doubled value.
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_size) == 0 && granted / 2 < asked) {
    LogInfo(absl::StrCat(options_.name, " receive buffer: the kernel granted ", granted / 2,
                         " bytes of the ", asked,
                         " asked (udp_receive_buffer_bytes); raise net.core.rmem_max, or run "
                         "mled as root, to absorb larger bursts without drops"));
  }
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) != 0) {
    LogWarning(absl::StrCat(options_.name, ": cannot enable SO_RXQ_OVFL (", std::strerror(errno),
                            "); kernel drops will not be counted"));
  }
  return absl::OkStatus();
}

void UdpReceiver::Start() {
  asio::post(strand_, [this] { ArmPeek(); });
}

void UdpReceiver::Close() {
  asio::post(strand_, [this] {
    boost::system::error_code ignored;
    socket_.close(ignored);
  });
}

udp::endpoint UdpReceiver::local_endpoint() const {
  boost::system::error_code ignored;
  return socket_.local_endpoint(ignored);
}

void UdpReceiver::ArmPeek() {
  if (!socket_.is_open()) return;
  socket_.async_receive(asio::buffer(&peek_byte_, 1), udp::socket::message_peek,
                        [this](const boost::system::error_code& error, size_t) {
                          if (error == asio::error::operation_aborted || !socket_.is_open()) {
                            return;
                          }
                          // Any other error belongs to a queued datagram (or an ICMP report);
                          // recvmmsg meets it too and goes on.
                          Drain();
                        });
}

void UdpReceiver::Drain() {
  for (uint32_t call = 0; call < options_.max_calls_per_turn; ++call) {
    if (ReceiveBatch() < options_.batch_datagrams) {
      // A short batch: the queue was empty. The peek catches whatever comes next.
      RefreshDrops();
      ArmPeek();
      return;
    }
  }
  // Still more: let the strand's other handlers run, then go on.
  asio::post(strand_, [this] {
    if (socket_.is_open()) Drain();
  });
}

void UdpReceiver::RefreshDrops() {
  if (drops_ == nullptr) return;
  std::array<uint32_t, SK_MEMINFO_VARS> meminfo{};
  socklen_t size = sizeof(meminfo);
  if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_MEMINFO, meminfo.data(), &size) == 0 &&
      size > SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    drops_->store(meminfo[SK_MEMINFO_DROPS], std::memory_order_relaxed);
  }
}

size_t UdpReceiver::ReceiveBatch() {
  const size_t slots = headers_.size();
  for (size_t i = 0; i < slots; ++i) {
    msghdr& header = headers_[i].msg_hdr;
    header.msg_name = senders_[i].data();
    header.msg_namelen = static_cast<socklen_t>(senders_[i].capacity());
    header.msg_control = controls_[i].bytes;
    header.msg_controllen = sizeof(controls_[i].bytes);
    header.msg_flags = 0;
    headers_[i].msg_len = 0;
  }
  int received;
  do {
    received = recvmmsg(socket_.native_handle(), headers_.data(), static_cast<unsigned>(slots),
                        MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received <= 0) return 0;  // EAGAIN: drained; other errors end this turn too

  const size_t count = static_cast<size_t>(received);
  for (size_t i = 0; i < count; ++i) {
    const msghdr& header = headers_[i].msg_hdr;
    const size_t length = std::min<size_t>(headers_[i].msg_len, slot_bytes_);
    senders_[i].resize(header.msg_namelen);
    batch_[i] = ReceivedDatagram{
        .bytes = absl::string_view(buffers_.get() + i * slot_bytes_, length),
        .oversized = (header.msg_flags & MSG_TRUNC) != 0 || length > options_.max_datagram_bytes,
        .sender = &senders_[i]};
    if (drops_ == nullptr) continue;
    for (const cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
         control = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(control))) {
      if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SO_RXQ_OVFL) {
        uint32_t dropped = 0;
        std::memcpy(&dropped, CMSG_DATA(control), sizeof(dropped));
        // Cumulative for the socket: the latest value is the count.
        drops_->store(dropped, std::memory_order_relaxed);
      }
    }
  }
  on_batch_(absl::MakeConstSpan(batch_.data(), count));
  return count;
}

}  // namespace mled::daemon
