// Decodes one frame payload into a `mled.v1.ClientMessage`, reusing memory across frames.
//
// The common frame is a ClientMessage holding only an Ingest. It is parsed straight into a
// reused `Ingest`, whose repeated Samples, value arrays and name strings keep their capacity
// from frame to frame, so a warmed-up connection parses without allocating per sample. (A
// ClientMessage's oneof deletes its Ingest on Clear, which would reallocate every frame.) Any
// other frame takes the general path into a reused ClientMessage.
//
// Not thread-safe: one decoder per connection or socket. Pure: no I/O.
#ifndef MLED_LIB_WIRE_CLIENT_MESSAGE_DECODER_H_
#define MLED_LIB_WIRE_CLIENT_MESSAGE_DECODER_H_

#include <string_view>

#include "absl/status/status.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {

class ClientMessageDecoder {
 public:
  // Decodes `frame`. INVALID_ARGUMENT when the bytes are not a ClientMessage (the framing is
  // intact, so the connection can go on).
  absl::Status Decode(std::string_view frame);

  // Valid after a successful Decode, until the next one.
  mled::v1::ClientMessage::KindCase kind() const { return kind_; }
  // The ingest, when kind() == kIngest.
  const mled::v1::Ingest& ingest() const { return fast_path_ ? ingest_ : message_.ingest(); }
  // The whole message, for every kind but an ingest taken by the fast path.
  const mled::v1::ClientMessage& message() const { return message_; }

 private:
  mled::v1::Ingest ingest_;
  mled::v1::ClientMessage message_;
  mled::v1::ClientMessage::KindCase kind_ = mled::v1::ClientMessage::KIND_NOT_SET;
  bool fast_path_ = false;
};

// Parses one UDP datagram (a bare Ingest) into `ingest`, reusing its memory.
// INVALID_ARGUMENT when it does not decode.
absl::Status DecodeIngestDatagram(std::string_view datagram, mled::v1::Ingest* ingest);

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_CLIENT_MESSAGE_DECODER_H_
