// A blocking TCP connection to mled: ClientMessage frames out, ServerMessage frames in, and every
// wait bounded by a deadline.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Client> client,
//                    Client::Connect("127.0.0.1:7070", absl::Seconds(5)));
//   RETURN_IF_ERROR(client->Send(request, absl::Now() + absl::Seconds(5)));
//   ASSIGN_OR_RETURN(mled::v1::ServerMessage reply,
//                    client->Receive(absl::Now() + absl::Seconds(5)));
//
// Each call starts one Asio operation and runs the client's own io_context until it completes or
// the deadline passes, then cancels it (the pattern of Asio's blocking_tcp_client example), so a
// call never blocks past its deadline. This is the one place mlectl turns error_codes into
// absl::Status:
//   UNAVAILABLE          cannot connect, or the daemon closed the connection
//   DEADLINE_EXCEEDED    the deadline passed (after a timed-out Send the stream may end in a
//                        partial frame: close the client)
//   CANCELLED            a signal named in CancelOnSignals arrived
//   DATA_LOSS            the daemon sent bytes that are not frames of ServerMessages
//   FAILED_PRECONDITION  the daemon answered with an `Error` (it could not decode our frame)
//
// Not thread-safe: use a client from one thread at a time (bench runs one per thread).
#ifndef MLED_TOOLS_MLECTL_CLIENT_H_
#define MLED_TOOLS_MLECTL_CLIENT_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/signal_set.hpp"
#include "lib/wire/framing.h"
#include "mled/v1/wire.pb.h"

namespace mled::mlectl {

class Client {
 public:
  // Resolves `address` ("HOST:PORT", lib/base/host_port.h) and connects within `timeout` (0: no limit).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(absl::string_view address,
                                                         absl::Duration timeout);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Frames and writes one message.
  absl::Status Send(const mled::v1::ClientMessage& message, absl::Time deadline);
  // Writes already framed bytes, the concatenation of `pieces`, in one gathered write.
  absl::Status SendBytes(absl::Span<const absl::string_view> pieces, absl::Time deadline);

  // Reads the next message into `message` (reused, so a loop does not allocate per message). An
  // `Error` from the daemon is returned as FAILED_PRECONDITION, never as a message.
  absl::Status Receive(absl::Time deadline, mled::v1::ServerMessage* message);
  absl::StatusOr<mled::v1::ServerMessage> Receive(absl::Time deadline);

  // Sends `request`, then returns the first message for which `is_answer` holds, skipping any
  // other (a subscription's updates, say); DEADLINE_EXCEEDED, naming `what`, if none arrives
  // within `timeout` (0: no limit).
  absl::StatusOr<mled::v1::ServerMessage> Call(
      const mled::v1::ClientMessage& request,
      absl::FunctionRef<bool(const mled::v1::ServerMessage&)> is_answer, absl::string_view what,
      absl::Duration timeout);

  // From the moment any of `signals` arrives, every wait returns CANCELLED. This installs
  // handlers, so those signals no longer end the process; call it once.
  void CancelOnSignals(std::initializer_list<int> signals);

  // "HOST:PORT" as given to Connect.
  const std::string& address() const { return address_; }

 private:
  explicit Client(absl::string_view address);

  absl::Status ConnectWithin(absl::Duration timeout);
  // Runs io_ until `done`, or until the deadline passes or a signal arrives; then cancels what
  // is pending and waits for its handler, so on return `done` is always true. Returns
  // DEADLINE_EXCEEDED or CANCELLED when the operation was cut short, OK otherwise.
  absl::Status RunUntil(const bool& done, absl::Time deadline);
  // The status for an I/O error during `what` ("sending to mled", ...).
  absl::Status IoError(const boost::system::error_code& error, absl::string_view what) const;

  std::string address_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::socket socket_{io_};
  std::optional<boost::asio::signal_set> signals_;
  bool cancelled_ = false;
  wire::FrameDecoder decoder_;
  std::string send_buffer_;  // reused by Send
  absl::Status closed_;      // why reading ended for good (the daemon closed), once it has
};

// "deadline `timeout` from now", with 0 meaning no deadline.
absl::Time DeadlineAfter(absl::Duration timeout);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_CLIENT_H_
