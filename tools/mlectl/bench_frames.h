// The messages `mlectl bench` sends, encoded before the clock starts.
//
// A load generator must not be the bottleneck, so nothing is serialized while timing: the
// bodies of the messages (every field of an Ingest but its seq) are protobuf-encoded once, and
// each message is a few bytes of header (frame length, ClientMessage.ingest tag and length,
// Ingest.seq) written per send, followed by one or two prebuilt pieces, sent as one gathered
// write. The concatenation parses as an ordinary ClientMessage (or, for UDP, Ingest), because a
// message's fields may come in any order and a length-delimited field may be split in pieces.
//
// Two shapes, over streams named "bench/0000" ... in round-robin:
//   kSamples: each message carries `batch` Samples of consecutive streams;
//   kBatches: each message carries one StreamBatch of `batch` rows for one stream.
// Values are Gaussian noise around a per-stream mean, drawn once; a few variants of every body
// are cycled, so each stream sees varied values and its model is not degenerate.
//
//   BenchFrames frames(shape);                  // slow: encodes everything
//   std::string header;
//   std::vector<absl::string_view> pieces;
//   frames.Encode(i, seq, BenchFrames::Transport::kTcp, &header, &pieces);  // fast
//   client->SendBytes(pieces, deadline);
//
// Immutable after construction: thread-safe to share between the bench's threads.
#ifndef MLED_TOOLS_MLECTL_BENCH_FRAMES_H_
#define MLED_TOOLS_MLECTL_BENCH_FRAMES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mled::mlectl {

struct BenchShape {
  enum class Mode { kSamples, kBatches };
  Mode mode = Mode::kSamples;
  uint64_t streams = 10000;  // at least 1
  uint32_t dim = 1;          // at least 1
  uint32_t batch = 1000;     // samples (rows) per message, at least 1
  uint64_t seed = 1;         // for the values
};

class BenchFrames {
 public:
  enum class Transport {
    kTcp,  // a frame holding a ClientMessage{ingest}
    kUdp,  // a bare Ingest: one datagram
  };

  explicit BenchFrames(const BenchShape& shape);

  BenchFrames(const BenchFrames&) = delete;
  BenchFrames& operator=(const BenchFrames&) = delete;

  // Messages before the pattern of streams and values repeats; `Encode(i + cycle())` sends the
  // same samples as `Encode(i)`.
  uint64_t cycle() const { return cycle_; }
  const BenchShape& shape() const { return shape_; }

  // Replaces the contents of `header` and `pieces` with message `index` (any number; taken
  // modulo cycle()) carrying `seq` (non-zero for an Ack). `pieces` points into `header` and
  // into this object; send their concatenation.
  void Encode(uint64_t index, uint64_t seq, Transport transport, std::string* header,
              std::vector<absl::string_view>* pieces) const;

  // The largest message Encode produces for `transport`, in bytes.
  size_t MaxMessageBytes(Transport transport) const;

  // The name of stream `i`.
  std::string StreamName(uint64_t i) const;

 private:
  BenchShape shape_;
  uint64_t cycle_ = 0;
  // kSamples: encoded `repeated Sample` fields; message i sends bodies_[i % size].
  std::vector<std::string> bodies_;
  // kBatches: per stream, the Ingest.batches tag and length, then StreamBatch{stream, dim};
  // message i sends prefixes_[i % streams] followed by one of values_.
  std::vector<std::string> prefixes_;
  std::vector<std::string> values_;  // encoded StreamBatch{values} of `batch` rows
};

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_BENCH_FRAMES_H_
