#include "lib/wire/decoding.h"

#include <climits>

#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace mled::wire {
namespace {

// The tag of `ClientMessage.ingest`: field 1, wire type 2 (length-delimited), as one byte.
constexpr char kIngestTag = (1 << 3) | 2;

}  // namespace

bool ClientMessageDecoder::Parse(std::string_view payload) {
  if (payload.size() > static_cast<size_t>(INT_MAX)) {  // protobuf's own limit
    message_.Clear();
    return false;
  }
  // Reuse only when the payload starts with an Ingest, which every encoder emits first (it is
  // the only field a ClientMessage carrying one has). Merging into the cleared Ingest then gives
  // what parsing into an empty message gives: the first field fills the Ingest, and any later
  // field has the usual last-one-wins effect on the oneof. Any other payload (a Subscribe, an
  // empty frame, a non-canonical tag) takes the plain path, so that, for example, an empty
  // frame leaves no empty Ingest behind.
  const bool reuse = !release_ && !payload.empty() && payload[0] == kIngestTag;
  if (reuse) {
    message_.mutable_ingest()->Clear();
    // ClientMessage's own unknown fields (rare; proto3 generates no accessor for them).
    const google::protobuf::Reflection* reflection = message_.GetReflection();
    if (!reflection->GetUnknownFields(message_).empty()) {
      reflection->MutableUnknownFields(&message_)->Clear();
    }
  } else {
    message_.Clear();
  }
  release_ = payload.size() > max_retained_bytes_;
  const int size = static_cast<int>(payload.size());
  google::protobuf::io::ArrayInputStream input(payload.data(), size);
  return message_.MergeFromBoundedZeroCopyStream(&input, size);
}

}  // namespace mled::wire
