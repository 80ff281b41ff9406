#include "daemon/http_server.h"

// Placeholder until the Beast server lands (issue 4, in progress): Start refuses.
namespace mled::daemon {

class HttpServer::Impl {};

HttpServer::HttpServer(boost::asio::io_context&, HttpContext) {}
HttpServer::~HttpServer() = default;
absl::Status HttpServer::Start(const boost::asio::ip::tcp::endpoint&) {
  return absl::UnimplementedError("the HTTP server is not built yet; run with --http=");
}
void HttpServer::Stop() {}
boost::asio::ip::tcp::endpoint HttpServer::local_endpoint() const { return {}; }

}  // namespace mled::daemon
