#include "daemon/http_server.h"

#include <atomic>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/http_api.h"
#include "daemon/http_connection.h"
#include "daemon/http_session.h"
#include "daemon/tcp_listen.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

class HttpServer::Impl {
 public:
  Impl(asio::io_context& io, HttpContext context)
      : io_(io),
        context_(std::move(context)),
        acceptor_(asio::make_strand(io)),
        accept_retry_(acceptor_.get_executor()) {}

  absl::Status Start(const tcp::endpoint& endpoint) {
    if (const boost::system::error_code error = OpenAcceptor(acceptor_, endpoint)) {
      return absl::UnavailableError(absl::StrCat("cannot listen on http ",
                                                 endpoint.address().to_string(), ":",
                                                 endpoint.port(), ": ", error.message()));
    }
    asio::post(acceptor_.get_executor(), [this] { Accept(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    registry_.CloseAll();
  }

  tcp::endpoint local_endpoint() const {
    boost::system::error_code ignored;
    return acceptor_.local_endpoint(ignored);
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](const boost::system::error_code& error,
                                                          tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor_.is_open() || stopped_) return;
      if (error) {
        // E.g. EMFILE: keep accepting, after a pause; the log line says why connections fail.
        context_.client_errors->Log(absl::StrCat("http accept failed: ", error.message()));
        RetryAcceptLater(accept_retry_, acceptor_, [this] { Accept(); });
        return;
      } else if (context_.counters->http_connections_current.load(std::memory_order_relaxed) >=
                 context_.options.max_connections) {
        Refuse(std::move(socket));
      } else {
        std::make_shared<HttpSession>(std::move(socket), context_, &registry_,
                                      HttpConnectionSlot(context_.counters))
            ->Start();
      }
      Accept();
    });
  }

  // Answers 503 if the socket takes it at once (a fresh socket's send buffer always does) and
  // closes; never waits for the client.
  void Refuse(tcp::socket socket) {
    context_.counters->connections_rejected.fetch_add(1, std::memory_order_relaxed);
    context_.counters->http_errors.fetch_add(1, std::memory_order_relaxed);
    context_.client_errors->Log(
        absl::StrCat("http: refused a connection: ", context_.options.max_connections,
                     " connections open (max_http_connections)"));
    // The same error body every other HTTP error has; written at once, never waited for.
    HttpResponse response = HttpApi::ErrorResponse(
        boost::beast::http::status::service_unavailable, mled::v1::RESOURCE_EXHAUSTED,
        "too many HTTP connections (max_http_connections); retry later", 11);
    response.set(boost::beast::http::field::retry_after, "1");
    response.keep_alive(false);
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    boost::beast::http::write(socket, response, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  asio::io_context& io_;
  const HttpContext context_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;  // on acceptor_'s strand
  HttpConnectionRegistry registry_;
  std::atomic<bool> stopped_{false};
};

HttpServer::HttpServer(asio::io_context& io, HttpContext context)
    : impl_(std::make_unique<Impl>(io, std::move(context))) {}

HttpServer::~HttpServer() = default;

absl::Status HttpServer::Start(const tcp::endpoint& endpoint) { return impl_->Start(endpoint); }

void HttpServer::Stop() { impl_->Stop(); }

tcp::endpoint HttpServer::local_endpoint() const { return impl_->local_endpoint(); }

}  // namespace mled::daemon
