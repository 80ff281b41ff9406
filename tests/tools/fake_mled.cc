#include "tests/tools/fake_mled.h"

#include <utility>

#include "boost/asio/buffer.hpp"
#include "boost/asio/write.hpp"
#include "lib/wire/framing.h"

namespace mled::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

FakeMled::FakeMled(Respond respond, bool byte_by_byte)
    : respond_(std::move(respond)),
      byte_by_byte_(byte_by_byte),
      acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeMled::~FakeMled() {
  stopping_ = true;
  // Wake the blocking accept with a connection of our own.
  boost::system::error_code ignored;
  tcp::socket waker(io_);
  waker.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ignored);
  accept_thread_.join();
  waker.close(ignored);
  for (std::thread& session : sessions_) session.join();
}

std::string FakeMled::address() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeMled::AcceptLoop() {
  while (true) {
    tcp::socket socket(io_);
    boost::system::error_code error;
    acceptor_.accept(socket, error);
    if (error || stopping_) return;
    ++connections_;
    sessions_.emplace_back([this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
  }
}

void FakeMled::Serve(tcp::socket socket) {
  wire::FrameDecoder decoder;
  mled::v1::ClientMessage request;
  std::string out;
  boost::system::error_code error;
  while (true) {
    const absl::Span<char> space = decoder.PrepareAppend(64 * 1024);
    const size_t n = socket.read_some(asio::buffer(space.data(), space.size()), error);
    if (error) return;
    decoder.CommitAppend(n);
    out.clear();
    for (auto next = decoder.NextFrame(); next.status == wire::FrameDecoder::Status::kFrame;
         next = decoder.NextFrame()) {
      Reply reply;
      if (request.ParseFromArray(next.frame.data(), static_cast<int>(next.frame.size()))) {
        reply = respond_(request);
      } else {
        mled::v1::ServerMessage message;
        message.mutable_error()->set_code(mled::v1::MALFORMED_FRAME);
        message.mutable_error()->set_message("not a ClientMessage");
        reply.emplace({message});
      }
      if (!reply) return;  // closes the connection
      for (const mled::v1::ServerMessage& message : *reply) wire::AppendFrame(message, &out);
    }
    if (byte_by_byte_) {
      for (char byte : out) asio::write(socket, asio::buffer(&byte, 1), error);
    } else {
      asio::write(socket, asio::buffer(out), error);
    }
    if (error) return;
  }
}

unsigned short UnusedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace mled::testing
