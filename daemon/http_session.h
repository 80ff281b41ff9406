// One HTTP/1.1 connection: reads requests with Beast's parser, has HttpApi answer them, writes
// the responses, and keeps the connection alive between requests. A GET /v1/events request
// turns the connection into an EventStream, which takes over the socket.
//
// Limits and timeouts, so that broken or hostile clients cannot pile up:
//   - headers over HttpOptions::max_header_bytes: 431, then close;
//   - a body over max_body_bytes (by Content-Length, or while it arrives chunked): 413, close;
//   - a request that does not parse: 400 with the parser's message, close;
//   - 30 s for a request to arrive once its first byte has (header and body), 30 s for the first
//     request of a connection to begin, 60 s of keep-alive idleness between requests, 60 s to
//     write a response; past any of them the connection closes without an answer.
// Each refused request is logged through the RateLimitedLog of client errors. After a response
// that ends the connection the session stops sending, drains what the client still sends for up
// to 2 s (so it reads the error rather than a reset), then closes.
//
// Lifetime as in Asio's examples: owned by shared_ptrs in its pending operations; every handler
// runs on the socket's strand; Close posts to it from any thread.
#ifndef MLED_DAEMON_HTTP_SESSION_H_
#define MLED_DAEMON_HTTP_SESSION_H_

#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "daemon/http_api.h"
#include "daemon/http_connection.h"
#include "daemon/http_server.h"

namespace mled::daemon {

class HttpSession final : public HttpConnection, public std::enable_shared_from_this<HttpSession> {
 public:
  // `socket` must use a strand executor; `slot` is its place in http_connections_current.
  // `context` and `registry` must outlive the session.
  HttpSession(boost::asio::ip::tcp::socket socket, const HttpContext& context,
              HttpConnectionRegistry* registry, HttpConnectionSlot slot);
  ~HttpSession() override;

  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Registers with the registry and starts reading. Call once; any thread.
  void Start();
  // HttpConnection: closes at once. Any thread.
  void Close() override;

 private:
  void Begin();
  void WaitForRequest();
  // The header (under the request timeout), then ReadBody: answers "Expect: 100-continue",
  // then ReadRest reads the body.
  void ReadRequest();
  void ReadBody();
  void ReadRest();
  void OnRead(const boost::system::error_code& error);
  void Refuse(boost::beast::http::status status, mled::v1::Code code, absl::string_view message);
  void Send(HttpResponse response, bool close_after);
  void OnWrite(const boost::system::error_code& error, bool close_after);
  void BecomeEventStream(EventStreamRequest request);
  void LingerThenClose();
  void Drain();
  void DoClose();

  boost::beast::tcp_stream stream_;
  const HttpContext& context_;
  HttpConnectionRegistry* registry_;
  HttpConnectionSlot slot_;
  const std::string peer_;
  HttpApi api_;

  boost::beast::flat_buffer buffer_;
  // One per request: Beast's parser handles one message.
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  HttpResponse response_;  // the response being written
  size_t drained_ = 0;  // bytes read and dropped while lingering before a close
  bool first_request_ = true;
  bool closed_ = false;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_HTTP_SESSION_H_
