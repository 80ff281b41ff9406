// The stream table: stream name -> accumulator, sharded so that I/O threads do not contend.
//
// Each shard is a mutex, a flat hash map and the list of streams changed since the publisher last
// took it. A stream's dimension is fixed by its first sample; the number of streams is capped by
// `EngineLimits::max_streams`. Callers group rows by shard (ShardOf) and apply each group under
// one lock acquisition (ApplyToShard), so a batch of samples costs one lock per shard it touches.
//
// Thread-safe: every public method may be called from any thread. The locks are std::mutex, not
// absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, which then cannot see
// absl::Mutex and reports every guarded access as a race.
#ifndef MLED_LIB_ENGINE_STREAM_TABLE_H_
#define MLED_LIB_ENGINE_STREAM_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include <mutex>
#include "absl/types/span.h"
#include "lib/engine/engine_limits.h"
#include "lib/engine/stream_matcher.h"
#include "lib/stats/accumulator.h"
#include "mled/v1/wire.pb.h"

namespace mled::engine {

// Rows of one stream to apply: `values` holds rows·dim valid values, row after row.
struct RowGroup {
  absl::string_view stream;
  uint32_t dim = 1;
  absl::Span<const double> values;
  // The latest sample time among the rows (receipt time already substituted for 0).
  int64_t latest_time_unix_nano = 0;
  uint32_t shard = 0;
  // Set by ApplyToShard: OK, FAILED_PRECONDITION (dimension mismatch) or RESOURCE_EXHAUSTED
  // (table full).
  absl::Status status;
};

class StreamTable {
 public:
  // `shard_count` is rounded up to a power of two (at least 1).
  StreamTable(const EngineLimits& limits, uint32_t shard_count);
  ~StreamTable();

  StreamTable(const StreamTable&) = delete;
  StreamTable& operator=(const StreamTable&) = delete;

  const EngineLimits& limits() const { return limits_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  uint32_t ShardOf(absl::string_view stream) const;

  // Applies every group (all of whose `shard` equal `shard`) under one lock; sets each
  // group's status. New streams are created with the group's dimension.
  void ApplyToShard(uint32_t shard, absl::Span<RowGroup> groups);

  // Convenience for one group (computes the shard). Returns the group's status.
  absl::Status Apply(absl::string_view stream, uint32_t dim, absl::Span<const double> values,
                     int64_t latest_time_unix_nano);

  // Estimates of the matching streams, sorted by name, at most `limit` of them.
  void Query(const StreamMatcher& matcher, size_t limit,
             google::protobuf::RepeatedPtrField<mled::v1::Estimate>* out) const;

  // Estimate of one stream; false when it does not exist.
  bool GetEstimate(absl::string_view stream, mled::v1::Estimate* out) const;

  // Moves the names of the streams changed since the previous call into `out` (appending).
  // Each changed stream appears once per call. For the publisher.
  void TakeChanged(std::vector<std::string>* out);

  // Copies of the accumulator state of one stream (for tests and checkpoints); nullptr if none.
  std::unique_ptr<stats::Accumulator> CloneAccumulator(absl::string_view stream) const;

  uint64_t stream_count() const { return stream_count_.load(std::memory_order_relaxed); }

 private:
  struct Stream {
    std::unique_ptr<stats::Accumulator> accumulator;
    int64_t last_time_unix_nano = 0;
    // The shard's change epoch in which this stream was last listed as changed.
    uint64_t listed_epoch = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, Stream> streams ABSL_GUARDED_BY(mu);
    std::vector<std::string> changed ABSL_GUARDED_BY(mu);
    uint64_t epoch ABSL_GUARDED_BY(mu) = 1;
  };

  // Fills `out` from one stream; the caller holds the shard's lock.
  static void FillEstimate(absl::string_view name, const Stream& stream, mled::v1::Estimate* out);
  // Reserves one slot of max_streams; false when the table is full.
  bool ReserveStream();

  const EngineLimits limits_;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint32_t shard_shift_;
  std::atomic<uint64_t> stream_count_{0};
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STREAM_TABLE_H_
