// The stream table: stream name -> Stream (model and anomaly state, stream.h), sharded so that
// I/O threads do not contend.
//
// Each shard is a mutex, a flat hash map and the list of streams changed since the publisher last
// took it. A new stream follows the first stream rule that matches its name (stream_rules.h);
// its dimension is fixed by its first sample (or by its rule); the number of streams is capped by
// `EngineLimits::max_streams`. Every applied row is scored against its stream's model before it
// updates it; anomalies come back through ApplyOutputs. Callers group rows by shard (ShardOf) and apply each group under
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
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include <mutex>
#include "absl/types/span.h"
#include "lib/engine/engine_limits.h"
#include "lib/engine/row_group.h"
#include "lib/engine/stream.h"
#include "lib/engine/stream_rules.h"
#include "lib/engine/stream_matcher.h"
#include "lib/stats/accumulator.h"
#include "mled/v1/wire.pb.h"

namespace mled::engine {

// Where ApplyToShard reports what scoring found. Pointers may be null (not wanted).
struct ApplyOutputs {
  // Anomaly events to publish, appended.
  std::vector<mled::v1::Anomaly>* anomalies = nullptr;
  // Per-row scores (RowScore.index is the group's score_tag), appended; null: not asked.
  std::vector<mled::v1::RowScore>* scores = nullptr;
  // Samples flagged as anomalies, added to.
  uint64_t anomaly_count = 0;
};

// What a rules reload did to the existing streams.
struct RulesReload {
  uint64_t kept = 0;     // same estimator and dimension: state kept
  uint64_t reset = 0;    // the estimator changed: state cleared
  uint64_t removed = 0;  // the new rule expects another dimension: stream dropped
};

class StreamTable {
 public:
  // `shard_count` is rounded up to a power of two (at least 1). Without `rules`, every stream
  // follows the default rule (cumulative, default anomaly policy).
  StreamTable(const EngineLimits& limits, uint32_t shard_count,
              std::shared_ptr<const StreamRules> rules = nullptr);
  ~StreamTable();

  StreamTable(const StreamTable&) = delete;
  StreamTable& operator=(const StreamTable&) = delete;

  const EngineLimits& limits() const { return limits_; }
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  uint32_t ShardOf(absl::string_view stream) const;

  // Scores and applies every group (all of whose `shard` equal `shard`) under one lock; sets
  // each group's status. New streams are created with the group's dimension, under the rule
  // that matches their name (FAILED_PRECONDITION if the rule expects another dimension).
  void ApplyToShard(uint32_t shard, absl::Span<RowGroup> groups, ApplyOutputs* outputs = nullptr);

  // Convenience for one group of rows that all have time `time_unix_nano` (computes the
  // shard). Returns the group's status.
  absl::Status Apply(absl::string_view stream, uint32_t dim, absl::Span<const double> values,
                     int64_t time_unix_nano, ApplyOutputs* outputs = nullptr);

  // Removes the matching streams (their state, counters and table slots); returns how many.
  // A removed stream starts afresh with its next sample.
  uint64_t Reset(const StreamMatcher& matcher);

  // Switches to `rules`. Each stream is matched again: one whose estimator and dimension
  // expectation are unchanged keeps its state (and takes the new anomaly policy); one whose
  // estimator changed starts empty; one whose new rule expects another dimension is removed.
  RulesReload ReplaceRules(std::shared_ptr<const StreamRules> rules);
  std::shared_ptr<const StreamRules> rules() const;

  // Estimates of the matching streams, sorted by name, at most `limit` of them. Returns how many
  // streams matched, those past the limit included (so a caller can say how many it left out).
  size_t Query(const StreamMatcher& matcher, size_t limit,
               google::protobuf::RepeatedPtrField<mled::v1::Estimate>* out) const;

  // Whether the stream exists.
  bool Contains(absl::string_view stream) const;
  // Estimate of one stream; false when it does not exist.
  bool GetEstimate(absl::string_view stream, mled::v1::Estimate* out) const;

  // Moves the names of the streams changed since the previous call into `out` (appending).
  // Each changed stream appears once per call. For the publisher.
  void TakeChanged(std::vector<std::string>* out);

  // Copies of the model of one stream (for tests and checkpoints); nullptr if none.
  std::unique_ptr<stats::Accumulator> CloneAccumulator(absl::string_view stream) const;

  uint64_t stream_count() const { return stream_count_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mu;
    // Node-based: a Stream (~100 bytes of model and anomaly state) lives in its own node, so
    // the table's slots stay one pointer each however sparse the table is after a rehash.
    absl::node_hash_map<std::string, Stream> streams ABSL_GUARDED_BY(mu);
    std::vector<std::string> changed ABSL_GUARDED_BY(mu);
    uint64_t epoch ABSL_GUARDED_BY(mu) = 1;
    // The rules its streams' rule pointers point into.
    std::shared_ptr<const StreamRules> rules ABSL_GUARDED_BY(mu);
    ApplyContext context ABSL_GUARDED_BY(mu);
  };

  // Creates `group`'s stream in `shard` (locked) or sets group.status; nullptr on failure.
  Stream* CreateStream(Shard& shard, RowGroup& group);
  // Reserves one slot of max_streams; false when the table is full.
  bool ReserveStream();

  const EngineLimits limits_;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint32_t shard_shift_;
  std::atomic<uint64_t> stream_count_{0};
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STREAM_TABLE_H_
