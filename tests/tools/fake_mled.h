// A stand-in for mled in tests of mlectl: a TCP server on 127.0.0.1 (port chosen by the OS)
// that answers each ClientMessage it receives with whatever `respond` returns.
//
//   FakeMled mled([](const mled::v1::ClientMessage& request) {
//     return FakeMled::Reply{...};   // messages to send back; nullopt closes the connection
//   });
//   Client::Connect(mled.address(), ...);
//
// Each connection is served on its own thread with blocking I/O, so `respond` must be
// thread-safe when clients connect more than once. A frame that is not a ClientMessage gets an
// `Error` (MALFORMED_FRAME), as from the real daemon.
#ifndef MLED_TESTS_TOOLS_FAKE_MLED_H_
#define MLED_TESTS_TOOLS_FAKE_MLED_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "mled/v1/wire.pb.h"

namespace mled::testing {

class FakeMled {
 public:
  // The messages to send back for one request; nullopt closes the connection instead.
  using Reply = std::optional<std::vector<mled::v1::ServerMessage>>;
  using Respond = std::function<Reply(const mled::v1::ClientMessage&)>;

  // `byte_by_byte`: write replies one byte per write, to exercise the client's reassembly.
  explicit FakeMled(Respond respond, bool byte_by_byte = false);
  // Stops accepting and waits for every connection to end (their clients must close them).
  ~FakeMled();

  FakeMled(const FakeMled&) = delete;
  FakeMled& operator=(const FakeMled&) = delete;

  // "127.0.0.1:PORT"
  std::string address() const;
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop();
  void Serve(boost::asio::ip::tcp::socket socket);

  Respond respond_;
  bool byte_by_byte_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::vector<std::thread> sessions_;  // touched by the accept thread only, until it is joined
};

// A port on 127.0.0.1 with nothing listening (bound, then released).
unsigned short UnusedPort();

}  // namespace mled::testing

#endif  // MLED_TESTS_TOOLS_FAKE_MLED_H_
