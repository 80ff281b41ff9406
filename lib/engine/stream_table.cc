#include "lib/engine/stream_table.h"

#include <algorithm>
#include <bit>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace mled::engine {

StreamTable::StreamTable(const EngineLimits& limits, uint32_t shard_count,
                         std::shared_ptr<const StreamRules> rules)
    : limits_(limits) {
  if (rules == nullptr) rules = std::make_shared<const StreamRules>();
  const uint32_t count = std::bit_ceil(std::max<uint32_t>(shard_count, 1));
  shard_shift_ = 64 - static_cast<uint32_t>(std::countr_zero(count));
  shards_.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->rules = rules;
  }
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

Stream* StreamTable::CreateStream(Shard& shard, RowGroup& group) {
  const StreamRule& rule = shard.rules->Match(group.stream);
  if (rule.dim != 0 && rule.dim != group.dim) {
    group.status = absl::FailedPreconditionError(absl::StrCat(
        "stream rule \"", rule.name, "\" expects ", rule.dim, " values per sample but got ",
        group.dim, "; send ", rule.dim, " values or change the rule's dim"));
    return nullptr;
  }
  if (!ReserveStream()) {
    group.status = absl::ResourceExhaustedError(absl::StrCat(
        "stream table is full (", limits_.max_streams,
        " streams, max_streams); existing streams still accept samples; raise --max_streams "
        "to add more"));
    return nullptr;
  }
  return &shard.streams.try_emplace(std::string(group.stream), &rule, group.dim).first->second;
}

void StreamTable::ApplyToShard(uint32_t shard_index, absl::Span<RowGroup> groups,
                               ApplyOutputs* outputs) {
  Shard& shard = *shards_[shard_index];
  std::lock_guard<std::mutex> lock(shard.mu);
  ApplyContext& context = shard.context;
  context.anomalies = outputs != nullptr ? outputs->anomalies : nullptr;
  context.scores = outputs != nullptr ? outputs->scores : nullptr;
  context.anomaly_count = 0;
  for (RowGroup& group : groups) {
    auto it = shard.streams.find(group.stream);
    Stream* stream = it != shard.streams.end() ? &it->second : CreateStream(shard, group);
    if (stream == nullptr) continue;
    if (stream->dim() != group.dim) {
      group.status = absl::FailedPreconditionError(
          absl::StrCat("stream has dimension ", stream->dim(), " (fixed by its first "
                       "sample) but got ", group.dim, " values per sample; send ",
                       stream->dim(), " values or use another stream name"));
      continue;
    }
    if (it == shard.streams.end()) it = shard.streams.find(group.stream);
    stream->Apply(it->first, group, context);
    if (stream->listed_epoch != shard.epoch) {
      stream->listed_epoch = shard.epoch;
      shard.changed.push_back(it->first);
    }
    group.status = absl::OkStatus();
  }
  if (outputs != nullptr) outputs->anomaly_count += context.anomaly_count;
  context.anomalies = nullptr;
  context.scores = nullptr;
}

absl::Status StreamTable::Apply(absl::string_view stream, uint32_t dim,
                                absl::Span<const double> values, int64_t time_unix_nano,
                                ApplyOutputs* outputs) {
  RowGroup group{.stream = stream,
                 .dim = dim,
                 .values = values,
                 .times = stats::RowTimes{{}, time_unix_nano},
                 .latest_time_unix_nano = time_unix_nano,
                 .shard = ShardOf(stream),
                 .status = absl::OkStatus()};
  ApplyToShard(group.shard, absl::MakeSpan(&group, 1), outputs);
  return group.status;
}

uint64_t StreamTable::Reset(const StreamMatcher& matcher) {
  uint64_t removed = 0;
  if (matcher.exact_only()) {
    // Plain names: look each up in its own shard rather than scanning the table.
    for (const std::string& name : matcher.exact_names()) {
      Shard& shard = *shards_[ShardOf(name)];
      std::lock_guard<std::mutex> lock(shard.mu);
      removed += shard.streams.erase(name);
    }
  } else {
    for (const auto& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard->mu);
      removed += absl::erase_if(shard->streams,
                                [&](const auto& entry) { return matcher.Matches(entry.first); });
    }
  }
  stream_count_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

RulesReload StreamTable::ReplaceRules(std::shared_ptr<const StreamRules> rules) {
  RulesReload reload;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    uint64_t removed = 0;
    for (auto it = shard->streams.begin(); it != shard->streams.end();) {
      Stream& stream = it->second;
      const StreamRule& rule = rules->Match(it->first);
      if (rule.KeepsStateOf(stream.rule(), stream.dim())) {
        // A new rule name shows in the Estimate: publish it at the next tick.
        if (rule.name != stream.rule().name && stream.listed_epoch != shard->epoch) {
          stream.listed_epoch = shard->epoch;
          shard->changed.push_back(it->first);
        }
        stream.SetRule(&rule);
        ++reload.kept;
      } else if (rule.dim != 0 && rule.dim != stream.dim()) {
        shard->streams.erase(it++);
        ++removed;
        continue;
      } else {
        const bool listed = stream.listed_epoch == shard->epoch;
        stream = Stream(&rule, stream.dim());
        // Publish the emptied estimate at the next tick, so subscribers do not keep the old one.
        stream.listed_epoch = shard->epoch;
        if (!listed) shard->changed.push_back(it->first);
        ++reload.reset;
      }
      ++it;
    }
    shard->rules = rules;
    reload.removed += removed;
    stream_count_.fetch_sub(removed, std::memory_order_relaxed);
  }
  return reload;
}

std::shared_ptr<const StreamRules> StreamTable::rules() const {
  std::lock_guard<std::mutex> lock(shards_[0]->mu);
  return shards_[0]->rules;
}

size_t StreamTable::Query(const StreamMatcher& matcher, size_t limit,
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
  size_t matched = 0;
  for (const std::string& name : names) {
    if (static_cast<size_t>(out->size()) < limit) {
      if (!GetEstimate(name, &estimate)) continue;  // removed meanwhile, or an unknown exact name
      out->Add()->Swap(&estimate);
    } else if (matcher.exact_only() && !Contains(name)) {
      continue;
    }
    ++matched;
  }
  return matched;
}

bool StreamTable::Contains(absl::string_view stream) const {
  const Shard& shard = *shards_[ShardOf(stream)];
  std::lock_guard<std::mutex> lock(shard.mu);
  return shard.streams.contains(stream);
}

bool StreamTable::GetEstimate(absl::string_view stream, mled::v1::Estimate* out) const {
  const Shard& shard = *shards_[ShardOf(stream)];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.streams.find(stream);
  if (it == shard.streams.end()) return false;
  it->second.FillEstimate(it->first, out);
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
  return it->second.model().Clone();
}

}  // namespace mled::engine
