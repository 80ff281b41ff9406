// Answers decoded client requests; the one path every transport (TCP, UDP, later HTTP) uses.
//
// Thread-safe: the table and counters are; the IngestApplier passed in belongs to the caller.
#ifndef MLED_DAEMON_REQUEST_HANDLER_H_
#define MLED_DAEMON_REQUEST_HANDLER_H_

#include "daemon/daemon_counters.h"
#include "lib/base/clock.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

class RequestHandler {
 public:
  RequestHandler(engine::StreamTable* table, DaemonCounters* counters, const Clock& clock)
      : table_(table), counters_(counters), clock_(clock) {}

  // Applies `ingest` through `applier`, counts it, and fills `ack`.
  void Ingest(engine::IngestApplier& applier, const mled::v1::Ingest& ingest, Transport transport,
              mled::v1::Ack* ack);
  void Query(const mled::v1::Query& query, mled::v1::Estimates* answer);
  void Stats(const mled::v1::StatsRequest& request, mled::v1::DaemonStats* stats);

  const Clock& clock() const { return clock_; }

 private:
  engine::StreamTable* table_;
  DaemonCounters* counters_;
  const Clock& clock_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_REQUEST_HANDLER_H_
