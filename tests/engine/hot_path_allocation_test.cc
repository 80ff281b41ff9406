// The ingest hot path allocates nothing per sample: once a connection's decoder and applier are
// warmed up, decoding a frame of 1,000 Samples (or a StreamBatch) into the reused message and
// applying it to existing streams performs no heap allocation at all.
//
// This binary replaces the global operator new with a counting one, so it is its own test.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/engine/ingest_applier.h"
#include "lib/wire/decoding.h"

namespace {
std::atomic<uint64_t> allocations{0};
}  // namespace

void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace mled::engine {
namespace {

std::string SampleFrame(int samples, int streams, int round) {
  mled::v1::ClientMessage message;
  mled::v1::Ingest* ingest = message.mutable_ingest();
  ingest->set_seq(static_cast<uint64_t>(round) + 1);
  for (int i = 0; i < samples; ++i) {
    mled::v1::Sample* sample = ingest->add_samples();
    // Names longer than the small-string buffer, so a non-reused string would allocate.
    sample->set_stream(absl::StrCat("plant/line-", i % streams, "/temperature"));
    sample->add_x(20.0 + 0.001 * (i + round));
  }
  return message.SerializeAsString();
}

std::string BatchFrame(int rows, int round) {
  mled::v1::ClientMessage message;
  mled::v1::StreamBatch* batch = message.mutable_ingest()->add_batches();
  batch->set_stream("batched/stream/with/a/long/name");
  for (int i = 0; i < rows; ++i) batch->add_values(1.0 + (i + round) % 13);
  return message.SerializeAsString();
}

TEST(HotPathAllocationTest, DecodeAndApplySampleBatchesWithoutAllocating) {
  StreamTable table(EngineLimits(), 16);
  IngestApplier applier(&table);
  wire::ClientMessageDecoder decoder;
  mled::v1::Ack ack;
  std::vector<std::string> frames;
  for (int round = 0; round < 4; ++round) frames.push_back(SampleFrame(1000, 500, round));

  // Warm-up: creates the streams and sizes every reused buffer. Each stream gets 2 samples per
  // frame, so 16 passes take every stream past the scoring warm-up (30 samples), and the
  // measured samples below are all scored.
  const uint64_t at_start = allocations.load();
  for (int pass = 0; pass < 4; ++pass) {
    for (const std::string& frame : frames) {
      ASSERT_TRUE(decoder.Parse(frame));
      applier.Apply(decoder.message().ingest(), 1, &ack);
    }
  }
  mled::v1::Estimate estimate;
  ASSERT_TRUE(table.GetEstimate("plant/line-7/temperature", &estimate));
  ASSERT_TRUE(estimate.has_last_score()) << "the measured samples must be scored";
  const uint64_t before = allocations.load();
  ASSERT_GT(before - at_start, 500u) << "the counting operator new is not in use";
  uint64_t anomalies = 0;
  for (int repeat = 0; repeat < 5; ++repeat) {
    for (const std::string& frame : frames) {
      ASSERT_TRUE(decoder.Parse(frame));
      anomalies += applier.Apply(decoder.message().ingest(), 1, &ack).anomalies;
      ASSERT_EQ(ack.accepted(), 1000u);
    }
  }
  // An anomaly event is built as a message (rare by design); this data has none.
  ASSERT_EQ(anomalies, 0u);
  EXPECT_EQ(allocations.load() - before, 0u) << "allocations for 20,000 samples";
}

TEST(HotPathAllocationTest, DecodeAndApplyStreamBatchesWithoutAllocating) {
  StreamTable table(EngineLimits(), 16);
  IngestApplier applier(&table);
  wire::ClientMessageDecoder decoder;
  mled::v1::Ack ack;
  const std::string first = BatchFrame(10000, 0);
  const std::string second = BatchFrame(10000, 1);
  for (const std::string* frame : {&first, &second}) {
    ASSERT_TRUE(decoder.Parse(*frame));
    applier.Apply(decoder.message().ingest(), 1, &ack);
  }
  const uint64_t before = allocations.load();
  for (int repeat = 0; repeat < 10; ++repeat) {
    ASSERT_TRUE(decoder.Parse(repeat % 2 ? first : second));
    applier.Apply(decoder.message().ingest(), 1, &ack);
    ASSERT_EQ(ack.accepted(), 10000u);
  }
  EXPECT_EQ(allocations.load() - before, 0u) << "allocations for 100,000 values";
}

}  // namespace
}  // namespace mled::engine
