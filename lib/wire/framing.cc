#include "lib/wire/framing.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace mled::wire {
namespace {

// The first allocation. Small enough that an idle connection costs little, large enough that a
// typical read of small frames needs no growth.
constexpr size_t kMinCapacity = 4096;

// Writes the varint of `value` to `out`, which has room for kMaxVarintBytes; returns the count.
size_t EncodeVarint(uint64_t value, char* out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<char>(static_cast<uint8_t>(value) | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<char>(value);
  return n;
}

}  // namespace

void AppendVarint(uint64_t value, std::string* out) {
  char bytes[kMaxVarintBytes];
  out->append(bytes, EncodeVarint(value, bytes));
}

void AppendFrame(const google::protobuf::MessageLite& message, std::string* out) {
  // ByteSizeLong caches every sub-message's size, which SerializeWithCachedSizesToArray then
  // relies on: one sizing pass and one writing pass, straight into `out`.
  const size_t size = message.ByteSizeLong();
  char header[kMaxVarintBytes];
  const size_t header_size = EncodeVarint(size, header);
  const size_t old_size = out->size();
  // resize() zero-fills the new bytes before they are overwritten; that is a memset, cheap next
  // to serialization, and std::string offers nothing better before C++23's
  // resize_and_overwrite.
  out->resize(old_size + header_size + size);
  char* dest = out->data() + old_size;
  std::memcpy(dest, header, header_size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(dest + header_size));
}

FrameDecoder::FrameDecoder(uint64_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

absl::Span<char> FrameDecoder::PrepareAppend(size_t min_bytes) {
  if (failed_.status != Status::kNeedMore) {
    // The stream is unusable, so what is buffered can never be decoded; drop it rather than let
    // a caller that keeps reading grow the buffer.
    begin_ = end_ = 0;
  }
  const size_t live = end_ - begin_;
  if (live == 0) begin_ = end_ = 0;  // free compaction: nothing to move
  if (capacity_ - end_ >= min_bytes) {
    return absl::MakeSpan(buffer_.get() + end_, capacity_ - end_);
  }
  const size_t needed = live + min_bytes;
  if (needed <= capacity_) {
    // Enough room once the consumed prefix is reclaimed. Only a partial frame (or frames the
    // caller has not taken yet) is moved, so the cost is bounded by the bytes that arrived.
    std::memmove(buffer_.get(), buffer_.get() + begin_, live);
  } else {
    // Grow geometrically so that a large frame arriving in many reads is copied O(1) times per
    // byte, but never past what one largest frame plus this read can need: growth follows the
    // bytes that arrived, not an announced length (which NextFrame has already checked).
    // (Saturating: a limit near 2^64 means "no ceiling".)
    const uint64_t slack = uint64_t{kMaxVarintBytes} + min_bytes;
    const uint64_t ceiling =
        max_frame_bytes_ > UINT64_MAX - slack ? UINT64_MAX : max_frame_bytes_ + slack;
    uint64_t capacity = std::max<uint64_t>(kMinCapacity, uint64_t{capacity_} * 2);
    capacity = std::max<uint64_t>(std::min(capacity, ceiling), needed);
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (live > 0) std::memcpy(grown.get(), buffer_.get() + begin_, live);
    buffer_ = std::move(grown);
    capacity_ = capacity;
  }
  begin_ = 0;
  end_ = live;
  return absl::MakeSpan(buffer_.get() + end_, capacity_ - end_);
}

void FrameDecoder::CommitAppend(size_t bytes) {
  assert(bytes <= capacity_ - end_);
  end_ += bytes;
}

void FrameDecoder::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  absl::Span<char> space = PrepareAppend(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  CommitAppend(bytes.size());
}

FrameDecoder::Next FrameDecoder::NextFrame() {
  if (failed_.status != Status::kNeedMore) return failed_;

  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.get() + begin_);
  const size_t available = end_ - begin_;
  uint64_t length = 0;
  size_t header_size = 0;
  while (true) {
    if (header_size == available) return Next{};  // the varint is incomplete
    const uint8_t byte = p[header_size];
    // The 10th byte carries bit 63 only; anything more overflows 64 bits, and a continuation bit
    // there would make the varint longer than 10 bytes. Either way the length is unreadable.
    if (header_size == kMaxVarintBytes - 1 && byte > 1) {
      failed_.status = Status::kCorruptLength;
      return failed_;
    }
    length |= static_cast<uint64_t>(byte & 0x7f) << (7 * header_size);
    ++header_size;
    if ((byte & 0x80) == 0) break;
  }
  // Checked before waiting for the payload, so an oversized frame is refused on its header alone
  // and never buffered.
  if (length > max_frame_bytes_) {
    failed_.status = Status::kTooLarge;
    failed_.announced_length = length;
    return failed_;
  }
  if (available - header_size < length) return Next{};  // the payload is incomplete

  Next next;
  next.status = Status::kFrame;
  next.frame = std::string_view(buffer_.get() + begin_ + header_size, static_cast<size_t>(length));
  begin_ += header_size + static_cast<size_t>(length);
  return next;
}

}  // namespace mled::wire
