// Answers decoded client requests; the one path every transport (TCP, UDP, later HTTP) uses.
//
// Thread-safe: the table and counters are; the IngestApplier passed in belongs to the caller.
#ifndef MLED_DAEMON_REQUEST_HANDLER_H_
#define MLED_DAEMON_REQUEST_HANDLER_H_

#include "daemon/daemon_counters.h"
#include "daemon/publisher.h"
#include "lib/base/clock.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

class RequestHandler {
 public:
  // `publisher` (may be null in tests) receives the anomalies ingest finds.
  RequestHandler(engine::StreamTable* table, Publisher* publisher, DaemonCounters* counters,
                 const Clock& clock)
      : table_(table), publisher_(publisher), counters_(counters), clock_(clock) {}

  // Applies `ingest` through `applier`, counts it, fills `ack`, and publishes the anomalies it
  // found at once.
  void Ingest(engine::IngestApplier& applier, const mled::v1::Ingest& ingest, Transport transport,
              mled::v1::Ack* ack);
  // Clears the named streams; `ack->accepted` counts them. An empty list, or a pattern that is
  // not a valid name, is rejected (INVALID_ARGUMENT) and clears nothing.
  void Reset(const mled::v1::Reset& reset, mled::v1::Ack* ack);
  void Query(const mled::v1::Query& query, mled::v1::Estimates* answer);
  void Stats(const mled::v1::StatsRequest& request, mled::v1::DaemonStats* stats);

  const Clock& clock() const { return clock_; }

 private:
  engine::StreamTable* table_;
  Publisher* publisher_;
  DaemonCounters* counters_;
  const Clock& clock_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_REQUEST_HANDLER_H_
