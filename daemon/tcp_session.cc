#include "daemon/tcp_session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "daemon/tcp_listen.h"

namespace mled::daemon {

namespace asio = boost::asio;
using boost::asio::ip::tcp;

namespace {

// Bytes read per system call; large reads keep the per-byte cost of big batches low.
constexpr size_t kReadChunkBytes = 256 * 1024;
// Unsent acks and answers beyond which reading pauses until the client catches up.
constexpr size_t kReadPauseBytes = 4u << 20;


}  // namespace

TcpSession::TcpSession(tcp::socket socket, const SessionContext& context)
    : socket_(std::move(socket)),
      context_(context),
      peer_(PeerName(socket_)),
      decoder_(context.options.max_frame_bytes),
      applier_(context.table) {}

TcpSession::~TcpSession() = default;

void TcpSession::Start() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
}

void TcpSession::Shutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseWhenFlushed(); });
}

void TcpSession::DoRead() {
  if (reading_ || closed_ || close_when_flushed_) return;
  if (out_.size() > kReadPauseBytes) {
    read_paused_ = true;
    return;
  }
  reading_ = true;
  const absl::Span<char> space = decoder_.PrepareAppend(kReadChunkBytes);
  socket_.async_read_some(asio::buffer(space.data(), space.size()),
                          [self = shared_from_this()](const boost::system::error_code& error,
                                                      size_t bytes) { self->OnRead(error, bytes); });
}

void TcpSession::OnRead(const boost::system::error_code& error, size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (error) {
    if (error == asio::error::eof) {
      CloseWhenFlushed();  // the client finished sending; deliver its acks, then close
    } else {
      Close();
    }
    return;
  }
  decoder_.CommitAppend(bytes);
  context_.counters->bytes_received.fetch_add(bytes, std::memory_order_relaxed);
  while (!closed_ && !close_when_flushed_) {
    const wire::FrameDecoder::Next next = decoder_.NextFrame();
    switch (next.status) {
      case wire::FrameDecoder::Status::kFrame:
        context_.counters->frames_received.fetch_add(1, std::memory_order_relaxed);
        HandleFrame(next.frame);
        continue;
      case wire::FrameDecoder::Status::kNeedMore:
        DoRead();
        return;
      case wire::FrameDecoder::Status::kTooLarge: {
        context_.counters->frames_too_large.fetch_add(1, std::memory_order_relaxed);
        const std::string message =
            absl::StrCat("frame length ", next.announced_length, " exceeds the limit of ",
                         decoder_.max_frame_bytes(),
                         " bytes (max_frame_bytes); split the message; closing the connection");
        context_.client_errors->Log(absl::StrCat(peer_, ": ", message));
        QueueError(mled::v1::FRAME_TOO_LARGE, message);
        CloseWhenFlushed();
        return;
      }
      case wire::FrameDecoder::Status::kCorruptLength: {
        context_.counters->frames_malformed.fetch_add(1, std::memory_order_relaxed);
        const std::string message =
            "frame length is not a valid varint (more than 10 bytes or over 64 bits); the byte "
            "stream is not length-delimited protobuf; closing the connection";
        context_.client_errors->Log(absl::StrCat(peer_, ": ", message));
        QueueError(mled::v1::MALFORMED_FRAME, message);
        CloseWhenFlushed();
        return;
      }
    }
  }
}

void TcpSession::HandleFrame(std::string_view frame) {
  if (!message_decoder_.Parse(frame)) {
    context_.counters->frames_malformed.fetch_add(1, std::memory_order_relaxed);
    const std::string message = absl::StrCat(
        "frame of ", frame.size(),
        " bytes is not a mled.v1.ClientMessage (bad field, truncated, or a string that is not "
        "UTF-8); the connection goes on with the next frame");
    context_.client_errors->Log(absl::StrCat(peer_, ": ", message));
    QueueError(mled::v1::MALFORMED_FRAME, message);
    return;
  }
  const mled::v1::ClientMessage& request = message_decoder_.message();
  switch (request.kind_case()) {
    case mled::v1::ClientMessage::kIngest: {
      const mled::v1::Ingest& ingest = request.ingest();
      context_.handler->Ingest(applier_, ingest, Transport::kTcp, ack_reply_.mutable_ack());
      if (ingest.seq() != 0) QueueMessage(ack_reply_);
      return;
    }
    case mled::v1::ClientMessage::kSubscribe:
      HandleSubscribe(request.subscribe());
      return;
    case mled::v1::ClientMessage::kQuery: {
      mled::v1::ServerMessage reply;
      context_.handler->Query(request.query(), reply.mutable_estimates());
      QueueMessage(reply);
      return;
    }
    case mled::v1::ClientMessage::kReset: {
      mled::v1::ServerMessage reply;
      context_.handler->Reset(request.reset(), reply.mutable_ack());
      if (request.reset().seq() != 0) QueueMessage(reply);
      return;
    }
    case mled::v1::ClientMessage::kStats: {
      mled::v1::ServerMessage reply;
      context_.handler->Stats(request.stats(), reply.mutable_stats());
      QueueMessage(reply);
      return;
    }
    case mled::v1::ClientMessage::KIND_NOT_SET:
      context_.counters->frames_malformed.fetch_add(1, std::memory_order_relaxed);
      QueueError(mled::v1::MALFORMED_FRAME,
                 "ClientMessage has none of ingest, subscribe, query, reset or stats set; "
                 "nothing done");
      return;
  }
}

