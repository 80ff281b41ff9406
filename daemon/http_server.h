// The HTTP interface (Boost.Beast), on the daemon's I/O threads: the dashboard at `/`, Prometheus
// metrics at `/metrics`, the JSON API under `/v1/` and live Server-Sent Events at `/v1/events`.
//
//   HttpServer http(io, context);
//   RETURN_IF_ERROR(http.Start(endpoint));   // binds and listens
//   ...
//   http.Stop();                              // closes the listener and every connection
//
// JSON bodies are the protobuf JSON mapping of the wire messages (field names as in the .proto),
// so the HTTP API and the TCP protocol have one source of truth.
//
// Thread-safety: Start and Stop may be called from any thread; connections run on strands.
#ifndef MLED_DAEMON_HTTP_SERVER_H_
#define MLED_DAEMON_HTTP_SERVER_H_

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/publisher.h"
#include "daemon/request_handler.h"
#include "lib/engine/stream_table.h"

namespace mled::daemon {

struct HttpOptions {
  uint32_t max_header_bytes = 16384;
  uint64_t max_body_bytes = 16u << 20;
  uint32_t max_metrics_streams = 10000;
  uint32_t max_connections = 1024;
  // Bytes queued for one event-stream client before it is disconnected as too slow.
  uint64_t max_write_bytes = 64u << 20;
};

// What the HTTP server shares with the rest of the daemon; owned by the Server, outlives it.
struct HttpContext {
  engine::StreamTable* table;
  RequestHandler* handler;
  Publisher* publisher;
  DaemonCounters* counters;
  RateLimitedLog* client_errors;
  HttpOptions options;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpContext context);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. UNAVAILABLE with the cause when the address cannot be bound.
  absl::Status Start(const boost::asio::ip::tcp::endpoint& endpoint);
  // Stops accepting and closes every connection (event streams included). Any thread;
  // idempotent.
  void Stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_HTTP_SERVER_H_
