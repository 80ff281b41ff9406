// Sends UDP datagrams to mled: each one a serialized `Ingest`, with no framing and no answer.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<DatagramSender> sender,
//                    DatagramSender::Open("127.0.0.1:7070"));
//   RETURN_IF_ERROR(sender->Send({ingest_bytes}));
//
// Sends block (the kernel's socket buffer absorbs bursts); nothing tells whether mled received a
// datagram, except that after an ICMP "port unreachable" the next send fails with UNAVAILABLE.
//
// Not thread-safe: one sender per thread.
#ifndef MLED_TOOLS_MLECTL_DATAGRAM_SENDER_H_
#define MLED_TOOLS_MLECTL_DATAGRAM_SENDER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/udp.hpp"

namespace mled::mlectl {

class DatagramSender {
 public:
  // The largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
  static constexpr size_t kMaxDatagramBytes = 65507;

  // Resolves `address` ("HOST:PORT") and connects a UDP socket to it.
  static absl::StatusOr<std::unique_ptr<DatagramSender>> Open(absl::string_view address);

  DatagramSender(const DatagramSender&) = delete;
  DatagramSender& operator=(const DatagramSender&) = delete;

  // Sends the concatenation of `pieces` as one datagram; INVALID_ARGUMENT over kMaxDatagramBytes.
  absl::Status Send(absl::Span<const absl::string_view> pieces);

 private:
  explicit DatagramSender(absl::string_view address) : address_(address) {}

  std::string address_;
  boost::asio::io_context io_{1};
  boost::asio::ip::udp::socket socket_{io_};
};

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_DATAGRAM_SENDER_H_
