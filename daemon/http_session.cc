#include "daemon/http_session.h"

#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/event_stream.h"
#include "daemon/tcp_listen.h"

namespace mled::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

// See the header: how long each phase of a connection may take.
constexpr auto kFirstRequestTimeout = std::chrono::seconds(30);
constexpr auto kKeepAliveIdleTimeout = std::chrono::seconds(60);
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(60);
constexpr auto kLingerTimeout = std::chrono::seconds(2);
// Bytes read per call while waiting for a request, and at most drained before closing.
constexpr size_t kReadChunkBytes = 16 * 1024;
constexpr size_t kMaxDrainBytes = 1 << 20;


}  // namespace

HttpSession::HttpSession(tcp::socket socket, const HttpContext& context,
                         HttpConnectionRegistry* registry, HttpConnectionSlot slot)
    : stream_(std::move(socket)),
      context_(context),
      registry_(registry),
      slot_(std::move(slot)),
      peer_(PeerName(stream_.socket())),
      api_(context) {}

HttpSession::~HttpSession() = default;

void HttpSession::Start() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Begin(); });
}

void HttpSession::Close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->DoClose(); });
}

void HttpSession::Begin() {
  if (!registry_->Add(shared_from_this())) {  // the server is stopping
    DoClose();
    return;
  }
  boost::system::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
  WaitForRequest();
}

void HttpSession::WaitForRequest() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(context_.options.max_header_bytes);
  parser_->body_limit(context_.options.max_body_bytes);
  if (buffer_.size() > 0) {  // a pipelined request is already here
    ReadRequest();
    return;
  }
  // Wait for the first byte under the idle timeout; the request timeout starts with it.
  stream_.expires_after(first_request_ ? kFirstRequestTimeout : kKeepAliveIdleTimeout);
  stream_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        if (self->closed_) return;
        if (error) {  // the client went away, or stayed idle too long: nothing to answer
          self->DoClose();
          return;
        }
        self->buffer_.commit(bytes);
        self->ReadRequest();
      });
}

void HttpSession::ReadRequest() {
  stream_.expires_after(kRequestTimeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](const boost::system::error_code& error, size_t) {
        if (self->closed_) return;
        if (error) {  // a header over the limit, a declared body over it, garbage, a timeout
          self->OnRead(error);
          return;
        }
        self->ReadBody();
      });
}

void HttpSession::ReadBody() {
  // curl and other clients send "Expect: 100-continue" before a body (curl: over 1 KiB) and
  // wait up to a second for this interim answer before sending it anyway.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && !parser_->is_done()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                        if (self->closed_) return;
                        if (error) {
                          self->DoClose();
                          return;
                        }
                        self->ReadRest();
                      });
    return;
  }
  ReadRest();
}

void HttpSession::ReadRest() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                     self->OnRead(error);
                   });
}

void HttpSession::OnRead(const boost::system::error_code& error) {
  if (closed_) return;
  first_request_ = false;
  if (error == http::error::header_limit) {
    Refuse(http::status::request_header_fields_too_large, mled::v1::RESOURCE_EXHAUSTED,
           absl::StrCat("request headers exceed ", context_.options.max_header_bytes,
                        " bytes (max_http_header_bytes)"));
    return;
  }
  if (error == http::error::body_limit) {
    Refuse(http::status::payload_too_large, mled::v1::FRAME_TOO_LARGE,
           absl::StrCat("request body exceeds ", context_.options.max_body_bytes,
                        " bytes (max_http_body_bytes); split it into several requests"));
    return;
  }
  if (error == beast::error::timeout) {
    context_.client_errors->Log(absl::StrCat("http ", peer_, ": closed: a request did not arrive "
                                             "within 30 s of its first byte"));
    DoClose();
    return;
  }
  if (error && error.category() == http::make_error_code(http::error::bad_target).category() &&
      error != http::error::end_of_stream && error != http::error::partial_message) {
    Refuse(http::status::bad_request, mled::v1::MALFORMED_FRAME,
           absl::StrCat("malformed HTTP request: ", error.message()));
    return;
  }
  if (error) {  // end of stream, a reset, or Stop(): nothing to answer
    DoClose();
    return;
  }
  context_.counters->http_requests.fetch_add(1, std::memory_order_relaxed);
  const HttpRequest& request = parser_->get();
  HttpAnswer answer = api_.Handle(request);
  if (answer.events.has_value()) {
    BecomeEventStream(*std::move(answer.events));
    return;
  }
  if (!answer.client_error.empty()) {
    context_.client_errors->Log(absl::StrCat("http ", peer_, ": ",
                                             absl::string_view(request.method_string().data(), request.method_string().size()), " ",
                                             absl::string_view(request.target().data(), request.target().size()), ": ",
                                             answer.response.result_int(), " ",
                                             answer.client_error));
  }
  const bool keep_alive = request.keep_alive();
  answer.response.keep_alive(keep_alive);
  Send(std::move(answer.response), !keep_alive);
}

void HttpSession::Refuse(http::status status, mled::v1::Code code, absl::string_view message) {
  context_.counters->http_requests.fetch_add(1, std::memory_order_relaxed);
  context_.client_errors->Log(
      absl::StrCat("http ", peer_, ": ", static_cast<unsigned>(status), " ", message));
  // The parser's state is unknown after an error, so the connection cannot carry another request.
  const unsigned version = parser_->get().version() == 10 ? 10 : 11;
  HttpResponse response = HttpApi::ErrorResponse(status, code, message, version);
  response.keep_alive(false);
  Send(std::move(response), /*close_after=*/true);
}

void HttpSession::Send(HttpResponse response, bool close_after) {
  if (response.result_int() >= 400) {
    context_.counters->http_errors.fetch_add(1, std::memory_order_relaxed);
  }
  response_ = std::move(response);
  stream_.expires_after(kWriteTimeout);
  http::async_write(stream_, response_,
                    [self = shared_from_this(), close_after](const boost::system::error_code& error,
                                                             size_t) {
                      self->OnWrite(error, close_after);
                    });
}

void HttpSession::OnWrite(const boost::system::error_code& error, bool close_after) {
  response_ = {};  // release the body
  if (closed_) return;
  if (error) {
    DoClose();
    return;
  }
  if (close_after) {
    LingerThenClose();
    return;
  }
  WaitForRequest();
}

void HttpSession::BecomeEventStream(EventStreamRequest request) {
  stream_.expires_never();
  // The event stream takes the socket and the connection's slot; this session is done.
  closed_ = true;
  registry_->Remove(this);
  auto events = std::make_shared<EventStream>(stream_.release_socket(), context_, registry_,
                                              std::move(slot_), std::move(request), peer_);
  events->Start();
}

void HttpSession::LingerThenClose() {
  // Half-close, then read what the client still sends (e.g. the rest of a body we refused):
  // closing with unread data would reset the connection and could destroy the response in
  // flight before the client reads it.
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTimeout);
  buffer_.clear();
  Drain();
}

void HttpSession::Drain() {
  stream_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        if (self->closed_) return;
        self->buffer_.consume(self->buffer_.size());
        if (error || bytes == 0) {
          self->DoClose();
          return;
        }
        self->drained_ += bytes;
        if (self->drained_ > kMaxDrainBytes) {
          self->DoClose();
          return;
        }
        self->Drain();
      });
}

void HttpSession::DoClose() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  registry_->Remove(this);
  slot_.Release();
}

}  // namespace mled::daemon
