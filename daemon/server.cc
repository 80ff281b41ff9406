#include "daemon/server.h"

#include <csignal>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/tcp_listen.h"
#include "lib/base/status_macros.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::tcp;
using boost::asio::ip::udp;

namespace {

// How long a graceful stop waits for sessions to flush before it ends the event loop anyway.
constexpr auto kStopGrace = std::chrono::seconds(5);

absl::StatusOr<asio::ip::address> ResolveHost(const HostPort& where, absl::string_view what) {
  if (where.host == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  boost::system::error_code error;
  asio::ip::address address = asio::ip::make_address(where.host, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " address \"", where.host, "\" is not an IP address; use e.g. 127.0.0.1 or ::1"));
  }
  return address;
}

}  // namespace

Server::Server(DaemonConfig config)
    : config_(std::move(config)),
      io_(static_cast<int>(config_.io_threads)),
      table_(config_.engine_limits, config_.shards, config_.rules),
      publisher_(io_, &table_, &counters_, SystemClock::Get(), config_.publish_interval),
      handler_(&table_, &publisher_, &counters_, SystemClock::Get()),
      client_errors_(LogLevel::kWarning, 10),
      acceptor_(asio::make_strand(io_)),
      accept_retry_(acceptor_.get_executor()),
      signals_(io_),
      stop_deadline_(asio::make_strand(io_)) {
  counters_.start_unix_nano = SystemClock::Get().NowUnixNanos();
  session_context_ = SessionContext{
      .table = &table_,
      .handler = &handler_,
      .publisher = &publisher_,
      .counters = &counters_,
      .client_errors = &client_errors_,
      .options = {.max_frame_bytes = config_.max_frame_bytes,
                  .max_write_bytes = config_.max_session_write_bytes,
                  .max_subscriptions = config_.max_subscriptions_per_connection},
      .on_close = [this](TcpSession* session) { OnSessionClosed(session); }};
}

Server::~Server() {
  io_.stop();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

absl::Status Server::Start() {
  ASSIGN_OR_RETURN(const asio::ip::address tcp_host, ResolveHost(config_.listen, "listen"));
  const tcp::endpoint endpoint(tcp_host, config_.listen.port);
  if (const boost::system::error_code error = OpenAcceptor(acceptor_, endpoint)) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on tcp ", config_.listen.ToString(), ": ", error.message(),
        " (is another mled running? choose another address with --listen)"));
  }
  if (config_.udp.has_value()) {
    ASSIGN_OR_RETURN(const asio::ip::address udp_host, ResolveHost(*config_.udp, "udp"));
    udp_ = std::make_unique<UdpListener>(&table_, &handler_, &counters_, &client_errors_,
                                         config_.max_datagram_bytes,
                                         config_.udp_receive_buffer_bytes);
    absl::Status status = udp_->Start(udp::endpoint(udp_host, config_.udp->port));
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat(status.message(), " (choose another address with --udp, or --udp= to turn "
                                         "UDP off)"));
    }
  }
  if (config_.statsd.has_value()) {
    ASSIGN_OR_RETURN(const asio::ip::address statsd_host, ResolveHost(*config_.statsd, "statsd"));
    statsd_ = std::make_unique<StatsdListener>(
        &table_, &handler_, &counters_, &client_errors_,
        StatsdOptions{.max_datagram_bytes = config_.max_datagram_bytes,
                      .receive_buffer_bytes = config_.udp_receive_buffer_bytes,
                      .flush_interval = config_.statsd_flush_interval});
    absl::Status status = statsd_->Start(udp::endpoint(statsd_host, config_.statsd->port));
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat(
          status.message(),
          " (choose another address with --statsd, or --statsd= to turn StatsD off)"));
    }
  }
  if (config_.http.has_value()) {
    ASSIGN_OR_RETURN(const asio::ip::address http_host, ResolveHost(*config_.http, "http"));
    http_ = std::make_unique<HttpServer>(
        io_, HttpContext{.table = &table_,
                         .handler = &handler_,
                         .publisher = &publisher_,
                         .counters = &counters_,
                         .client_errors = &client_errors_,
                         .options = {.max_header_bytes = config_.max_http_header_bytes,
                                     .max_body_bytes = config_.max_http_body_bytes,
                                     .max_metrics_streams = config_.max_metrics_streams,
                                     .max_connections = config_.max_http_connections,
                                     .max_write_bytes = config_.max_session_write_bytes}});
    absl::Status status = http_->Start(tcp::endpoint(http_host, config_.http->port));
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat(
          status.message(), " (choose another address with --http, or --http= to turn HTTP off)"));
    }
  }
  publisher_.Start();
  HandleSignals();
  asio::post(acceptor_.get_executor(), [this] { Accept(); });
  return absl::OkStatus();
}

