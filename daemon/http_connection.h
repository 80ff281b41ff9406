// What the HTTP server keeps of its open connections, so that Stop() can close every one of them
// (request/response sessions and event streams alike), and the slot each connection holds in
// `http_connections_current`.
//
//   HttpConnectionRegistry registry;
//   if (!registry.Add(session)) session->Close();   // the server is already stopping
//   ...
//   registry.CloseAll();                             // Stop(): closes all, refuses new ones
//
// A connection may change hands (an HTTP session that becomes an event stream hands over its
// socket and its HttpConnectionSlot); each owner registers itself and removes itself when done.
//
// Thread-safety: HttpConnectionRegistry is thread-safe. HttpConnection::Close must be callable
// from any thread. HttpConnectionSlot is a move-only value with no synchronization of its own.
#ifndef MLED_DAEMON_HTTP_CONNECTION_H_
#define MLED_DAEMON_HTTP_CONNECTION_H_

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "daemon/daemon_counters.h"

namespace mled::daemon {

// One open HTTP connection, as the registry sees it.
class HttpConnection {
 public:
  virtual ~HttpConnection() = default;
  // Closes the socket at once (nothing more is sent). Any thread; idempotent.
  virtual void Close() = 0;
};

class HttpConnectionRegistry {
 public:
  HttpConnectionRegistry() = default;
  HttpConnectionRegistry(const HttpConnectionRegistry&) = delete;
  HttpConnectionRegistry& operator=(const HttpConnectionRegistry&) = delete;

  // Registers `connection` (keyed by its address). False once CloseAll has run: the caller then
  // closes the connection itself.
  bool Add(const std::shared_ptr<HttpConnection>& connection) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    connections_[connection.get()] = connection;
    return true;
  }
  // Forgets `connection`; harmless if it is not registered.
  void Remove(const HttpConnection* connection) {
    std::lock_guard<std::mutex> lock(mu_);
    connections_.erase(connection);
  }
  // Closes every registered connection and makes later Adds fail. Idempotent.
  void CloseAll() {
    std::vector<std::shared_ptr<HttpConnection>> open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      for (auto& [raw, weak] : connections_) {
        if (std::shared_ptr<HttpConnection> connection = weak.lock()) {
          open.push_back(std::move(connection));
        }
      }
      connections_.clear();
    }
    // Outside the lock: Close may run a connection's clean-up, which calls Remove.
    for (const std::shared_ptr<HttpConnection>& connection : open) connection->Close();
  }

 private:
  std::mutex mu_;
  absl::flat_hash_map<const HttpConnection*, std::weak_ptr<HttpConnection>> connections_
      ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// One unit of `http_connections_current`, held by whichever object owns the connection's socket
// and given back when that object is destroyed.
class HttpConnectionSlot {
 public:
  HttpConnectionSlot() = default;
  // Takes one slot (increments the counter).
  explicit HttpConnectionSlot(DaemonCounters* counters) : counters_(counters) {
    counters_->http_connections_current.fetch_add(1, std::memory_order_relaxed);
  }
  HttpConnectionSlot(HttpConnectionSlot&& other) noexcept
      : counters_(std::exchange(other.counters_, nullptr)) {}
  HttpConnectionSlot& operator=(HttpConnectionSlot&& other) noexcept {
    if (this != &other) {
      Release();
      counters_ = std::exchange(other.counters_, nullptr);
    }
    return *this;
  }
  HttpConnectionSlot(const HttpConnectionSlot&) = delete;
  HttpConnectionSlot& operator=(const HttpConnectionSlot&) = delete;
  ~HttpConnectionSlot() { Release(); }

  // Gives the slot back now (e.g. when the socket closes); idempotent.
  void Release() {
    if (counters_ != nullptr) {
      counters_->http_connections_current.fetch_sub(1, std::memory_order_relaxed);
      counters_ = nullptr;
    }
  }

 private:
  DaemonCounters* counters_ = nullptr;
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_HTTP_CONNECTION_H_
