#include "daemon/daemon_counters.h"

namespace mled::daemon {

DaemonCounters::Counter& DaemonCounters::AcceptedCounter(Transport transport) {
  switch (transport) {
    case Transport::kTcp:
      return samples_accepted_tcp;
    case Transport::kUdp:
      return samples_accepted_udp;
    case Transport::kHttp:
      return samples_accepted_http;
    case Transport::kStatsd:
      return samples_accepted_statsd;
  }
  return samples_accepted_tcp;
}

void DaemonCounters::RecordIngest(const engine::IngestCounts& counts, Transport transport) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  if (counts.anomalies > 0) anomalies.fetch_add(counts.anomalies, kRelaxed);
  if (counts.accepted > 0) AcceptedCounter(transport).fetch_add(counts.accepted, kRelaxed);
  if (counts.rejected == 0) return;
  for (size_t code = 0; code < counts.rejected_by_code.size(); ++code) {
    if (counts.rejected_by_code[code] > 0) {
      samples_rejected_by_code[code].fetch_add(counts.rejected_by_code[code], kRelaxed);
    }
  }
}

void DaemonCounters::Fill(int64_t now_unix_nano, mled::v1::DaemonStats* stats) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  stats->set_uptime_ns(now_unix_nano - start_unix_nano);
  const uint64_t tcp = samples_accepted_tcp.load(kRelaxed);
  const uint64_t udp = samples_accepted_udp.load(kRelaxed);
  const uint64_t http = samples_accepted_http.load(kRelaxed);
  const uint64_t statsd = samples_accepted_statsd.load(kRelaxed);
  stats->set_samples_accepted_tcp(tcp);
  stats->set_samples_accepted_udp(udp);
  stats->set_samples_accepted_http(http);
  stats->set_samples_accepted_statsd(statsd);
  stats->set_samples_accepted(tcp + udp + http + statsd);
  uint64_t rejected = 0;
  for (size_t code = 0; code < samples_rejected_by_code.size(); ++code) {
    const uint64_t count = samples_rejected_by_code[code].load(kRelaxed);
    if (count == 0) continue;
    rejected += count;
    (*stats->mutable_samples_rejected_by_code())[mled::v1::Code_Name(static_cast<int>(code))] =
        count;
  }
  stats->set_samples_rejected(rejected);
  stats->set_frames_received(frames_received.load(kRelaxed));
  stats->set_frames_malformed(frames_malformed.load(kRelaxed));
  stats->set_frames_too_large(frames_too_large.load(kRelaxed));
  stats->set_bytes_received(bytes_received.load(kRelaxed));
  stats->set_udp_datagrams(udp_datagrams.load(kRelaxed));
  stats->set_udp_datagrams_malformed(udp_datagrams_malformed.load(kRelaxed));
  stats->set_connections_opened(connections_opened.load(kRelaxed));
  stats->set_connections_current(connections_current.load(kRelaxed));
  stats->set_connections_rejected(connections_rejected.load(kRelaxed));
  stats->set_subscribers_current(subscribers_current.load(kRelaxed));
  stats->set_updates_sent(updates_sent.load(kRelaxed));
  stats->set_updates_coalesced(updates_coalesced.load(kRelaxed));
  stats->set_slow_clients_disconnected(slow_clients_disconnected.load(kRelaxed));
  stats->set_publish_ticks(publish_ticks.load(kRelaxed));
  stats->set_queries(queries.load(kRelaxed));
  stats->set_anomalies(anomalies.load(kRelaxed));
  stats->set_anomaly_events_sent(anomaly_events_sent.load(kRelaxed));
  stats->set_streams_reset(streams_reset.load(kRelaxed));
  stats->set_config_reloads(config_reloads.load(kRelaxed));
  stats->set_config_reloads_failed(config_reloads_failed.load(kRelaxed));
  stats->set_statsd_datagrams(statsd_datagrams.load(kRelaxed));
  stats->set_statsd_lines(statsd_lines.load(kRelaxed));
  stats->set_statsd_lines_malformed(statsd_lines_malformed.load(kRelaxed));
  stats->set_statsd_sets(statsd_sets.load(kRelaxed));
  stats->set_udp_receive_drops(udp_receive_drops.load(kRelaxed));
  stats->set_statsd_receive_drops(statsd_receive_drops.load(kRelaxed));
  stats->set_http_requests(http_requests.load(kRelaxed));
  stats->set_http_errors(http_errors.load(kRelaxed));
  stats->set_http_connections_current(http_connections_current.load(kRelaxed));
  stats->set_sse_clients_current(sse_clients_current.load(kRelaxed));
  stats->set_publish_tick_nanos(publish_tick_nanos.load(kRelaxed));
}

}  // namespace mled::daemon
