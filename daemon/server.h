// The mled server: wires the stream table, publisher, listeners and sessions together and runs
// the Asio event loop on `io_threads` threads.
//
//   Server server(config);
//   RETURN_IF_ERROR(server.Start());   // binds; prints nothing
//   server.Run();                      // blocks until Stop() (e.g. from a signal) completes
//
// Stop order (SIGTERM/SIGINT): stop accepting and receiving (the UDP and StatsD receive threads
// are joined, and StatsD's counters flushed a last time), close the HTTP connections (event
// streams included), let every TCP session send what it has queued (acks of everything it read
// and applied), stop the publisher, then the event loop ends.
// Start and Stop may be called from any thread; Run from one thread.
#ifndef MLED_DAEMON_SERVER_H_
#define MLED_DAEMON_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include <mutex>
#include "daemon/config.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/http_server.h"
#include "daemon/publisher.h"
#include "daemon/request_handler.h"
#include "daemon/statsd_listener.h"
#include "daemon/tcp_session.h"
#include "daemon/udp_listener.h"
#include "lib/engine/stream_table.h"

namespace mled::daemon {

class Server {
 public:
  explicit Server(DaemonConfig config);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the TCP (and UDP) addresses. UNAVAILABLE / INVALID_ARGUMENT with the cause and the fix.
  absl::Status Start();
  // Runs the event loop on io_threads threads (this one included) until stopped.
  void Run();
  // Begins a graceful stop. Any thread; idempotent.
  void Stop();

  // Where the server listens (the real ports when the config asked for port 0).
  std::string tcp_address() const;
  std::string udp_address() const;  // empty when UDP is off
  std::string http_address() const;     // empty when HTTP is off
  std::string statsd_address() const;   // empty when StatsD is off

  // What SIGHUP re-reads: the config file (empty when the daemon runs on flags alone) and the
  // flags given on the command line, which keep overriding it.
  void set_reload_source(std::string config_path, absl::flat_hash_set<std::string> given_flags) {
    config_path_ = std::move(config_path);
    given_flags_ = std::move(given_flags);
  }
  // SIGHUP: re-reads the config file and applies what is safe to change at run time.
  void Reload();

 private:
  void Accept();
  void HandleSignals();
  void OnSessionClosed(TcpSession* session);

  DaemonConfig config_;
  boost::asio::io_context io_;
  DaemonCounters counters_;
  engine::StreamTable table_;
  Publisher publisher_;
  RequestHandler handler_;
  RateLimitedLog client_errors_;
  SessionContext session_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;  // on acceptor_'s strand
  std::unique_ptr<UdpListener> udp_;
  std::unique_ptr<StatsdListener> statsd_;
  std::unique_ptr<HttpServer> http_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer stop_deadline_;

  std::mutex mu_;
  absl::flat_hash_map<TcpSession*, std::weak_ptr<TcpSession>> sessions_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string config_path_;
  absl::flat_hash_set<std::string> given_flags_;
  std::vector<std::thread> threads_;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_SERVER_H_
