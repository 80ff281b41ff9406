#include "tools/mlectl/client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/connect.hpp"
#include "boost/asio/error.hpp"
#include "boost/asio/write.hpp"
#include "lib/base/host_port.h"

namespace mled::mlectl {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Answers can be large (a query of many wide streams); the decoder's buffer grows with the bytes
// that actually arrive, so a generous limit costs nothing until it is used.
constexpr uint64_t kMaxAnswerBytes = uint64_t{1} << 30;
constexpr size_t kReadBytes = 64 * 1024;
constexpr absl::string_view kStartHint = "(is mled running? start it with scripts/run)";

}  // namespace

absl::Time DeadlineAfter(absl::Duration timeout) {
  return timeout == absl::ZeroDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
}

Client::Client(absl::string_view address) : address_(address), decoder_(kMaxAnswerBytes) {}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(absl::string_view address,
                                                        absl::Duration timeout) {
  std::unique_ptr<Client> client(new Client(address));
  absl::Status status = client->ConnectWithin(timeout);
  if (!status.ok()) return status;
  return client;
}

absl::Status Client::ConnectWithin(absl::Duration timeout) {
  absl::StatusOr<HostPort> host_port = ParseHostPort(address_);
  if (!host_port.ok()) return host_port.status();
  const absl::Time deadline = DeadlineAfter(timeout);

  tcp::resolver resolver(io_);
  tcp::resolver::results_type endpoints;
  boost::system::error_code error;
  bool done = false;
  resolver.async_resolve(host_port->host, std::to_string(host_port->port),
                         [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                           error = e;
                           endpoints = std::move(r);
                           done = true;
                         });
  absl::Status waited = RunUntil(done, deadline);
  if (!waited.ok() && waited.code() != absl::StatusCode::kDeadlineExceeded) return waited;
  if (!waited.ok() || error) {
    return absl::UnavailableError(absl::StrCat("cannot resolve \"", host_port->host,
                                               "\" (from --addr=", address_,
                                               "): ", waited.ok() ? error.message() : "timed out"));
  }

  done = false;
  asio::async_connect(socket_, endpoints,
                      [&](const boost::system::error_code& e, const tcp::endpoint&) {
                        error = e;
                        done = true;
                      });
  waited = RunUntil(done, deadline);
  if (!waited.ok() && waited.code() != absl::StatusCode::kDeadlineExceeded) return waited;
  if (!waited.ok() || error) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", address_, ": ",
                     waited.ok() ? error.message()
                                 : absl::StrCat("no answer within ", absl::FormatDuration(timeout)),
                     " ", kStartHint));
  }
  // Small requests and acks should not wait for Nagle's algorithm.
  socket_.set_option(tcp::no_delay(true), error);
  return absl::OkStatus();
}

absl::Status Client::RunUntil(const bool& done, absl::Time deadline) {
  if (io_.stopped()) io_.restart();
  while (!done && !cancelled_) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    io_.run_one_for(absl::ToChronoNanoseconds(std::min(left, absl::Hours(1))));
    if (io_.stopped()) io_.restart();
  }
  if (done) return absl::OkStatus();
  // Cut short: cancel, and let the handler run (with operation_aborted, or with its result if it
  // completed meanwhile) so nothing refers to the caller's variables afterwards.
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  while (!done) {
    io_.run_one();
    if (io_.stopped()) io_.restart();
  }
  if (cancelled_) return absl::CancelledError("interrupted");
  return absl::DeadlineExceededError("timed out");
}

absl::Status Client::IoError(const boost::system::error_code& error, absl::string_view what) const {
  if (error == asio::error::eof || error == asio::error::connection_reset ||
      error == asio::error::broken_pipe) {
    return absl::UnavailableError(
        absl::StrCat("mled at ", address_, " closed the connection (", error.message(), ")"));
  }
  return absl::UnavailableError(absl::StrCat(what, " ", address_, ": ", error.message()));
}

absl::Status Client::Send(const mled::v1::ClientMessage& message, absl::Time deadline) {
  send_buffer_.clear();
  wire::AppendFrame(message, &send_buffer_);
  const absl::string_view bytes = send_buffer_;
  return SendBytes(absl::MakeConstSpan(&bytes, 1), deadline);
}

