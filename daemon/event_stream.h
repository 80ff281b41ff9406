// One Server-Sent Events client of GET /v1/events: a connection that receives estimates (and,
// if asked, anomalies) as they are published, formatted for the browser's EventSource.
//
// What the client reads, after the response head (text/event-stream, no Content-Length: the
// body ends when the connection does):
//
//   retry: 2000                                  reconnect after 2 s if the connection drops
//
//   event: estimates                             at once: the current matching streams
//   data: {"time_unix_nano":"...","estimates":[...],"query_id":"0"}
//
//   event: estimates                             then every interval in which some changed
//   data: {...}
//
//   event: anomaly                               with anomalies=1, as each anomaly happens
//   data: {"stream":"...","score":...}
//
//   : keep-alive                                 a comment every 15 s, so proxies and the
//                                                client see a live connection
//
// Data lines are the API's JSON (HttpApi::ToJson) of Estimates and Anomaly, on one line.
//
// Back-pressure follows TcpSession: one estimates update waits while the previous write is in
// flight; a newer update is merged into it (latest estimate of each stream wins, counted in
// `updates_coalesced`). Anomalies and keep-alives queue behind. When the queued bytes exceed
// HttpOptions::max_write_bytes (the pending update counted as the JSON it will be sent as), or
// one write has not completed for 60 s, the client is disconnected as too slow
// (`slow_clients_disconnected`); the publisher and other clients never wait for it.
//
// Lifetime as in Asio's examples: owned by shared_ptrs in its pending operations (the publisher
// holds only a weak_ptr). Every handler runs on the socket's strand; other threads reach it
// through DeliverUpdate, DeliverAnomaly and Close, which post to it.
#ifndef MLED_DAEMON_EVENT_STREAM_H_
#define MLED_DAEMON_EVENT_STREAM_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "daemon/http_api.h"
#include "daemon/http_connection.h"
#include "daemon/http_server.h"
#include "daemon/publisher.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

class EventStream final : public UpdateSink,
                          public HttpConnection,
                          public std::enable_shared_from_this<EventStream> {
 public:
  // `socket` (with a strand executor) has just carried the GET /v1/events request; `slot` is
  // its place in http_connections_current; `peer` names the client in log lines. `context` and
  // `registry` must outlive the stream.
  EventStream(boost::asio::ip::tcp::socket socket, const HttpContext& context,
              HttpConnectionRegistry* registry, HttpConnectionSlot slot,
              EventStreamRequest request, std::string peer);
  ~EventStream() override;

  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Registers with the registry and the publisher, then sends the response head and the
  // snapshot. Call once; any thread.
  void Start();
  // HttpConnection: closes at once. Any thread.
  void Close() override;
  // UpdateSink; any thread.
  void DeliverUpdate(uint32_t subscription_id, mled::v1::Estimates update) override;
  void DeliverAnomaly(const mled::v1::Anomaly& anomaly) override;

 private:
  void Begin();
  void QueueEvent(absl::string_view event, const google::protobuf::Message& message);
  void MergeUpdate(mled::v1::Estimates update);
  size_t QueuedBytes() const;
  void CheckWriteBound();
  void StartWrite();
  void OnWrite(const boost::system::error_code& error);
  void DoRead();
  void ArmKeepAlive();
  void OnKeepAlive();
  void Disconnect(absl::string_view why);
  void DoClose();

  boost::asio::ip::tcp::socket socket_;
  const HttpContext& context_;
  HttpConnectionRegistry* registry_;
  HttpConnectionSlot slot_;
  const EventStreamRequest request_;
  const std::string peer_;
  boost::asio::steady_timer keep_alive_;

  std::array<char, 512> discard_;  // what the client sends after its request is read and dropped
  std::string out_;                // formatted events not yet being written
  std::string writing_;            // the bytes of the write in flight
  mled::v1::Estimates pending_;    // the update waiting for the write in flight; none when empty
  absl::flat_hash_map<std::string, int> position_;  // stream -> index in pending_
  std::string pending_json_;                        // pending_ as the API's JSON
  // Bytes of the response head and snapshot not yet written (0 once the first write is done).
  size_t snapshot_bytes_ = 0;
  std::chrono::steady_clock::time_point write_started_;

  bool subscribed_ = false;
  bool writing_active_ = false;
  bool closed_ = false;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_EVENT_STREAM_H_