std::string Server::tcp_address() const {
  boost::system::error_code error;
  const tcp::endpoint endpoint = acceptor_.local_endpoint(error);
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

std::string Server::udp_address() const {
  if (!udp_) return "";
  const udp::endpoint endpoint = udp_->local_endpoint();
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

std::string Server::http_address() const {
  if (!http_) return "";
  const tcp::endpoint endpoint = http_->local_endpoint();
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

std::string Server::statsd_address() const {
  if (!statsd_) return "";
  const udp::endpoint endpoint = statsd_->local_endpoint();
  return HostPort{endpoint.address().to_string(), endpoint.port()}.ToString();
}

void Server::Run() {
  for (uint32_t i = 1; i < config_.io_threads; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  io_.run();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

void Server::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](const boost::system::error_code& error,
                                                        tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
    }
    if (stopping) return;
    if (!error) {
      const uint64_t current = counters_.connections_current.load(std::memory_order_relaxed);
      if (current >= config_.max_connections) {
        counters_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
        client_errors_.Log(absl::StrCat("refused a connection: ", current,
                                        " connections open (max_connections)"));
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        counters_.connections_opened.fetch_add(1, std::memory_order_relaxed);
        counters_.connections_current.fetch_add(1, std::memory_order_relaxed);
        auto session = std::make_shared<TcpSession>(std::move(socket), session_context_);
        {
          std::lock_guard<std::mutex> lock(mu_);
          sessions_.emplace(session.get(), session);
        }
        session->Start();
      }
    } else {
      // E.g. EMFILE: keep accepting, after a pause; the log line says why connections fail.
      client_errors_.Log(absl::StrCat("accept failed: ", error.message()));
      RetryAcceptLater(accept_retry_, acceptor_, [this] { Accept(); });
      return;
    }
    Accept();
  });
}

void Server::OnSessionClosed(TcpSession* session) {
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(session);
    last = stopping_ && sessions_.empty();
  }
  if (last) asio::post(stop_deadline_.get_executor(), [this] { stop_deadline_.cancel(); });
}

void Server::HandleSignals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGHUP);
  signals_.async_wait([this](const boost::system::error_code& error, int signal) {
    if (error) return;
    if (signal == SIGHUP) {
      Reload();
      HandleSignals();
      return;
    }
    LogInfo(absl::StrCat("received ", signal == SIGTERM ? "SIGTERM" : "SIGINT",
                         "; stopping: no new connections, flushing sessions"));
    Stop();
  });
}

void Server::Reload() {
  if (config_path_.empty()) {
    LogInfo("SIGHUP: no config file (--config) to reload");
    return;
  }
  absl::StatusOr<mled::v1::Config> file = LoadConfigFile(config_path_);
  absl::StatusOr<mled::v1::Config> merged =
      file.ok() ? MergeWithFlags(&*file, given_flags_) : absl::StatusOr<mled::v1::Config>(file.status());
  absl::StatusOr<DaemonConfig> resolved =
      merged.ok() ? ResolveConfig(*merged) : absl::StatusOr<DaemonConfig>(merged.status());
  if (!resolved.ok()) {
    counters_.config_reloads_failed.fetch_add(1, std::memory_order_relaxed);
    LogError(absl::StrCat("SIGHUP: config not reloaded, keeping the running one: ",
                          resolved.status().message()));
    return;
  }
  // Safe at run time: the log level, the default interval of new subscriptions and the stream
  // rules. Addresses, threads, shards and limits size live structures and need a restart.
  SetLogLevel(resolved->log_level);
  publisher_.set_default_interval(resolved->publish_interval);
  const engine::RulesReload reload = table_.ReplaceRules(resolved->rules);
  counters_.config_reloads.fetch_add(1, std::memory_order_relaxed);
  mled::v1::Config restart_only = resolved->proto;
  mled::v1::Config running = config_.proto;
  for (mled::v1::Config* config : {&restart_only, &running}) {
    config->clear_log_level();
    config->clear_publish_interval();
    config->clear_rules();
    config->clear_default_rule();
  }
  const bool needs_restart = restart_only.SerializeAsString() != running.SerializeAsString();
  LogInfo(absl::StrCat("SIGHUP: reloaded ", config_path_, " (log_level ",
                       resolved->proto.log_level(), ", publish_interval ",
                       resolved->proto.publish_interval(), ", ", resolved->rules->size(),
                       " stream rules: ", reload.kept, " streams kept their state, ",
                       reload.reset, " restarted under a new estimator, ", reload.removed,
                       " removed for a new dimension)",
                       needs_restart ? "; other changes take effect after a restart" : ""));
}

void Server::Stop() {
  std::vector<std::shared_ptr<TcpSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  if (udp_) udp_->Stop();
  if (statsd_) statsd_->Stop();
  if (http_) http_->Stop();
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  });
  publisher_.Stop();
  for (auto& session : sessions) session->Shutdown();
  // On the deadline's strand, so OnSessionClosed's cancel cannot slip in before the timer is set.
  asio::post(stop_deadline_.get_executor(), [this] {
    stop_deadline_.expires_after(kStopGrace);
    stop_deadline_.async_wait([this](const boost::system::error_code& error) {
      if (error) return;  // every session closed in time
      LogWarning("stop: sessions did not flush within 5 s; closing them");
      io_.stop();
    });
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.empty()) stop_deadline_.cancel();
  });
}

}  // namespace mled::daemon
