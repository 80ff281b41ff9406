#include "lib/engine/ingest_applier.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/wire/codes.h"
#include "lib/wire/validation.h"

namespace mled::engine {
namespace {

int64_t TimeOrReceipt(int64_t time, int64_t receipt_time) {
  return time == 0 ? receipt_time : time;
}

}  // namespace

IngestApplier::IngestApplier(StreamTable* table)
    : table_(table), shard_offsets_(table->shard_count() + 1) {}

void IngestApplier::AddGroup(uint32_t entry, absl::string_view stream, uint32_t dim,
                             absl::Span<const double> values, stats::RowTimes times,
                             int64_t latest_time, uint32_t first_row) {
  groups_.push_back(RowGroup{.stream = stream,
                             .dim = dim,
                             .values = values,
                             .times = times,
                             .latest_time_unix_nano = latest_time,
                             .shard = table_->ShardOf(stream),
                             .first_row = first_row,
                             .score_tag = 0,
                             .status = absl::OkStatus()});
  group_entry_.push_back(entry);
}

void IngestApplier::RejectRows(uint32_t entry, uint64_t rows, absl::Status status, int64_t row) {
  EntryResult& result = results_[entry];
  result.rejected += rows;
  if (result.first_error.ok()) {
    result.first_error = std::move(status);
    result.first_bad_row = row;
  }
}

void IngestApplier::PlanBatch(uint32_t entry, const mled::v1::StreamBatch& batch,
                              int64_t receipt_time) {
  const wire::IngestLimits& limits = table_->limits().ingest;
  const uint32_t dim = wire::BatchDim(batch);
  if (absl::Status shape = wire::ValidateBatchShape(batch, limits); !shape.ok()) {
    const uint64_t rows = (static_cast<uint64_t>(batch.values_size()) + dim - 1) / dim;
    RejectRows(entry, rows, std::move(shape), -1);
    return;
  }
  const absl::Span<const double> values(batch.values().data(), batch.values_size());
  const size_t rows = values.size() / dim;
  const stats::RowTimes times{
      absl::Span<const int64_t>(batch.time_unix_nano().data(), batch.time_unix_nano_size()),
      receipt_time};
  auto row_time = [&](size_t row) { return times[row]; };

  int64_t latest = receipt_time;
  if (!times.times.empty()) {
    latest = row_time(0);
    for (size_t row = 1; row < rows; ++row) latest = std::max(latest, row_time(row));
  }
  if (wire::ValidateValues(values, limits).ok() &&
      wire::ValidateSampleTime(latest, receipt_time, limits).ok()) {
    AddGroup(entry, batch.stream(), dim, values, times, latest, 0);
    return;
  }
  // Some rows are invalid: apply the valid runs between them.
  size_t run_start = 0;
  int64_t run_latest = 0;
  for (size_t row = 0; row <= rows; ++row) {
    absl::Status row_status;
    if (row < rows) {
      row_status = wire::ValidateValues(values.subspan(row * dim, dim), limits);
      if (row_status.ok()) row_status = wire::ValidateSampleTime(row_time(row), receipt_time, limits);
    }
    if (row < rows && row_status.ok()) {
      run_latest = row == run_start ? row_time(row) : std::max(run_latest, row_time(row));
      continue;
    }
    if (row > run_start) {
      AddGroup(entry, batch.stream(), dim,
               values.subspan(run_start * dim, (row - run_start) * dim),
               times.Rows(run_start, row - run_start), run_latest,
               static_cast<uint32_t>(run_start));
    }
    if (row < rows) RejectRows(entry, 1, std::move(row_status), static_cast<int64_t>(row));
    run_start = row + 1;
  }
}

void IngestApplier::ApplyGroups() {
  // Counting sort by shard, so each shard's lock is taken once per message.
  std::fill(shard_offsets_.begin(), shard_offsets_.end(), 0);
  for (const RowGroup& group : groups_) ++shard_offsets_[group.shard + 1];
  for (size_t i = 1; i < shard_offsets_.size(); ++i) shard_offsets_[i] += shard_offsets_[i - 1];
  sorted_.resize(groups_.size());
  sorted_entry_.resize(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) {
    const uint32_t slot = shard_offsets_[groups_[i].shard]++;
    sorted_[slot] = std::move(groups_[i]);
    sorted_[slot].score_tag = slot;
    sorted_entry_[slot] = group_entry_[i];
  }
  ApplyOutputs outputs{.anomalies = &anomalies_, .scores = scores_wanted_ ? &scores_ : nullptr};
  size_t begin = 0;
  while (begin < sorted_.size()) {
    size_t end = begin + 1;
    while (end < sorted_.size() && sorted_[end].shard == sorted_[begin].shard) ++end;
    table_->ApplyToShard(sorted_[begin].shard,
                         absl::MakeSpan(sorted_.data() + begin, end - begin), &outputs);
    begin = end;
  }
  anomaly_count_ = outputs.anomaly_count;
  for (size_t i = 0; i < sorted_.size(); ++i) {
    RowGroup& group = sorted_[i];
    const uint64_t rows = group.values.size() / group.dim;
    if (group.status.ok()) {
      results_[sorted_entry_[i]].accepted += rows;
    } else {
      RejectRows(sorted_entry_[i], rows, std::move(group.status), -1);
    }
  }
}

void IngestApplier::WriteAck(const mled::v1::Ingest& ingest, IngestCounts* counts,
                             mled::v1::Ack* ack) {
  const uint32_t max_listed = table_->limits().max_rejections_per_ack;
  const uint32_t sample_count = static_cast<uint32_t>(ingest.samples_size());
  for (uint32_t entry = 0; entry < results_.size(); ++entry) {
    EntryResult& result = results_[entry];
    counts->accepted += result.accepted;
    counts->rejected += result.rejected;
    if (result.first_error.ok()) continue;  // an empty batch rejects no rows but is reported
    const mled::v1::Code code = wire::CodeFromStatus(result.first_error);
    counts->rejected_by_code[code] += result.rejected;
    if (static_cast<uint32_t>(ack->rejections_size()) >= max_listed) continue;
    const bool is_batch = entry >= sample_count;
    const uint32_t index = is_batch ? entry - sample_count : entry;
    mled::v1::Rejection* rejection = ack->add_rejections();
    rejection->set_stream(is_batch ? ingest.batches(static_cast<int>(index)).stream()
                                   : ingest.samples(static_cast<int>(index)).stream());
    rejection->set_code(code);
    rejection->set_index(index);
    rejection->set_batch(is_batch);
    rejection->set_rows(result.rejected);
    absl::string_view cause = result.first_error.message();
    if (result.first_bad_row >= 0) {
      rejection->set_message(absl::StrCat(result.rejected, " rows rejected; first: row ",
                                          result.first_bad_row, ": ", cause));
    } else {
      rejection->set_message(std::string(cause));
    }
  }
  ack->set_accepted(counts->accepted);
  ack->set_rejected(counts->rejected);
  counts->anomalies = anomaly_count_;
}

void IngestApplier::WriteScores(uint32_t sample_count, mled::v1::Ack* ack) {
  // RowScore.index holds the group's score_tag, its position in sorted_: map it to the entry.
  for (mled::v1::RowScore& score : scores_) {
    const uint32_t entry = sorted_entry_[score.index()];
    const bool is_batch = entry >= sample_count;
    score.set_index(is_batch ? entry - sample_count : entry);
    score.set_batch(is_batch);
  }
  std::sort(scores_.begin(), scores_.end(),
            [](const mled::v1::RowScore& a, const mled::v1::RowScore& b) {
              return std::make_tuple(a.batch(), a.index(), a.row()) <
                     std::make_tuple(b.batch(), b.index(), b.row());
            });
  ack->mutable_scores()->Reserve(static_cast<int>(scores_.size()));
  for (mled::v1::RowScore& score : scores_) ack->add_scores()->Swap(&score);
}

IngestCounts IngestApplier::Apply(const mled::v1::Ingest& ingest, int64_t receipt_time_unix_nano,
                                  mled::v1::Ack* ack) {
  ack->Clear();
  ack->set_seq(ingest.seq());
  groups_.clear();
  group_entry_.clear();
  anomalies_.clear();
  scores_.clear();
  anomaly_count_ = 0;
  scores_wanted_ = ingest.return_scores();
  const uint32_t sample_count = static_cast<uint32_t>(ingest.samples_size());
  results_.assign(sample_count + static_cast<size_t>(ingest.batches_size()), EntryResult{});

  const wire::IngestLimits& limits = table_->limits().ingest;
  for (uint32_t i = 0; i < sample_count; ++i) {
    const mled::v1::Sample& sample = ingest.samples(static_cast<int>(i));
    const int64_t time = TimeOrReceipt(sample.time_unix_nano(), receipt_time_unix_nano);
    absl::Status status = wire::ValidateSample(sample, limits);
    if (status.ok()) status = wire::ValidateSampleTime(time, receipt_time_unix_nano, limits);
    if (!status.ok()) {
      RejectRows(i, 1, std::move(status), -1);
      continue;
    }
    AddGroup(i, sample.stream(), static_cast<uint32_t>(sample.x_size()),
             absl::Span<const double>(sample.x().data(), sample.x_size()),
             stats::RowTimes{{}, time}, time, 0);
  }
  for (int b = 0; b < ingest.batches_size(); ++b) {
    PlanBatch(sample_count + static_cast<uint32_t>(b), ingest.batches(b), receipt_time_unix_nano);
  }
  ApplyGroups();

  IngestCounts counts;
  WriteAck(ingest, &counts, ack);
  if (scores_wanted_) WriteScores(sample_count, ack);
  return counts;
}

}  // namespace mled::engine
