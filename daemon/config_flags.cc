// The daemon's flags, one per `mled.v1.Config` field (limits fields by their own names).
// Their defaults are the daemon's defaults; config.cc applies them by name through reflection.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, config, "",
          "Path of a config file (mled.v1.Config in protobuf text format, see "
          "config/mled.textproto). Flags given on the command line override its fields.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7070",
          "TCP address for ingest, subscriptions and queries, HOST:PORT ([v6]:PORT for IPv6). "
          "Port 0 picks a free port (the startup line says which).");
ABSL_FLAG(std::string, udp, "127.0.0.1:7070",
          "UDP address for datagram ingest (one serialized Ingest per datagram, no ack); "
          "empty disables UDP.");
ABSL_FLAG(std::string, publish_interval, "1s",
          "Default interval between updates to a subscription that does not choose its own "
          "(e.g. 1s, 250ms).");
ABSL_FLAG(uint32_t, io_threads, 0, "I/O threads running the event loop; 0 means one per core.");
ABSL_FLAG(uint32_t, shards, 0,
          "Shards of the stream table (a power of two); 0 chooses 16 per I/O thread.");
ABSL_FLAG(std::string, log_level, "info", "Least severe log lines written: info, warning, error.");
ABSL_FLAG(uint64_t, max_streams, 1000000,
          "Most streams held; samples for further new streams are rejected with "
          "RESOURCE_EXHAUSTED while existing streams keep working.");
ABSL_FLAG(uint32_t, max_dim, 256, "Largest dimension D of a stream (values per sample).");
ABSL_FLAG(uint32_t, max_name_bytes, 256,
          "Longest stream name in bytes (names are valid UTF-8 without control characters).");
ABSL_FLAG(uint64_t, max_frame_bytes, 16777216,
          "Largest TCP frame in bytes; a longer announced length gets FRAME_TOO_LARGE and the "
          "connection is closed.");
ABSL_FLAG(uint32_t, max_datagram_bytes, 65507,
          "Largest UDP datagram in bytes; larger ones are counted and dropped.");
ABSL_FLAG(uint32_t, max_query_streams, 10000, "Most estimates in one Query answer.");
ABSL_FLAG(uint64_t, max_session_write_bytes, 67108864,
          "Bytes queued for one connection before it is disconnected as too slow to read.");
ABSL_FLAG(uint32_t, max_connections, 10000,
          "Concurrent TCP connections; further ones are closed at once and counted.");
ABSL_FLAG(uint32_t, max_subscriptions_per_connection, 64, "Subscriptions one connection may hold.");
ABSL_FLAG(uint32_t, max_rejections_per_ack, 100,
          "Rejection entries listed in one Ack (the accepted/rejected counts are never capped).");
ABSL_FLAG(double, max_abs_value, 1e100,
          "Largest |value| accepted; larger values are INVALID_ARGUMENT, since their squares "
          "could overflow the statistics.");
ABSL_FLAG(uint32_t, max_window_buckets, 1024,
          "Most buckets a window estimator may have (memory per stream is buckets x (D^2 + 2D + "
          "1) doubles).");
ABSL_FLAG(uint32_t, max_rules, 1000, "Most stream rules in the config.");
ABSL_FLAG(std::string, max_time_ahead, "1h",
          "How far ahead of the daemon's clock a sample's time may be; later times are "
          "INVALID_ARGUMENT (they would push a stream's window or decay clock into the future).");
ABSL_FLAG(uint32_t, max_http_header_bytes, 16384,
          "Largest HTTP request header block in bytes; larger requests get 431.");
ABSL_FLAG(uint64_t, max_http_body_bytes, 16777216,
          "Largest HTTP request body in bytes (16 MiB); larger bodies get 413.");
ABSL_FLAG(uint32_t, max_metrics_streams, 10000,
          "Most streams one /metrics page exports, in name order; narrow it with "
          "/metrics?match=GLOB. The page says when it was cut (mled_metrics_streams_omitted).");
ABSL_FLAG(uint32_t, max_http_connections, 1024,
          "Concurrent HTTP connections, event streams included; further ones are closed at once.");
ABSL_FLAG(std::string, http, "127.0.0.1:7071",
          "HTTP address for the dashboard (/), Prometheus metrics (/metrics), the JSON API "
          "(/v1/...) and live events (/v1/events); empty disables HTTP.");
ABSL_FLAG(std::string, statsd, "127.0.0.1:8125",
          "UDP address for StatsD/DogStatsD lines (name:value|type); empty disables StatsD.");
ABSL_FLAG(uint32_t, udp_receive_buffer_bytes, 33554432,
          "Receive buffer asked of the kernel for each UDP socket (32 MiB), so bursts are "
          "queued, not dropped. The kernel may grant less (net.core.rmem_max); the startup log "
          "says what it got, and drops are counted.");
ABSL_FLAG(std::string, statsd_flush_interval, "10s",
          "Interval over which StatsD counters (|c) are summed into one per-second rate "
          "sample of the counter's stream.");
ABSL_FLAG(std::string, rules, "",
          "Stream rules, replacing the config file's: text format as in the file, e.g. "
          "'rules { match: \"plant7/*\" window { length: \"5m\" } }'. First match wins.");
ABSL_FLAG(std::string, default_rule, "",
          "The rule for streams no rule matches, in text format, e.g. "
          "'exponential { half_life: \"10m\" } anomaly { p_value: 1e-4 }'. Default: cumulative, "
          "anomalies at p < 1e-6 after 30 samples.");
ABSL_FLAG(bool, version, false, "Print the version (\"mled 0.1.0\") and exit 0.");