absl::Status Client::SendBytes(absl::Span<const absl::string_view> pieces, absl::Time deadline) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(pieces.size());
  for (absl::string_view piece : pieces)
    buffers.push_back(asio::buffer(piece.data(), piece.size()));
  boost::system::error_code error;
  bool done = false;
  asio::async_write(socket_, buffers, [&](const boost::system::error_code& e, size_t) {
    error = e;
    done = true;
  });
  absl::Status waited = RunUntil(done, deadline);
  if (!waited.ok()) {
    return waited.code() == absl::StatusCode::kDeadlineExceeded
               ? absl::DeadlineExceededError(
                     absl::StrCat("mled at ", address_, " did not take our data in time"))
               : waited;
  }
  return error ? IoError(error, "cannot send to") : absl::OkStatus();
}

absl::Status Client::Receive(absl::Time deadline, mled::v1::ServerMessage* message) {
  while (true) {
    const wire::FrameDecoder::Next next = decoder_.NextFrame();
    switch (next.status) {
      case wire::FrameDecoder::Status::kFrame:
        if (!message->ParseFromArray(next.frame.data(), static_cast<int>(next.frame.size()))) {
          return absl::DataLossError(absl::StrCat(
              "mled at ", address_, " sent a frame that is not a mled.v1.ServerMessage"));
        }
        if (message->has_error()) {
          return absl::FailedPreconditionError(
              absl::StrCat("mled answered ", mled::v1::Code_Name(message->error().code()), ": ",
                           message->error().message()));
        }
        return absl::OkStatus();
      case wire::FrameDecoder::Status::kTooLarge:
        return absl::DataLossError(absl::StrFormat("mled at %s announced a frame of %d bytes",
                                                   address_, next.announced_length));
      case wire::FrameDecoder::Status::kCorruptLength:
        return absl::DataLossError(
            absl::StrCat("mled at ", address_, " sent a corrupt frame length"));
      case wire::FrameDecoder::Status::kNeedMore:
        break;
    }
    // Once the daemon has closed the connection, every later read fails the same way at once.
    if (!closed_.ok()) return closed_;
    const absl::Span<char> space = decoder_.PrepareAppend(kReadBytes);
    boost::system::error_code error;
    size_t received = 0;
    bool done = false;
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [&](const boost::system::error_code& e, size_t n) {
                              error = e;
                              received = n;
                              done = true;
                            });
    absl::Status waited = RunUntil(done, deadline);
    decoder_.CommitAppend(received);
    if (!waited.ok() && received == 0) return waited;
    if (error && received == 0) {
      closed_ = IoError(error, "cannot read from");
      return closed_;
    }
  }
}

absl::StatusOr<mled::v1::ServerMessage> Client::Receive(absl::Time deadline) {
  mled::v1::ServerMessage message;
  absl::Status status = Receive(deadline, &message);
  if (!status.ok()) return status;
  return message;
}

absl::StatusOr<mled::v1::ServerMessage> Client::Call(
    const mled::v1::ClientMessage& request,
    absl::FunctionRef<bool(const mled::v1::ServerMessage&)> is_answer, absl::string_view what,
    absl::Duration timeout) {
  const absl::Time deadline = DeadlineAfter(timeout);
  absl::Status status = Send(request, deadline);
  if (!status.ok()) return status;
  mled::v1::ServerMessage message;
  while (true) {
    status = Receive(deadline, &message);
    if (status.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(absl::StrCat("no ", what, " from mled at ", address_,
                                                      " within ", absl::FormatDuration(timeout)));
    }
    if (!status.ok()) return status;
    if (is_answer(message)) return message;
  }
}

void Client::CancelOnSignals(std::initializer_list<int> signals) {
  signals_.emplace(io_);
  for (int signal : signals) signals_->add(signal);
  signals_->async_wait([this](const boost::system::error_code& error, int) {
    if (!error) cancelled_ = true;
  });
}

}  // namespace mled::mlectl
