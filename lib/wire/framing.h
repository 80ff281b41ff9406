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
// Pure functions and a buffer; no I/O. Not thread-safe: one decoder per connection.
#ifndef MLED_LIB_WIRE_FRAMING_H_
#define MLED_LIB_WIRE_FRAMING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "google/protobuf/message_lite.h"

namespace mled::wire {

// The default largest frame payload, 16 MiB.
inline constexpr uint64_t kDefaultMaxFrameBytes = 16u << 20;
// A varint of a 64-bit value takes at most 10 bytes.
inline constexpr size_t kMaxVarintBytes = 10;

// Appends varint(message.ByteSizeLong()) and the serialized message to `out`.
void AppendFrame(const google::protobuf::MessageLite& message, std::string* out);

// Appends the varint encoding of `value` to `out`.
void AppendVarint(uint64_t value, std::string* out);

// Incremental decoder of a byte stream of frames. Frames may be split across reads at any byte.
// The length is checked against the limit before any payload is buffered or allocated.
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
    // With kFrame: the payload, valid until the next call of any non-const method.
    std::string_view frame;
    // With kTooLarge: the announced length.
    uint64_t announced_length = 0;
  };

  explicit FrameDecoder(uint64_t max_frame_bytes = kDefaultMaxFrameBytes);

  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Returns writable space of at least `min_bytes` at the end of the buffer (compacting consumed
  // bytes first); fill a prefix of it, then call CommitAppend with the count written.
  absl::Span<char> PrepareAppend(size_t min_bytes);
  void CommitAppend(size_t bytes);
  // Copies `bytes` in (PrepareAppend + memcpy + CommitAppend).
  void Append(std::string_view bytes);

  // Takes the next complete frame, if any. After kTooLarge or kCorruptLength every later call
  // returns the same status.
  Next NextFrame();

  // Bytes buffered and not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }
  uint64_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  uint64_t max_frame_bytes_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last buffered byte
  Next failed_;       // sticky failure, status kNeedMore while healthy
};

}  // namespace mled::wire

#endif  // MLED_LIB_WIRE_FRAMING_H_