void TcpSession::HandleSubscribe(const mled::v1::Subscribe& subscribe) {
  if (updates_.size() >= context_.options.max_subscriptions) {
    QueueError(mled::v1::RESOURCE_EXHAUSTED,
               absl::StrCat("this connection already has ", updates_.size(),
                            " subscriptions (max_subscriptions_per_connection); use globs to "
                            "combine them or open another connection"));
    return;
  }
  const uint32_t id = ++next_subscription_id_;
  updates_.emplace_back();
  updates_.back().subscription_id = id;
  const std::vector<std::string> patterns(subscribe.streams().begin(), subscribe.streams().end());
  context_.counters->subscribers_current.fetch_add(1, std::memory_order_relaxed);
  context_.publisher->Add(weak_from_this(), id, engine::StreamMatcher(patterns),
                          absl::Milliseconds(subscribe.interval_ms()), subscribe.anomalies());
}

void TcpSession::DeliverAnomaly(const mled::v1::Anomaly& anomaly) {
  auto message = std::make_shared<mled::v1::ServerMessage>();
  *message->mutable_anomaly() = anomaly;
  asio::post(socket_.get_executor(), [self = shared_from_this(), message = std::move(message)] {
    if (self->closed_ || self->close_when_flushed_) return;
    self->QueueMessage(*message);
  });
}

void TcpSession::DeliverUpdate(uint32_t subscription_id, mled::v1::Estimates update) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), subscription_id,
                                      update = std::move(update)]() mutable {
    if (self->closed_ || self->close_when_flushed_) return;
    for (PendingUpdate& pending : self->updates_) {
      if (pending.subscription_id != subscription_id) continue;
      self->MergeUpdate(pending, std::move(update));
      break;
    }
    self->CheckWriteBound();
    self->StartWrite();
  });
}

void TcpSession::MergeUpdate(PendingUpdate& pending, mled::v1::Estimates update) {
  pending_update_bytes_ -= pending.bytes;
  mled::v1::Estimates* waiting = pending.message.mutable_estimates();
  if (waiting->estimates_size() == 0) {
    waiting->Swap(&update);
    for (int i = 0; i < waiting->estimates_size(); ++i) {
      pending.position[waiting->estimates(i).stream()] = i;
    }
  } else {
    // The previous update was never sent: keep it, with each stream's newer estimate.
    context_.counters->updates_coalesced.fetch_add(1, std::memory_order_relaxed);
    waiting->set_time_unix_nano(update.time_unix_nano());
    for (mled::v1::Estimate& estimate : *update.mutable_estimates()) {
      auto [it, inserted] = pending.position.try_emplace(estimate.stream(), waiting->estimates_size());
      if (inserted) {
        waiting->add_estimates()->Swap(&estimate);
      } else {
        waiting->mutable_estimates(it->second)->Swap(&estimate);
      }
    }
  }
  pending.bytes = pending.message.ByteSizeLong();
  pending_update_bytes_ += pending.bytes;
}

void TcpSession::QueueMessage(const mled::v1::ServerMessage& message) {
  wire::AppendFrame(message, &out_);
  CheckWriteBound();
  StartWrite();
}

void TcpSession::QueueError(mled::v1::Code code, absl::string_view message) {
  mled::v1::ServerMessage reply;
  reply.mutable_error()->set_code(code);
  reply.mutable_error()->set_message(std::string(message));
  QueueMessage(reply);
}

size_t TcpSession::QueuedBytes() const {
  return out_.size() + writing_.size() + pending_update_bytes_;
}

void TcpSession::CheckWriteBound() {
  if (closed_ || QueuedBytes() <= context_.options.max_write_bytes) return;
  context_.counters->slow_clients_disconnected.fetch_add(1, std::memory_order_relaxed);
  context_.client_errors->Log(absl::StrCat(
      peer_, ": disconnected: ", QueuedBytes(), " bytes queued exceed max_session_write_bytes (",
      context_.options.max_write_bytes, "); the client does not read fast enough"));
  Close();
}

void TcpSession::StartWrite() {
  if (writing_active_ || closed_) return;
  if (out_.empty() && pending_update_bytes_ == 0) {
    if (close_when_flushed_) Close();
    return;
  }
  writing_.clear();
  writing_.swap(out_);  // out_ keeps the old buffer's capacity for the next acks
  for (PendingUpdate& pending : updates_) {
    if (pending.bytes == 0) continue;
    wire::AppendFrame(pending.message, &writing_);
    pending.message.mutable_estimates()->Clear();
    pending.position.clear();
    pending.bytes = 0;
  }
  pending_update_bytes_ = 0;
  writing_active_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                      self->OnWrite(error);
                    });
}

void TcpSession::OnWrite(const boost::system::error_code& error) {
  writing_active_ = false;
  writing_.clear();
  if (closed_) return;
  if (error) {
    Close();
    return;
  }
  if (read_paused_ && out_.size() <= kReadPauseBytes) {
    read_paused_ = false;
    DoRead();
  }
  StartWrite();
}

void TcpSession::CloseWhenFlushed() {
  if (closed_) return;
  close_when_flushed_ = true;
  StartWrite();  // closes at once when nothing is queued
}

void TcpSession::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (!updates_.empty()) {
    context_.publisher->RemoveAll(this);
    context_.counters->subscribers_current.fetch_sub(updates_.size(), std::memory_order_relaxed);
  }
  context_.counters->connections_current.fetch_sub(1, std::memory_order_relaxed);
  if (context_.on_close) context_.on_close(this);
}

}  // namespace mled::daemon
