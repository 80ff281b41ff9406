#include "daemon/request_handler.h"

#include <string>
#include <vector>

#include "lib/engine/stream_matcher.h"

namespace mled::daemon {

void RequestHandler::Ingest(engine::IngestApplier& applier, const mled::v1::Ingest& ingest,
                            Transport transport, mled::v1::Ack* ack) {
  const engine::IngestCounts counts = applier.Apply(ingest, clock_.NowUnixNanos(), ack);
  counters_->RecordIngest(counts, transport);
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
