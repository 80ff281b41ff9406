// Varint length-delimited framing: each frame is a base-128 varint length followed by that many
// bytes of one serialized message (protobuf's delimited format in Java, Python and Go).
//
//   std::string out;
//   AppendFrame(message, &out);          // sender
//
//   FrameDecoder decoder(max_frame_bytes);  // receiver
//   absl::Span<char> space = decoder.PrepareAppend(64 * 1024);
//   size_t n = read(fd, space.data(), space.size());
//   decoder.CommitAppend(n);
//   while (true) {
//     FrameDecoder::Next next = decoder.NextFrame();
//     if (next.status == FrameDecoder::Status::kFrame) Handle(next.frame);
//     else break;  // kNeedMore: read again; kTooLarge / kCorruptLength: the stream is unusable
//   }
//
// Pure functions and a buffer; no I/O. The free functions are thread-safe (on distinct `out`
// strings); a FrameDecoder is not: one decoder per connection, used on that connection's strand.
#ifndef MLED_LIB_WIRE_FRAMING_H_
#define MLED_LIB_WIRE_FRAMING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "google/protobuf/message_lite.h"

namespace mled::wire {

// The default largest frame payload, 16 MiB.
inline constexpr uint64_t kDefaultMaxFrameBytes = 16u << 20;
// A varint of a 64-bit value takes at most 10 bytes.
inline constexpr size_t kMaxVarintBytes = 10;

// Appends varint(message.ByteSizeLong()) and the serialized message to `out`, serializing in
// place (no temporary string). Like all protobuf serialization it computes and caches the
// message's sizes, so `message` must not be serialized concurrently from another thread, and it
// must be under 2 GiB (protobuf's own limit; far above any `max_frame_bytes`).
void AppendFrame(const google::protobuf::MessageLite& message, std::string* out);

// Appends the varint encoding of `value` to `out`.
void AppendVarint(uint64_t value, std::string* out);

// Incremental decoder of a byte stream of frames. Frames may be split across reads at any byte.
//
// Memory: the length is checked against the limit as soon as its varint is complete, before any
// payload is buffered, and the buffer never grows on the strength of an announced length: only
// to hold bytes that actually arrived plus the space asked for by PrepareAppend (at most about
// twice that, as it grows geometrically). A peer announcing 2^40 bytes costs nothing. Consumed
// bytes are reclaimed by PrepareAppend (moved to the front when the tail is too short). The
// buffer keeps its largest size for the decoder's life.
//
// Errors: kTooLarge and kCorruptLength are sticky; the byte stream cannot be resynchronized, so
// the caller should report the error and close the connection. From then on PrepareAppend
// discards whatever is buffered, so a caller that keeps reading does not grow the buffer.
//
// Thread-safety: none; one decoder per connection.
class FrameDecoder {
 public:
  enum class Status {
    kFrame,          // `frame` holds one complete payload
    kNeedMore,       // no complete frame buffered yet
    kTooLarge,       // the announced length exceeds max_frame_bytes; the stream is unusable
    kCorruptLength,  // the varint is longer than 10 bytes or overflows 64 bits; unusable
  };
  struct Next {
    Status status = Status::kNeedMore;
    // With kFrame: the payload, valid until the next PrepareAppend or Append (NextFrame moves no
    // bytes, so several frames may be taken and then handled together).
    std::string_view frame;
    // With kTooLarge: the announced length.
    uint64_t announced_length = 0;
  };

  explicit FrameDecoder(uint64_t max_frame_bytes = kDefaultMaxFrameBytes);

  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Returns writable space of at least `min_bytes` at the end of the buffer (compacting consumed
  // bytes first); fill a prefix of it, then call CommitAppend with the count written. The span is
  // valid until the next PrepareAppend or Append; this call invalidates earlier `frame` views.
  absl::Span<char> PrepareAppend(size_t min_bytes);
  // Precondition: `bytes` <= the size of the span the last PrepareAppend returned.
  void CommitAppend(size_t bytes);
  // Copies `bytes` in (PrepareAppend + memcpy + CommitAppend).
  void Append(std::string_view bytes);

  // Takes the next complete frame, if any. After kTooLarge or kCorruptLength every later call
  // returns the same status.
  Next NextFrame();

  // Bytes buffered and not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }
  // Bytes allocated for the buffer (for memory accounting and tests).
  size_t capacity() const { return capacity_; }
  uint64_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  uint64_t max_frame_bytes_;
  // Not a std::vector: growing one value-initializes the new bytes, which are about to be
  // overwritten by a read anyway.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last buffered byte
  Next failed_;       // sticky failure, status kNeedMore while healthy
};

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_FRAMING_H_
