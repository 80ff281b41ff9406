// Arbitrary bytes must never crash the decoder, the protobuf parser or the validators: each
// either decodes or fails cleanly. Deterministic (fixed seeds), so a failure reproduces; run it
// under ASan/UBSan to make "never crash" mean "no memory error" too.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "lib/wire/framing.h"
#include "lib/wire/validation.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {
namespace {

// Parses `bytes` as a ClientMessage and, when that succeeds, validates whatever it ingests, the
// way the daemon would. Returns whether it parsed.
bool ParseAndValidate(std::string_view bytes, mled::v1::ClientMessage* message) {
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  const IngestLimits limits;
  for (const mled::v1::Sample& sample : message->ingest().samples()) {
    (void)ValidateSample(sample, limits);
  }
  for (const mled::v1::StreamBatch& batch : message->ingest().batches()) {
    if (ValidateBatchShape(batch, limits).ok()) (void)ValidateValues(batch.values(), limits);
  }
  return true;
}

// Decodes `bytes` in random chunks, parsing every frame; stops at a sticky failure.
void Decode(std::string_view bytes, std::mt19937_64& rng, mled::v1::ClientMessage* message) {
  FrameDecoder decoder(/*max_frame_bytes=*/4096);
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t n =
        std::min(std::uniform_int_distribution<size_t>(1, 64)(rng), bytes.size() - offset);
    decoder.Append(bytes.substr(offset, n));
    offset += n;
    while (true) {
      FrameDecoder::Next next = decoder.NextFrame();
      if (next.status == FrameDecoder::Status::kFrame) {
        ASSERT_LE(next.frame.size(), decoder.max_frame_bytes());
        ParseAndValidate(next.frame, message);
        continue;
      }
      if (next.status != FrameDecoder::Status::kNeedMore) return;
      break;
    }
    ASSERT_LE(decoder.capacity(), 64u << 10);
  }
}

class GarbageTest : public ::testing::Test {
 protected:
  // Proto3 string fields holding invalid UTF-8 make the parser log an error; thousands of them
  // would drown the test output.
  void SetUp() override { old_handler_ = google::protobuf::SetLogHandler(nullptr); }
  void TearDown() override { google::protobuf::SetLogHandler(old_handler_); }

 private:
  google::protobuf::LogHandler* old_handler_ = nullptr;
};

TEST_F(GarbageTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(20240601);
  mled::v1::ClientMessage message;  // reused, as in the daemon
  for (int trial = 0; trial < 50000; ++trial) {
    std::string bytes(std::uniform_int_distribution<size_t>(0, 300)(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ParseAndValidate(bytes, &message);
    Decode(bytes, rng, &message);
  }
}

TEST_F(GarbageTest, MutatedValidFramesNeverCrash) {
  // Random bytes rarely get past the first tag; flipping bytes of valid messages reaches deeper
  // into the parser and the validators.
  std::mt19937_64 rng(7);
  mled::v1::ClientMessage valid;
  mled::v1::Ingest* ingest = valid.mutable_ingest();
  ingest->set_seq(42);
  for (int i = 0; i < 5; ++i) {
    mled::v1::Sample* sample = ingest->add_samples();
    sample->set_stream("stream/" + std::to_string(i) + "/温度");
    sample->add_x(i * 1.5);
    sample->add_x(-i * 2.5);
    sample->set_time_unix_nano(1700000000000000000 + i);
  }
  mled::v1::StreamBatch* batch = ingest->add_batches();
  batch->set_stream("batch");
  batch->set_dim(2);
  for (int i = 0; i < 8; ++i) batch->add_values(i);
  for (int i = 0; i < 4; ++i) batch->add_time_unix_nano(i);
  std::string framed;
  for (int i = 0; i < 3; ++i) AppendFrame(valid, &framed);

  mled::v1::ClientMessage message;
  int parsed = 0;
  for (int trial = 0; trial < 50000; ++trial) {
    std::string bytes = framed;
    const int flips = std::uniform_int_distribution<int>(1, 8)(rng);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    Decode(bytes, rng, &message);
    // The payload of the first frame on its own, without framing.
    const size_t header = 1 + (framed[0] & 0x80 ? 1 : 0);
    parsed +=
        ParseAndValidate(std::string_view(bytes).substr(std::min(header, bytes.size())), &message);
  }
  EXPECT_GT(parsed, 0);  // the mutations did exercise the validators
}

}  // namespace
}  // namespace mled::wire
