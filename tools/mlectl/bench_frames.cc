#include "tools/mlectl/bench_frames.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "lib/wire/framing.h"
#include "mled/v1/wire.pb.h"

namespace mled::mlectl {
namespace {

using google::protobuf::internal::WireFormatLite;

// Value variants of every body; each stream cycles through at least two.
constexpr uint64_t kVariants = 8;

void AppendTag(int field, WireFormatLite::WireType type, std::string* out) {
  wire::AppendVarint(WireFormatLite::MakeTag(field, type), out);
}

size_t VarintSize(uint64_t value) {
  return google::protobuf::io::CodedOutputStream::VarintSize64(value);
}

}  // namespace

BenchFrames::BenchFrames(const BenchShape& shape) : shape_(shape) {
  shape_.streams = std::max<uint64_t>(shape_.streams, 1);
  shape_.dim = std::max<uint32_t>(shape_.dim, 1);
  shape_.batch = std::max<uint32_t>(shape_.batch, 1);
  std::mt19937_64 random(shape_.seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  // A different mean for each stream and coordinate, so estimates are easy to tell apart.
  const auto mean = [](uint64_t stream, uint32_t d) {
    return static_cast<double>((stream * 7 + d * 3) % 100);
  };

  if (shape_.mode == BenchShape::Mode::kSamples) {
    // Message b carries the streams of group b % groups, with values of variant b / groups.
    const uint64_t groups = (shape_.streams + shape_.batch - 1) / shape_.batch;
    const uint64_t variants = std::max<uint64_t>(2, (kVariants + groups - 1) / groups);
    cycle_ = groups * variants;
    bodies_.reserve(cycle_);
    mled::v1::Ingest ingest;
    for (uint64_t b = 0; b < cycle_; ++b) {
      ingest.Clear();
      const uint64_t first = (b % groups) * shape_.batch;
      for (uint32_t i = 0; i < shape_.batch; ++i) {
        const uint64_t stream = (first + i) % shape_.streams;
        mled::v1::Sample& sample = *ingest.add_samples();
        sample.set_stream(StreamName(stream));
        for (uint32_t d = 0; d < shape_.dim; ++d) sample.add_x(mean(stream, d) + noise(random));
      }
      bodies_.push_back(ingest.SerializeAsString());
    }
    return;
  }

  // kBatches: message i is stream i % streams with values variant (i / streams) % kVariants.
  cycle_ = shape_.streams * kVariants;
  mled::v1::StreamBatch batch;
  for (uint64_t v = 0; v < kVariants; ++v) {
    batch.Clear();
    for (uint32_t row = 0; row < shape_.batch; ++row) {
      for (uint32_t d = 0; d < shape_.dim; ++d) batch.add_values(mean(v, d) + noise(random));
    }
    values_.push_back(batch.SerializeAsString());  // all the same length: packed doubles
  }
  prefixes_.reserve(shape_.streams);
  for (uint64_t stream = 0; stream < shape_.streams; ++stream) {
    batch.Clear();
    batch.set_stream(StreamName(stream));
    batch.set_dim(shape_.dim);
    const std::string head = batch.SerializeAsString();
    std::string prefix;
    AppendTag(mled::v1::Ingest::kBatchesFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED,
              &prefix);
    wire::AppendVarint(head.size() + values_[0].size(), &prefix);
    prefix += head;
    prefixes_.push_back(std::move(prefix));
  }
}

void BenchFrames::Encode(uint64_t index, uint64_t seq, Transport transport, std::string* header,
                         std::vector<absl::string_view>* pieces) const {
  index %= cycle_;
  absl::string_view first;
  absl::string_view second;
  if (shape_.mode == BenchShape::Mode::kSamples) {
    first = bodies_[index];
  } else {
    first = prefixes_[index % shape_.streams];
    second = values_[index / shape_.streams];
  }
  const size_t ingest_bytes = 1 + VarintSize(seq) + first.size() + second.size();
  header->clear();
  if (transport == Transport::kTcp) {
    wire::AppendVarint(1 + VarintSize(ingest_bytes) + ingest_bytes, header);
    AppendTag(mled::v1::ClientMessage::kIngestFieldNumber,
              WireFormatLite::WIRETYPE_LENGTH_DELIMITED, header);
    wire::AppendVarint(ingest_bytes, header);
  }
  AppendTag(mled::v1::Ingest::kSeqFieldNumber, WireFormatLite::WIRETYPE_VARINT, header);
  wire::AppendVarint(seq, header);
  pieces->assign({*header, first});
  if (!second.empty()) pieces->push_back(second);
}

size_t BenchFrames::MaxMessageBytes(Transport transport) const {
  size_t body = 0;
  for (const std::string& b : bodies_) body = std::max(body, b.size());
  for (const std::string& p : prefixes_) body = std::max(body, p.size() + values_[0].size());
  // Header: seq tag and varint; with TCP also the frame length, ClientMessage tag and length.
  const size_t header = 1 + wire::kMaxVarintBytes +
                        (transport == Transport::kTcp ? 1 + 2 * wire::kMaxVarintBytes : 0);
  return header + body;
}

std::string BenchFrames::StreamName(uint64_t i) const {
  int digits = 1;
  for (uint64_t n = shape_.streams - 1; n >= 10; n /= 10) ++digits;
  return absl::StrFormat("bench/%0*d", digits, i);
}

}  // namespace mled::mlectl
