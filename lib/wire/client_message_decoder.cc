#include "lib/wire/client_message_decoder.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"

namespace mled::wire {
namespace {

// Tag of ClientMessage.ingest: field 1, wire type 2 (length-delimited).
constexpr uint32_t kIngestTag = (1 << 3) | 2;

// If `frame` is exactly one ClientMessage.ingest field, sets `payload` to its bytes.
bool SingleIngestPayload(std::string_view frame, std::string_view* payload) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(frame.data()),
                                               static_cast<int>(frame.size()));
  uint32_t length = 0;
  if (input.ReadTag() != kIngestTag || !input.ReadVarint32(&length)) return false;
  const size_t header = static_cast<size_t>(input.CurrentPosition());
  if (header + length != frame.size()) return false;
  *payload = frame.substr(header);
  return true;
}

}  // namespace

absl::Status ClientMessageDecoder::Decode(std::string_view frame) {
  kind_ = mled::v1::ClientMessage::KIND_NOT_SET;
  std::string_view payload;
  if (frame.size() <= static_cast<size_t>(INT32_MAX) && SingleIngestPayload(frame, &payload)) {
    fast_path_ = true;
    if (!ingest_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame of ", frame.size(), " bytes holds an Ingest that does not decode"));
    }
    kind_ = mled::v1::ClientMessage::kIngest;
    return absl::OkStatus();
  }
  fast_path_ = false;
  if (frame.size() > static_cast<size_t>(INT32_MAX) ||
      !message_.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame of ", frame.size(), " bytes is not a mled.v1.ClientMessage"));
  }
  kind_ = message_.kind_case();
  return absl::OkStatus();
}

absl::Status DecodeIngestDatagram(std::string_view datagram, mled::v1::Ingest* ingest) {
  if (datagram.size() > static_cast<size_t>(INT32_MAX) ||
      !ingest->ParseFromArray(datagram.data(), static_cast<int>(datagram.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("datagram of ", datagram.size(), " bytes is not a mled.v1.Ingest"));
  }
  return absl::OkStatus();
}

}  // namespace mled::wire
