#include "daemon/udp_listener.h"

#include "absl/strings/str_cat.h"

namespace mled::daemon {

using boost::asio::ip::udp;

UdpListener::UdpListener(engine::StreamTable* table,
                         RequestHandler* handler, DaemonCounters* counters,
                         RateLimitedLog* client_errors, uint32_t max_datagram_bytes,
                         uint32_t receive_buffer_bytes)
    : handler_(handler),
      counters_(counters),
      client_errors_(client_errors),
      max_datagram_bytes_(max_datagram_bytes),
      applier_(table),
      receiver_(UdpReceiverOptions{.name = "udp",
                                   .max_datagram_bytes = max_datagram_bytes,
                                   .receive_buffer_bytes = receive_buffer_bytes},
                &counters->udp_receive_drops,
                [this](absl::Span<const ReceivedDatagram> batch) { OnBatch(batch); }) {}

absl::Status UdpListener::Start(const udp::endpoint& endpoint) {
  if (absl::Status status = receiver_.Open(endpoint); !status.ok()) return status;
  receiver_.Start();
  return absl::OkStatus();
}

void UdpListener::Stop() { receiver_.Close(); }

udp::endpoint UdpListener::local_endpoint() const { return receiver_.local_endpoint(); }

void UdpListener::OnBatch(absl::Span<const ReceivedDatagram> batch) {
  uint64_t bytes_received = 0;
  for (const ReceivedDatagram& datagram : batch) {
    bytes_received += datagram.bytes.size();
    absl::Status status;
    if (datagram.oversized) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          "datagram is larger than ", max_datagram_bytes_, " bytes (max_datagram_bytes)"));
    } else if (!ingest_.ParseFromArray(datagram.bytes.data(),
                                       static_cast<int>(datagram.bytes.size()))) {
      // A bare Ingest has no oneof, so parsing into the reused one keeps its memory.
      status = absl::InvalidArgumentError(absl::StrCat(
          "datagram of ", datagram.bytes.size(), " bytes is not a mled.v1.Ingest"));
    }
    if (status.ok()) {
      handler_->Ingest(applier_, ingest_, Transport::kUdp, &ack_);
    } else {
      counters_->udp_datagrams_malformed.fetch_add(1, std::memory_order_relaxed);
      client_errors_->Log(absl::StrCat("udp from ", datagram.sender->address().to_string(), ":",
                                       datagram.sender->port(), ": dropped: ", status.message()));
    }
  }
  counters_->udp_datagrams.fetch_add(batch.size(), std::memory_order_relaxed);
  counters_->bytes_received.fetch_add(bytes_received, std::memory_order_relaxed);
}

}  // namespace mled::daemon
