#include "daemon/udp_listener.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::udp;

namespace {
// A large receive buffer absorbs bursts while the strand is busy applying.
constexpr int kReceiveBufferBytes = 8 << 20;
}  // namespace

UdpListener::UdpListener(asio::io_context& io, engine::StreamTable* table,
                         RequestHandler* handler, DaemonCounters* counters,
                         RateLimitedLog* client_errors, uint32_t max_datagram_bytes)
    : strand_(asio::make_strand(io)),
      socket_(strand_),
      handler_(handler),
      counters_(counters),
      client_errors_(client_errors),
      max_datagram_bytes_(max_datagram_bytes),
      // One byte more than the limit tells an oversized datagram from one exactly at it.
      buffer_(static_cast<size_t>(max_datagram_bytes) + 1),
      applier_(table) {}

absl::Status UdpListener::Start(const udp::endpoint& endpoint) {
  boost::system::error_code error;
  socket_.open(endpoint.protocol(), error);
  if (!error) socket_.bind(endpoint, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot listen on udp ", endpoint.address().to_string(),
                                               ":", endpoint.port(), ": ", error.message()));
  }
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ignored);
  asio::post(strand_, [this] { Receive(); });
  return absl::OkStatus();
}

void UdpListener::Stop() {
  asio::post(strand_, [this] {
    boost::system::error_code ignored;
    socket_.close(ignored);
  });
}

udp::endpoint UdpListener::local_endpoint() const {
  boost::system::error_code ignored;
  return socket_.local_endpoint(ignored);
}

void UdpListener::Receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_,
      [this](const boost::system::error_code& error, size_t bytes) { OnReceive(error, bytes); });
}

void UdpListener::OnReceive(const boost::system::error_code& error, size_t bytes) {
  if (error == asio::error::operation_aborted || !socket_.is_open()) return;
  if (!error) {
    counters_->udp_datagrams.fetch_add(1, std::memory_order_relaxed);
    counters_->bytes_received.fetch_add(bytes, std::memory_order_relaxed);
    absl::Status status;
    if (bytes > max_datagram_bytes_) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("datagram is larger than ", max_datagram_bytes_, " bytes (max_datagram_bytes)"));
    } else {
      // A bare Ingest has no oneof, so parsing into the reused one keeps its memory.
      if (!ingest_.ParseFromArray(buffer_.data(), static_cast<int>(bytes))) {
        status = absl::InvalidArgumentError(
            absl::StrCat("datagram of ", bytes, " bytes is not a mled.v1.Ingest"));
      }
    }
    if (status.ok()) {
      handler_->Ingest(applier_, ingest_, Transport::kUdp, &ack_);
    } else {
      counters_->udp_datagrams_malformed.fetch_add(1, std::memory_order_relaxed);
      client_errors_->Log(absl::StrCat("udp from ", sender_.address().to_string(), ":",
                                       sender_.port(), ": dropped: ", status.message()));
    }
  }
  Receive();
}

}  // namespace mled::daemon
