#include "daemon/request_handler.h"

#include <string>
#include <vector>

#include "lib/engine/stream_matcher.h"
#include "lib/wire/codes.h"
#include "lib/wire/validation.h"

namespace mled::daemon {

void RequestHandler::Ingest(engine::IngestApplier& applier, const mled::v1::Ingest& ingest,
                            Transport transport, mled::v1::Ack* ack) {
  const engine::IngestCounts counts = applier.Apply(ingest, clock_.NowUnixNanos(), ack);
  counters_->RecordIngest(counts, transport);
  if (publisher_ != nullptr && !applier.anomalies().empty()) {
    publisher_->PublishAnomalies(applier.anomalies());
  }
}

void RequestHandler::Reset(const mled::v1::Reset& reset, mled::v1::Ack* ack) {
  ack->Clear();
  ack->set_seq(reset.seq());
  absl::Status status;
  if (reset.streams().empty()) {
    status = absl::InvalidArgumentError(
        "Reset lists no streams; name them or give globs (\"*\" clears every stream)");
  }
  for (const std::string& pattern : reset.streams()) {
    if (!status.ok()) break;
    status = wire::ValidateStreamName(pattern, table_->limits().ingest);
  }
  if (!status.ok()) {
    ack->set_rejected(1);
    mled::v1::Rejection* rejection = ack->add_rejections();
    rejection->set_code(wire::CodeFromStatus(status));
    rejection->set_message(std::string(status.message()));
    rejection->set_rows(1);
    return;
  }
  const std::vector<std::string> patterns(reset.streams().begin(), reset.streams().end());
  const uint64_t cleared = table_->Reset(engine::StreamMatcher(patterns));
  counters_->streams_reset.fetch_add(cleared, std::memory_order_relaxed);
  ack->set_accepted(cleared);
}

void RequestHandler::Query(const mled::v1::Query& query, mled::v1::Estimates* answer) {
  counters_->queries.fetch_add(1, std::memory_order_relaxed);
  answer->Clear();
  answer->set_time_unix_nano(clock_.NowUnixNanos());
  answer->set_query_id(query.id());
  const std::vector<std::string> patterns(query.streams().begin(), query.streams().end());
  table_->Query(engine::StreamMatcher(patterns), table_->limits().max_query_streams,
                answer->mutable_estimates());
}

void RequestHandler::Stats(const mled::v1::StatsRequest& request, mled::v1::DaemonStats* stats) {
  stats->Clear();
  const int64_t now = clock_.NowUnixNanos();
  stats->set_id(request.id());
  stats->set_time_unix_nano(now);
  stats->set_streams(table_->stream_count());
  counters_->Fill(now, stats);
}

}  // namespace mled::daemon
