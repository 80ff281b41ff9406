// One TCP connection: reads frames, ingests, subscribes and queries; writes acks, answers and
// subscription updates.
//
// Lifetime follows Asio's examples: the session is owned by shared_ptrs held by its pending
// operations, so it lives exactly as long as it has work. Every handler runs on the socket's
// strand; other threads reach the session only through `DeliverUpdate` and `Shutdown`, which
// post to it.
//
// Buffers and back-pressure: acks and answers queue in `out_` in order. While more than
// kReadPauseBytes of them are unsent, reading pauses, so a producer that does not read its acks
// is slowed by TCP rather than buffered without bound. Subscription updates wait in one slot per
// subscription: an update that arrives while the previous one is unsent is merged into it, the
// newer estimate of a stream replacing the older (counted as coalesced), so a slow subscriber
// still gets the latest state of every stream that changed. If the queued bytes still pass
// `max_session_write_bytes`, the client is too slow and is disconnected; ingest and other
// connections never wait for it.
#ifndef MLED_DAEMON_TCP_SESSION_H_
#define MLED_DAEMON_TCP_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "absl/container/flat_hash_map.h"
#include "daemon/daemon_counters.h"
#include "daemon/log.h"
#include "daemon/publisher.h"
#include "daemon/request_handler.h"
#include "lib/engine/ingest_applier.h"
#include "lib/wire/decoding.h"
#include "lib/wire/framing.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

struct SessionOptions {
  uint64_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  uint64_t max_write_bytes = 64u << 20;
  uint32_t max_subscriptions = 64;
};

// What sessions share; owned by the server, outlives every session.
struct SessionContext {
  engine::StreamTable* table;
  RequestHandler* handler;
  Publisher* publisher;
  DaemonCounters* counters;
  RateLimitedLog* client_errors;
  SessionOptions options;
  // Called once, on the session's strand, when it closes.
  std::function<void(class TcpSession*)> on_close;
};

class TcpSession final : public UpdateSink, public std::enable_shared_from_this<TcpSession> {
 public:
  // `socket` must use a strand executor.
  TcpSession(boost::asio::ip::tcp::socket socket, const SessionContext& context);
  ~TcpSession() override;

  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  void Start();
  // Stops reading, sends what is queued, then closes. Any thread.
  void Shutdown();
  // UpdateSink; any thread.
  void DeliverUpdate(uint32_t subscription_id, mled::v1::Estimates update) override;
  // Queued behind the acks and answers already queued, and sent at once; not coalesced (each
  // is an event), but bounded like them by max_session_write_bytes.
  void DeliverAnomaly(const mled::v1::Anomaly& anomaly) override;

 private:
  struct PendingUpdate {
    uint32_t subscription_id;
    mled::v1::ServerMessage message;  // Estimates waiting to be sent; none when empty
    absl::flat_hash_map<std::string, int> position;  // stream -> index in message's estimates
    size_t bytes = 0;                                // serialized size of `message`
  };
  void MergeUpdate(PendingUpdate& pending, mled::v1::Estimates update);

  void DoRead();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  void HandleFrame(std::string_view frame);
  void HandleSubscribe(const mled::v1::Subscribe& subscribe);
  void QueueMessage(const mled::v1::ServerMessage& message);
  void QueueError(mled::v1::Code code, absl::string_view message);
  void StartWrite();
  void OnWrite(const boost::system::error_code& error);
  size_t QueuedBytes() const;
  void CheckWriteBound();
  void CloseWhenFlushed();
  void Close();

  boost::asio::ip::tcp::socket socket_;
  const SessionContext& context_;
  std::string peer_;

  wire::FrameDecoder decoder_;
  wire::ClientMessageDecoder message_decoder_;
  engine::IngestApplier applier_;
  mled::v1::ServerMessage ack_reply_;  // only ever holds an Ack, so its memory is reused

  std::string out_;        // framed acks and answers not yet being written
  std::string writing_;    // the bytes of the write in flight
  std::vector<PendingUpdate> updates_;
  size_t pending_update_bytes_ = 0;
  uint32_t next_subscription_id_ = 0;

  bool reading_ = false;
  bool read_paused_ = false;
  bool writing_active_ = false;
  bool close_when_flushed_ = false;
  bool closed_ = false;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_TCP_SESSION_H_
