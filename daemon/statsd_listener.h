// StatsD ingest over UDP: etsy StatsD and DogStatsD lines (`name:value|type|@rate|#tags`), parsed
// by lib/wire/statsd and applied through the same RequestHandler as every other transport.
//
//   StatsdListener statsd(&table, &handler, &counters, &client_errors, options);
//   RETURN_IF_ERROR(statsd.Start(endpoint));
//   ...
//   statsd.Stop();
//
// Gauges, timers, histograms and distributions are one sample per value (no 1/rate weighting);
// signed gauges are deltas to the gauge's last value; counters are summed (scaled by 1/rate) and
// become one per-second rate sample per flush interval (0 for an interval without increments);
// sets are counted and skipped. Sample time is the receive time (counter rates: the flush time).
// The gauge and counter state lives in engine::StatsdAggregator, bounded by max_streams names.
// Datagrams are received in batches (daemon/udp_receiver.h) and each batch's samples are applied
// as one Ingest through RequestHandler, like TCP and UDP ingest. The kernel's drop count for
// the socket (SO_RXQ_OVFL) is kept in DaemonCounters::statsd_receive_drops.
//
// Thread-safety: Start and Stop may be called from any thread; receives and flushes run on one
// strand.
#ifndef MLED_DAEMON_STATSD_LISTENER_H_
#define MLED_DAEMON_STATSD_LISTENER_H_

#include <cstdint>
#include <memory>

#include <boost/asio/ip/udp.hpp>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/request_handler.h"
#include "lib/engine/stream_table.h"

namespace mled::daemon {

struct StatsdOptions {
  uint32_t max_datagram_bytes = 65507;
  uint32_t receive_buffer_bytes = 32u << 20;
  absl::Duration flush_interval = absl::Seconds(10);
};

class StatsdListener {
 public:
  StatsdListener(engine::StreamTable* table, RequestHandler* handler, DaemonCounters* counters,
                 RateLimitedLog* client_errors, StatsdOptions options);
  ~StatsdListener();

  StatsdListener(const StatsdListener&) = delete;
  StatsdListener& operator=(const StatsdListener&) = delete;

  // Binds and starts receiving. UNAVAILABLE with the cause when the address cannot be bound.
  absl::Status Start(const boost::asio::ip::udp::endpoint& endpoint);
  // Closes the socket, then applies the counters summed since the last flush as a last rate
  // sample (sum / time since that flush; counters without increments are left out). Any
  // thread; idempotent.
  void Stop();
  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_STATSD_LISTENER_H_
