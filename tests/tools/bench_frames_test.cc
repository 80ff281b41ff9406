#include "tools/mlectl/bench_frames.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "lib/wire/framing.h"
#include "mled/v1/wire.pb.h"

namespace mled::mlectl {
namespace {

std::string Encoded(const BenchFrames& frames, uint64_t index, uint64_t seq,
                    BenchFrames::Transport transport) {
  std::string header;
  std::vector<absl::string_view> pieces;
  frames.Encode(index, seq, transport, &header, &pieces);
  return absl::StrJoin(pieces, "");
}

// Decodes one TCP message: exactly one frame holding a ClientMessage with an Ingest.
mled::v1::Ingest DecodeTcp(const std::string& bytes) {
  wire::FrameDecoder decoder;
  decoder.Append(bytes);
  const wire::FrameDecoder::Next next = decoder.NextFrame();
  EXPECT_EQ(next.status, wire::FrameDecoder::Status::kFrame);
  mled::v1::ClientMessage message;
  EXPECT_TRUE(message.ParseFromArray(next.frame.data(), static_cast<int>(next.frame.size())));
  EXPECT_EQ(decoder.buffered(), 0u);
  EXPECT_TRUE(message.has_ingest());
  return message.ingest();
}

TEST(BenchFramesTest, SampleModeCoversEveryStreamWithVariedValues) {
  BenchShape shape;
  shape.mode = BenchShape::Mode::kSamples;
  shape.streams = 25;
  shape.dim = 2;
  shape.batch = 10;
  const BenchFrames frames(shape);
  ASSERT_GT(frames.cycle(), 0u);

  std::map<std::string, std::set<double>> values;  // first coordinate seen per stream
  for (uint64_t i = 0; i < frames.cycle(); ++i) {
    const uint64_t seq = 1000 + i;
    const mled::v1::Ingest ingest =
        DecodeTcp(Encoded(frames, i, seq, BenchFrames::Transport::kTcp));
    EXPECT_EQ(ingest.seq(), seq);
    ASSERT_EQ(ingest.samples_size(), 10);
    EXPECT_EQ(ingest.batches_size(), 0);
    for (const mled::v1::Sample& sample : ingest.samples()) {
      ASSERT_EQ(sample.x_size(), 2);
      values[sample.stream()].insert(sample.x(0));
    }
  }
  ASSERT_EQ(values.size(), 25u);
  EXPECT_EQ(values.begin()->first, "bench/00");
  EXPECT_EQ(values.rbegin()->first, "bench/24");
  for (const auto& [stream, seen] : values) EXPECT_GE(seen.size(), 2u) << stream;
}

TEST(BenchFramesTest, BatchModeSendsOneStreamBatchPerMessageRoundRobin) {
  BenchShape shape;
  shape.mode = BenchShape::Mode::kBatches;
  shape.streams = 3;
  shape.dim = 4;
  shape.batch = 50;
  const BenchFrames frames(shape);
  for (uint64_t i = 0; i < 7; ++i) {
    const mled::v1::Ingest ingest =
        DecodeTcp(Encoded(frames, i, i + 1, BenchFrames::Transport::kTcp));
    EXPECT_EQ(ingest.seq(), i + 1);
    EXPECT_EQ(ingest.samples_size(), 0);
    ASSERT_EQ(ingest.batches_size(), 1);
    const mled::v1::StreamBatch& batch = ingest.batches(0);
    EXPECT_EQ(batch.stream(), frames.StreamName(i % 3));
    EXPECT_EQ(batch.dim(), 4u);
    EXPECT_EQ(batch.values_size(), 200);
    EXPECT_EQ(batch.time_unix_nano_size(), 0);
  }
  // A later visit to the same stream carries other values.
  const mled::v1::Ingest first = DecodeTcp(Encoded(frames, 0, 1, BenchFrames::Transport::kTcp));
  const mled::v1::Ingest again = DecodeTcp(Encoded(frames, 3, 1, BenchFrames::Transport::kTcp));
  EXPECT_EQ(first.batches(0).stream(), again.batches(0).stream());
  EXPECT_NE(first.batches(0).values(0), again.batches(0).values(0));
}

TEST(BenchFramesTest, UdpMessagesAreBareIngests) {
  for (BenchShape::Mode mode : {BenchShape::Mode::kSamples, BenchShape::Mode::kBatches}) {
    BenchShape shape;
    shape.mode = mode;
    shape.streams = 5;
    shape.batch = 3;
    const BenchFrames frames(shape);
    const std::string bytes = Encoded(frames, 2, 77, BenchFrames::Transport::kUdp);
    mled::v1::Ingest ingest;
    ASSERT_TRUE(ingest.ParseFromString(bytes));
    EXPECT_EQ(ingest.seq(), 77u);
    EXPECT_EQ(
        ingest.samples_size() + (ingest.batches_size() > 0 ? ingest.batches(0).values_size() : 0),
        3);
    EXPECT_LE(bytes.size(), frames.MaxMessageBytes(BenchFrames::Transport::kUdp));
  }
}

TEST(BenchFramesTest, LargeSeqsAndIndicesWrap) {
  BenchShape shape;
  shape.streams = 10;
  shape.batch = 4;
  const BenchFrames frames(shape);
  const uint64_t seq = uint64_t{1} << 62;
  const std::string bytes = Encoded(frames, frames.cycle() + 1, seq, BenchFrames::Transport::kTcp);
  EXPECT_EQ(DecodeTcp(bytes).seq(), seq);
  EXPECT_EQ(bytes, Encoded(frames, 1, seq, BenchFrames::Transport::kTcp));
  EXPECT_LE(bytes.size(), frames.MaxMessageBytes(BenchFrames::Transport::kTcp));
}

}  // namespace
}  // namespace mled::mlectl
