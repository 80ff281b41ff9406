// Applies one decoded `mled.v1.Ingest` to the stream table and writes its `Ack`.
//
// The ingest hot path: validate each Sample and each StreamBatch row (lib/wire/validation.h),
// group the valid rows by shard, apply each shard's rows under one lock, then count. Scratch
// buffers are reused across calls, so a warmed-up applier allocates nothing per sample.
//
// Rejections follow the wire contract: accepted and rejected count rows exactly; each rejected
// Sample or StreamBatch gets one `Rejection` (capped at max_rejections_per_ack); a malformed
// StreamBatch is rejected whole, a batch with some invalid rows has only those rejected, and the
// valid rest of the message is applied.
//
// Not thread-safe: one applier per connection or thread; the table it writes to is shared.
#ifndef MLED_LIB_ENGINE_INGEST_APPLIER_H_
#define MLED_LIB_ENGINE_INGEST_APPLIER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/wire.pb.h"

namespace mled::engine {

// Rows accepted and rejected by one Apply, with rejected rows split by wire code.
struct IngestCounts {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  // Accepted rows flagged as anomalies.
  uint64_t anomalies = 0;
  std::array<uint64_t, mled::v1::Code_ARRAYSIZE> rejected_by_code{};
};

class IngestApplier {
 public:
  explicit IngestApplier(StreamTable* table);

  IngestApplier(const IngestApplier&) = delete;
  IngestApplier& operator=(const IngestApplier&) = delete;

  // Applies `ingest`; samples with time 0 get `receipt_time_unix_nano`. Fills `ack` (cleared
  // first; seq copied; with `ingest.return_scores`, one RowScore per accepted row in message
  // order) and returns the counts.
  IngestCounts Apply(const mled::v1::Ingest& ingest, int64_t receipt_time_unix_nano,
                     mled::v1::Ack* ack);

  // The Anomaly events of the last Apply, to publish; the caller may move them out.
  std::vector<mled::v1::Anomaly>& anomalies() { return anomalies_; }

 private:
  // The outcome of one Sample or StreamBatch.
  struct EntryResult {
    uint64_t accepted = 0;
    uint64_t rejected = 0;
    // The first rejection's status, and the row it concerned (batches with bad rows).
    absl::Status first_error;
    int64_t first_bad_row = -1;
  };

  void AddGroup(uint32_t entry, absl::string_view stream, uint32_t dim,
                absl::Span<const double> values, stats::RowTimes times, int64_t latest_time,
                uint32_t first_row);
  void RejectRows(uint32_t entry, uint64_t rows, absl::Status status, int64_t row);
  void PlanBatch(uint32_t entry, const mled::v1::StreamBatch& batch, int64_t receipt_time);
  void ApplyGroups();
  void WriteAck(const mled::v1::Ingest& ingest, IngestCounts* counts, mled::v1::Ack* ack);
  void WriteScores(uint32_t sample_count, mled::v1::Ack* ack);

  StreamTable* table_;
  std::vector<RowGroup> groups_;
  std::vector<uint32_t> group_entry_;  // entry index of each group
  std::vector<RowGroup> sorted_;
  std::vector<uint32_t> sorted_entry_;
  std::vector<uint32_t> shard_offsets_;
  std::vector<EntryResult> results_;  // samples first, then batches
  std::vector<mled::v1::Anomaly> anomalies_;
  std::vector<mled::v1::RowScore> scores_;
  uint64_t anomaly_count_ = 0;
  bool scores_wanted_ = false;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_INGEST_APPLIER_H_
