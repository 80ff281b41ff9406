#include "lib/engine/stream_table.h"

#include <algorithm>
#include <bit>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace mled::engine {

StreamTable::StreamTable(const EngineLimits& limits, uint32_t shard_count) : limits_(limits) {
  const uint32_t count = std::bit_ceil(std::max<uint32_t>(shard_count, 1));
  shard_shift_ = 64 - static_cast<uint32_t>(std::countr_zero(count));
  shards_.reserve(count);
  for (uint32_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

StreamTable::~StreamTable() = default;

uint32_t StreamTable::ShardOf(absl::string_view stream) const {
  if (shards_.size() == 1) return 0;
  // Multiplying spreads the hash's entropy into the high bits, so the shard index does not
  // correlate with the bits each shard's own hash map uses.
  const uint64_t mixed = absl::HashOf(stream) * 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>(mixed >> shard_shift_);
}

bool StreamTable::ReserveStream() {
  uint64_t current = stream_count_.load(std::memory_order_relaxed);
  do {
    if (current >= limits_.max_streams) return false;
  } while (!stream_count_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return true;
}

void StreamTable::ApplyToShard(uint32_t shard_index, absl::Span<RowGroup> groups) {
  Shard& shard = *shards_[shard_index];
  std::lock_guard<std::mutex> lock(shard.mu);
  for (RowGroup& group : groups) {
    auto it = shard.streams.find(group.stream);
    if (it == shard.streams.end()) {
      if (!ReserveStream()) {
        group.status = absl::ResourceExhaustedError(absl::StrCat(
            "stream table is full (", limits_.max_streams,
            " streams, max_streams); existing streams still accept samples; raise --max_streams "
            "to add more"));
        continue;
      }
      it = shard.streams.emplace(std::string(group.stream), Stream{}).first;
      it->second.accumulator = stats::NewGaussianAccumulator(static_cast<int>(group.dim));
    }
    Stream& stream = it->second;
    if (static_cast<uint32_t>(stream.accumulator->dim()) != group.dim) {
      group.status = absl::FailedPreconditionError(
          absl::StrCat("stream has dimension ", stream.accumulator->dim(), " (fixed by its first "
                       "sample) but got ", group.dim, " values per sample; send ",
                       stream.accumulator->dim(), " values or use another stream name"));
      continue;
    }
    stream.accumulator->AddRows(group.values);
    stream.last_time_unix_nano = std::max(stream.last_time_unix_nano, group.latest_time_unix_nano);
    if (stream.listed_epoch != shard.epoch) {
      stream.listed_epoch = shard.epoch;
      shard.changed.push_back(it->first);
    }
    group.status = absl::OkStatus();
  }
}

absl::Status StreamTable::Apply(absl::string_view stream, uint32_t dim,
                                absl::Span<const double> values, int64_t latest_time_unix_nano) {
  RowGroup group{.stream = stream,
                 .dim = dim,
                 .values = values,
                 .latest_time_unix_nano = latest_time_unix_nano,
                 .shard = ShardOf(stream),
                 .status = absl::OkStatus()};
  ApplyToShard(group.shard, absl::MakeSpan(&group, 1));
  return group.status;
}

void StreamTable::FillEstimate(absl::string_view name, const Stream& stream,
                               mled::v1::Estimate* out) {
  stats::Summary summary;
  stream.accumulator->Summarize(&summary);
  out->Clear();
  out->set_stream(std::string(name));
  out->set_count(summary.count);
  out->set_dim(static_cast<uint32_t>(summary.dim));
  out->mutable_mean()->Add(summary.mean.begin(), summary.mean.end());
  out->mutable_covariance()->Add(summary.covariance.begin(), summary.covariance.end());
  if (summary.nll.has_value() && summary.count > 0) {
    out->set_nll(*summary.nll);
    out->set_mean_nll(*summary.nll / static_cast<double>(summary.count));
  }
  out->set_last_time_unix_nano(stream.last_time_unix_nano);
}

void StreamTable::Query(const StreamMatcher& matcher, size_t limit,
                        google::protobuf::RepeatedPtrField<mled::v1::Estimate>* out) const {
  std::vector<std::string> names;
  if (matcher.exact_only()) {
    names.assign(matcher.exact_names().begin(), matcher.exact_names().end());
  } else {
    for (const auto& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard->mu);
      for (const auto& [name, stream] : shard->streams) {
        if (matcher.Matches(name)) names.push_back(name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  mled::v1::Estimate estimate;
  for (const std::string& name : names) {
    if (static_cast<size_t>(out->size()) >= limit) break;
    if (GetEstimate(name, &estimate)) out->Add()->Swap(&estimate);
  }
}

bool StreamTable::GetEstimate(absl::string_view stream, mled::v1::Estimate* out) const {
  const Shard& shard = *shards_[ShardOf(stream)];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.streams.find(stream);
  if (it == shard.streams.end()) return false;
  FillEstimate(it->first, it->second, out);
  return true;
}

void StreamTable::TakeChanged(std::vector<std::string>* out) {
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    for (std::string& name : shard->changed) out->push_back(std::move(name));
    shard->changed.clear();
    ++shard->epoch;
  }
}

std::unique_ptr<stats::Accumulator> StreamTable::CloneAccumulator(absl::string_view stream) const {
  const Shard& shard = *shards_[ShardOf(stream)];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.streams.find(stream);
  if (it == shard.streams.end()) return nullptr;
  return it->second.accumulator->Clone();
}

}  // namespace mled::engine
