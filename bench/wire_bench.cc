// Wire decoding kernels: protobuf parsing of ingest messages, frame splitting, validation.
// Results and how to run them: bench/README.md, "Wire decoding".
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/arena.h"
#include "lib/wire/decoding.h"
#include "lib/wire/framing.h"
#include "lib/wire/validation.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {
namespace {

constexpr int kBatchValues = 10000;
constexpr int kSamples = 1000;

mled::v1::ClientMessage StreamBatchMessage() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> value(20.0, 3.0);
  mled::v1::ClientMessage message;
  mled::v1::Ingest* ingest = message.mutable_ingest();
  ingest->set_seq(1);
  mled::v1::StreamBatch* batch = ingest->add_batches();
  batch->set_stream("sensors/host-0001/temperature");
  batch->set_dim(1);
  for (int i = 0; i < kBatchValues; ++i) batch->add_values(value(rng));
  return message;
}

// 1,000 univariate samples of distinct streams, each with a time, as a fleet of producers would
// send them through one relay.
mled::v1::ClientMessage SampleBatchMessage() {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> value(20.0, 3.0);
  mled::v1::ClientMessage message;
  mled::v1::Ingest* ingest = message.mutable_ingest();
  ingest->set_seq(1);
  for (int i = 0; i < kSamples; ++i) {
    mled::v1::Sample* sample = ingest->add_samples();
    sample->set_stream(absl::StrFormat("sensors/host-%04d/cpu", i));
    sample->add_x(value(rng));
    sample->set_time_unix_nano(1700000000000000000 + i);
  }
  return message;
}

void Parse(benchmark::State& state, const std::string& bytes, mled::v1::ClientMessage& message,
           int items) {
  for (auto _ : state) {
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(message);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * items);
}

// One StreamBatch of 10,000 values into a reused ClientMessage; items are values.
void BM_ParseStreamBatch(benchmark::State& state) {
  const std::string bytes = StreamBatchMessage().SerializeAsString();
  mled::v1::ClientMessage message;
  Parse(state, bytes, message, kBatchValues);
}
BENCHMARK(BM_ParseStreamBatch);

// 1,000 Samples into a reused ClientMessage; items are samples. Note that ParseFromArray clears
// the message first, and clearing a oneof deletes its sub-message: the Ingest and its 1,000
// Samples are allocated afresh on every parse despite the reuse.
void BM_ParseSampleBatch(benchmark::State& state) {
  const std::string bytes = SampleBatchMessage().SerializeAsString();
  mled::v1::ClientMessage message;
  Parse(state, bytes, message, kSamples);
}
BENCHMARK(BM_ParseSampleBatch);

// The same ClientMessage through ClientMessageDecoder (lib/wire/decoding.h), which keeps the
// previous Ingest's elements and merges into them.
void BM_ParseSampleBatchDecoder(benchmark::State& state) {
  const std::string bytes = SampleBatchMessage().SerializeAsString();
  ClientMessageDecoder decoder;
  for (auto _ : state) {
    if (!decoder.Parse(bytes)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(decoder.message());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ParseSampleBatchDecoder);

void BM_ParseStreamBatchDecoder(benchmark::State& state) {
  const std::string bytes = StreamBatchMessage().SerializeAsString();
  ClientMessageDecoder decoder;
  for (auto _ : state) {
    if (!decoder.Parse(bytes)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(decoder.message());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * kBatchValues);
}
BENCHMARK(BM_ParseStreamBatchDecoder);

// The same bytes parsed straight into a reused Ingest (its payload, without the ClientMessage
// wrapper): a cleared repeated message field keeps its elements, so this measures parsing with
// real reuse. (This is also the UDP path, where a datagram is one Ingest.)
void BM_ParseSampleBatchIntoIngest(benchmark::State& state) {
  const std::string bytes = SampleBatchMessage().ingest().SerializeAsString();
  mled::v1::Ingest ingest;
  for (auto _ : state) {
    if (!ingest.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(ingest);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ParseSampleBatchIntoIngest);

// The same ClientMessage parsed on an arena that is reset after each message and starts from a
// reused block, so that allocation is a pointer bump and nothing is freed one by one.
void BM_ParseSampleBatchOnArena(benchmark::State& state) {
  const std::string bytes = SampleBatchMessage().SerializeAsString();
  constexpr size_t kBlock = 1 << 20;
  auto block = std::make_unique<char[]>(kBlock);
  google::protobuf::ArenaOptions options;
  options.initial_block = block.get();
  options.initial_block_size = kBlock;
  google::protobuf::Arena arena(options);
  for (auto _ : state) {
    auto* message = google::protobuf::Arena::CreateMessage<mled::v1::ClientMessage>(&arena);
    if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(message);
    arena.Reset();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ParseSampleBatchOnArena);

// Splitting a 64 KiB-read stream of frames (each an Ingest of 10 Samples) with a long-lived
// decoder, as one connection would; the memcpy stands in for the socket read. Items are frames.
void BM_FrameDecoder(benchmark::State& state) {
  mled::v1::ClientMessage message = SampleBatchMessage();
  message.mutable_ingest()->mutable_samples()->DeleteSubrange(10, kSamples - 10);
  constexpr int kFrames = 2000;
  std::string stream;
  for (int i = 0; i < kFrames; ++i) AppendFrame(message, &stream);
  constexpr size_t kRead = 64 << 10;
  FrameDecoder decoder;
  for (auto _ : state) {
    int64_t frames = 0;
    for (size_t offset = 0; offset < stream.size(); offset += kRead) {
      const size_t n = std::min(kRead, stream.size() - offset);
      absl::Span<char> space = decoder.PrepareAppend(kRead);
      std::memcpy(space.data(), stream.data() + offset, n);
      decoder.CommitAppend(n);
      for (FrameDecoder::Next next = decoder.NextFrame();
           next.status == FrameDecoder::Status::kFrame; next = decoder.NextFrame()) {
        benchmark::DoNotOptimize(next.frame.data());
        ++frames;
      }
    }
    if (frames != kFrames) {
      state.SkipWithError("lost frames");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
  state.SetItemsProcessed(state.iterations() * kFrames);
}
BENCHMARK(BM_FrameDecoder);

// ValidateSample over the 1,000 Samples of a parsed Ingest; items are samples.
void BM_ValidateSampleBatch(benchmark::State& state) {
  const mled::v1::ClientMessage message = SampleBatchMessage();
  const IngestLimits limits;
  for (auto _ : state) {
    int ok = 0;
    for (const mled::v1::Sample& sample : message.ingest().samples()) {
      ok += ValidateSample(sample, limits).ok();
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ValidateSampleBatch);

// ValidateBatchShape plus ValidateValues over one 10,000-value StreamBatch; items are values.
void BM_ValidateStreamBatch(benchmark::State& state) {
  const mled::v1::ClientMessage message = StreamBatchMessage();
  const mled::v1::StreamBatch& batch = message.ingest().batches(0);
  const IngestLimits limits;
  for (auto _ : state) {
    bool ok = ValidateBatchShape(batch, limits).ok() && ValidateValues(batch.values(), limits).ok();
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations() * kBatchValues);
}
BENCHMARK(BM_ValidateStreamBatch);

}  // namespace
}  // namespace mled::wire

BENCHMARK_MAIN();
