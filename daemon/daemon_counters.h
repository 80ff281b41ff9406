// The daemon's own counters, read by `mlectl stats` (StatsRequest -> DaemonStats).
//
// Relaxed atomics: each is exact on its own; a snapshot of several is not one instant.
// Thread-safe.
#ifndef MLED_DAEMON_DAEMON_COUNTERS_H_
#define MLED_DAEMON_DAEMON_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "lib/engine/ingest_applier.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

enum class Transport { kTcp, kUdp, kHttp, kStatsd };

struct DaemonCounters {
  using Counter = std::atomic<uint64_t>;

  void RecordIngest(const engine::IngestCounts& counts, Transport transport);
  // The samples_accepted_* counter of `transport`.
  Counter& AcceptedCounter(Transport transport);
  // Fills every counter field of `stats` (not id, time or streams).
  void Fill(int64_t now_unix_nano, mled::v1::DaemonStats* stats) const;

  int64_t start_unix_nano = 0;
  Counter samples_accepted_tcp{0};
  Counter samples_accepted_udp{0};
  Counter samples_accepted_http{0};
  Counter samples_accepted_statsd{0};
  std::array<Counter, mled::v1::Code_ARRAYSIZE> samples_rejected_by_code{};
  Counter frames_received{0};
  Counter frames_malformed{0};
  Counter frames_too_large{0};
  Counter bytes_received{0};
  Counter udp_datagrams{0};
  Counter udp_datagrams_malformed{0};
  Counter connections_opened{0};
  Counter connections_current{0};
  Counter connections_rejected{0};
  Counter subscribers_current{0};
  Counter updates_sent{0};
  Counter updates_coalesced{0};
  Counter slow_clients_disconnected{0};
  Counter publish_ticks{0};
  Counter queries{0};
  Counter anomalies{0};
  Counter anomaly_events_sent{0};
  Counter streams_reset{0};
  Counter config_reloads{0};
  Counter config_reloads_failed{0};
  Counter statsd_datagrams{0};
  Counter statsd_lines{0};
  Counter statsd_lines_malformed{0};
  Counter statsd_sets{0};
  // Kernel drop counts (SO_RXQ_OVFL): the latest cumulative value each socket reported.
  Counter udp_receive_drops{0};
  Counter statsd_receive_drops{0};
  Counter http_requests{0};
  Counter http_errors{0};
  Counter http_connections_current{0};
  Counter sse_clients_current{0};
  Counter publish_tick_nanos{0};
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_DAEMON_COUNTERS_H_
