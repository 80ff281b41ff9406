#include "daemon/event_stream.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "lib/engine/stream_matcher.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

namespace {

constexpr auto kKeepAliveInterval = std::chrono::seconds(15);
// A write that has not completed in this long means the client stopped reading.
constexpr auto kStalledWrite = std::chrono::seconds(60);
// Subscription id of the stream's one subscription with the publisher.
constexpr uint32_t kSubscriptionId = 1;

// No Content-Length and no chunking: the event stream is the rest of the connection.
constexpr absl::string_view kResponseHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: mled\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    // Tells nginx-style reverse proxies not to buffer the stream.
    "X-Accel-Buffering: no\r\n"
    "\r\n"
    "retry: 2000\n\n";

}  // namespace

EventStream::EventStream(tcp::socket socket, const HttpContext& context,
                         HttpConnectionRegistry* registry, HttpConnectionSlot slot,
                         EventStreamRequest request, std::string peer)
    : socket_(std::move(socket)),
      context_(context),
      registry_(registry),
      slot_(std::move(slot)),
      request_(std::move(request)),
      peer_(std::move(peer)),
      keep_alive_(socket_.get_executor()) {}

EventStream::~EventStream() = default;

void EventStream::Start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Begin(); });
}

void EventStream::Close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->DoClose(); });
}

void EventStream::Begin() {
  if (!registry_->Add(shared_from_this())) {  // the server is stopping
    DoClose();
    return;
  }
  const engine::StreamMatcher matcher(request_.patterns);
  subscribed_ = true;
  context_.counters->sse_clients_current.fetch_add(1, std::memory_order_relaxed);
  // Subscribe before the snapshot, so no change falls between the two; a change that lands in
  // both is sent twice, which is harmless (each event carries the latest state).
  context_.publisher->Add(weak_from_this(), kSubscriptionId, matcher,
                          absl::Milliseconds(request_.interval_ms), request_.anomalies);
  out_.append(kResponseHead.data(), kResponseHead.size());
  mled::v1::Estimates snapshot;
  snapshot.set_time_unix_nano(context_.handler->clock().NowUnixNanos());
  context_.table->Query(matcher, context_.table->limits().max_query_streams,
                        snapshot.mutable_estimates());
  QueueEvent("estimates", snapshot);
  // The snapshot may be large (max_query_streams estimates): it is sent once and does not count
  // against the write bound, which is for updates piling up behind a client that does not read.
  snapshot_bytes_ = out_.size();
  ArmKeepAlive();
  DoRead();
  StartWrite();
}

void EventStream::DeliverUpdate(uint32_t, mled::v1::Estimates update) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), update = std::move(update)]() mutable {
               if (self->closed_) return;
               self->MergeUpdate(std::move(update));
               self->CheckWriteBound();
               self->StartWrite();
             });
}

void EventStream::DeliverAnomaly(const mled::v1::Anomaly& anomaly) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), anomaly] {
    if (self->closed_) return;
    self->QueueEvent("anomaly", anomaly);
    self->CheckWriteBound();
    self->StartWrite();
  });
}

void EventStream::QueueEvent(absl::string_view event, const google::protobuf::Message& message) {
  absl::StrAppend(&out_, "event: ", event, "\ndata: ", HttpApi::ToJson(message), "\n\n");
}

void EventStream::MergeUpdate(mled::v1::Estimates update) {
  if (pending_.estimates_size() == 0) {
    pending_.Swap(&update);
    for (int i = 0; i < pending_.estimates_size(); ++i) position_[pending_.estimates(i).stream()] = i;
  } else {
    // The previous update was never sent: keep it, with each stream's newer estimate.
    context_.counters->updates_coalesced.fetch_add(1, std::memory_order_relaxed);
    pending_.set_time_unix_nano(update.time_unix_nano());
    for (mled::v1::Estimate& estimate : *update.mutable_estimates()) {
      auto [it, inserted] = position_.try_emplace(estimate.stream(), pending_.estimates_size());
      if (inserted) {
        pending_.add_estimates()->Swap(&estimate);
      } else {
        pending_.mutable_estimates(it->second)->Swap(&estimate);
      }
    }
  }
  // Rendered now rather than when written: the bound counts the bytes the client will get, and
  // an update that is not coalesced is rendered once either way.
  pending_json_ = HttpApi::ToJson(pending_);
}

size_t EventStream::QueuedBytes() const {
  return out_.size() + writing_.size() + pending_json_.size() - snapshot_bytes_;
}

void EventStream::CheckWriteBound() {
  if (closed_ || QueuedBytes() <= context_.options.max_write_bytes) return;
  Disconnect(absl::StrCat(QueuedBytes(), " bytes queued exceed max_session_write_bytes (",
                          context_.options.max_write_bytes,
                          "); the client does not read fast enough"));
}

void EventStream::StartWrite() {
  if (writing_active_ || closed_) return;
  if (out_.empty() && pending_.estimates_size() == 0) return;
  writing_.clear();
  writing_.swap(out_);  // out_ keeps the old buffer's capacity for the next events
  if (pending_.estimates_size() != 0) {
    absl::StrAppend(&writing_, "event: estimates\ndata: ", pending_json_, "\n\n");
    pending_.Clear();
    position_.clear();
    pending_json_.clear();
  }
  writing_active_ = true;
  write_started_ = std::chrono::steady_clock::now();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                      self->OnWrite(error);
                    });
}

void EventStream::OnWrite(const boost::system::error_code& error) {
  writing_active_ = false;
  writing_.clear();
  snapshot_bytes_ = 0;  // the first write carried the snapshot
  if (closed_) return;
  if (error) {
    DoClose();
    return;
  }
  StartWrite();
}

void EventStream::DoRead() {
  // The client has nothing more to say; reading shows when it goes away (EOF or reset), which
  // a write might not for a long while if no events are due.
  socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](
                                                      const boost::system::error_code& error,
                                                      size_t) {
    if (self->closed_) return;
    if (error) {
      self->DoClose();
      return;
    }
    self->DoRead();
  });
}

void EventStream::ArmKeepAlive() {
  keep_alive_.expires_after(kKeepAliveInterval);
  keep_alive_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->closed_) return;
    self->OnKeepAlive();
  });
}

void EventStream::OnKeepAlive() {
  if (writing_active_ && std::chrono::steady_clock::now() - write_started_ > kStalledWrite) {
    Disconnect("one write has not completed for 60 s; the client does not read");
    return;
  }
  out_.append(": keep-alive\n\n");
  CheckWriteBound();
  StartWrite();
  if (!closed_) ArmKeepAlive();
}

void EventStream::Disconnect(absl::string_view why) {
  context_.counters->slow_clients_disconnected.fetch_add(1, std::memory_order_relaxed);
  context_.client_errors->Log(absl::StrCat("http ", peer_, ": event stream disconnected: ", why));
  DoClose();
}

void EventStream::DoClose() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  keep_alive_.cancel();
  if (subscribed_) {
    context_.publisher->RemoveAll(this);
    context_.counters->sse_clients_current.fetch_sub(1, std::memory_order_relaxed);
    subscribed_ = false;
  }
  registry_->Remove(this);
  slot_.Release();
}

}  // namespace mled::daemon
