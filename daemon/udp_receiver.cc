#include "daemon/udp_receiver.h"

#include <linux/sock_diag.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/log.h"

namespace mled::daemon {

using boost::asio::ip::udp;

UdpReceiver::UdpReceiver(UdpReceiverOptions options, DaemonCounters::Counter* drops,
                         BatchHandler on_batch, DrainedHandler on_drained)
    : options_(std::move(options)),
      drops_(drops),
      on_batch_(std::move(on_batch)),
      on_drained_(std::move(on_drained)),
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

UdpReceiver::~UdpReceiver() { Close(); }

absl::Status UdpReceiver::Open(const udp::endpoint& endpoint) {
  const auto unavailable = [&](const char* what) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.name, " ",
                                               endpoint.address().to_string(), ":",
                                               endpoint.port(), ": ", what, ": ",
                                               std::strerror(errno)));
  };
  fd_ = socket(endpoint.protocol().family(), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd_ < 0) return unavailable("socket");
  if (bind(fd_, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    absl::Status status = unavailable("bind");
    close(fd_);
    fd_ = -1;
    return status;
  }
  local_ = endpoint;
  socklen_t local_size = static_cast<socklen_t>(local_.capacity());
  if (getsockname(fd_, local_.data(), &local_size) == 0) local_.resize(local_size);
  // The receive thread's longest wait: it checks for Close and runs on_drained that often.
  const timeval tick{.tv_sec = 0,
                     .tv_usec = static_cast<suseconds_t>(
                         std::chrono::microseconds(options_.idle_tick).count())};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));

  // SO_RCVBUFFORCE may exceed net.core.rmem_max but needs CAP_NET_ADMIN; SO_RCVBUF is capped by
  // rmem_max.
  const int asked = static_cast<int>(std::min<uint32_t>(options_.receive_buffer_bytes, INT_MAX / 2));
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &asked, sizeof(asked)) != 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &asked, sizeof(asked));
  }
  int granted = 0;
  socklen_t granted_size = sizeof(granted);
  // The kernel doubles what it is given (to cover its bookkeeping) and reports the doubled value.
  const bool read_back = getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &granted, &granted_size) == 0;
  if (read_back && granted / 2 < (4 << 20)) {
    options_.coalesce_delay = std::min(options_.coalesce_delay, std::chrono::microseconds(200));
  }
  if (read_back && granted / 2 < asked) {
    LogInfo(absl::StrCat(options_.name, " receive buffer: the kernel granted ", granted / 2,
                         " bytes of the ", asked,
                         " asked (udp_receive_buffer_bytes); raise net.core.rmem_max, or run "
                         "mled as root, to absorb larger bursts without drops"));
  }
  const int on = 1;
  if (setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) != 0) {
    LogWarning(absl::StrCat(options_.name, ": cannot enable SO_RXQ_OVFL (", std::strerror(errno),
                            "); kernel drops will not be counted"));
  }
  return absl::OkStatus();
}

void UdpReceiver::Start() {
  if (fd_ < 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
  // "mled-statsd" in top and gdb; at most 15 characters.
  pthread_setname_np(thread_.native_handle(), absl::StrCat("mled-", options_.name).substr(0, 15).c_str());
}

void UdpReceiver::Close() {
  stopping_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

udp::endpoint UdpReceiver::local_endpoint() const { return local_; }

void UdpReceiver::Run() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    size_t received = 0;
    size_t batch;
    uint32_t calls = 0;
    // Bounded, so that under a flood on_drained still runs (the StatsD counter flush is there).
    do {
      batch = ReceiveBatch();
      received += batch;
    } while (batch == options_.batch_datagrams && ++calls < kMaxCallsPerDrain &&
             !stopping_.load(std::memory_order_relaxed));
    if (received > 0) RefreshDrops();
    if (on_drained_) on_drained_();
    // Traffic is flowing (and the queue was emptied): let more queue up, so the next wakeup
    // takes many datagrams at once.
    if (received > 0 && batch < options_.batch_datagrams) {
      std::this_thread::sleep_for(options_.coalesce_delay);
    }
  }
}

void UdpReceiver::RefreshDrops() {
  if (drops_ == nullptr) return;
  std::array<uint32_t, SK_MEMINFO_VARS> meminfo{};
  socklen_t size = sizeof(meminfo);
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &size) == 0 &&
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
  // Blocks (up to SO_RCVTIMEO, the idle tick) for the first datagram, then takes what is queued.
  const int received =
      recvmmsg(fd_, headers_.data(), static_cast<unsigned>(slots), MSG_WAITFORONE, nullptr);
  if (received <= 0) return 0;  // EAGAIN (the tick), EINTR, or an ICMP error report

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
