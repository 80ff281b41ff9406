// Parsing frame payloads into one reused ClientMessage, without allocating per sample.
//
// Why not `message.ParseFromArray(...)` on a reused message: ParseFromArray clears the message
// first, and clearing a oneof deletes its sub-message, so the Ingest and every Sample, name and
// value array in it are allocated and freed again for every frame (wire_bench measures it at
// about 4x the cost of parsing itself; bench/README.md, "Wire decoding"). ClientMessageDecoder
// clears only the contents of the previous Ingest, whose repeated fields keep their elements and
// whose strings keep their capacity, and then merges the new payload into it. The result is
// exactly what ParseFromArray would produce.
//
//   ClientMessageDecoder decoder;  // one per connection, beside its FrameDecoder
//   if (!decoder.Parse(frame)) ReplyError(mled::v1::MALFORMED_FRAME, ...);
//   else Handle(decoder.message());
//
// UDP needs no such helper: a datagram is a bare Ingest, and Ingest::ParseFromArray on a reused
// Ingest already keeps its elements (there is no oneof to clear), with retention bounded by the
// datagram size.
//
// Memory: a reused message keeps the memory of the largest message parsed into it. To bound
// that per connection, after a payload larger than `max_retained_bytes` the next Parse starts
// from a fully cleared message, releasing it.
//
// Thread-safety: none; one decoder per connection, used on its strand.
#ifndef MLED_LIB_WIRE_DECODING_H_
#define MLED_LIB_WIRE_DECODING_H_

#include <cstddef>
#include <string_view>

#include "mled/v1/wire.pb.h"

namespace mled::wire {

// Payloads up to this size leave their memory in the decoder for the next frame.
inline constexpr size_t kDefaultMaxRetainedBytes = 1 << 20;

class ClientMessageDecoder {
 public:
  explicit ClientMessageDecoder(size_t max_retained_bytes = kDefaultMaxRetainedBytes)
      : max_retained_bytes_(max_retained_bytes) {}

  ClientMessageDecoder(const ClientMessageDecoder&) = delete;
  ClientMessageDecoder& operator=(const ClientMessageDecoder&) = delete;

  // Parses one frame payload into message(), replacing its previous contents. Returns false when
  // the bytes are not a valid ClientMessage (the wire's MALFORMED_FRAME: bad tags or lengths,
  // truncation, invalid UTF-8 in a string field); message() is then unspecified until the next
  // successful Parse.
  bool Parse(std::string_view payload);

  // The last message parsed. Valid until the next Parse. Callers may modify it (e.g. swap out
  // the names they keep); the decoder only reuses its memory.
  const mled::v1::ClientMessage& message() const { return message_; }
  mled::v1::ClientMessage* mutable_message() { return &message_; }

 private:
  size_t max_retained_bytes_;
  bool release_ = false;  // the last payload was too large to keep its memory
  mled::v1::ClientMessage message_;
};

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_DECODING_H_
