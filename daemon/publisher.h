// The publisher: on a timer, sends each subscription the estimates of the streams that changed
// since its last update and match its names/globs.
//
// Subscriptions are grouped by interval. Every timer firing drains the stream table's changed
// lists into each group's pending set; a group that is due snapshots its pending streams once
// (one Estimate per stream, shared by the group's subscriptions), then hands each subscription
// the matching ones as one framed ServerMessage. A group with nothing matching sends nothing.
// Delivery never blocks: the sink (a session) coalesces on its own strand (latest estimate of
// each stream wins).
//
// Anomaly events skip the timer: PublishAnomalies hands each one at once to every sink with a
// matching subscription that asked for anomalies.
//
// Thread-safety: Add, RemoveAll and PublishAnomalies may be called from any thread. The timer
// runs on the publisher's own strand.
#ifndef MLED_DAEMON_PUBLISHER_H_
#define MLED_DAEMON_PUBLISHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include <mutex>
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "daemon/daemon_counters.h"
#include "lib/base/clock.h"
#include "lib/engine/stream_matcher.h"
#include "lib/engine/stream_table.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

// Receives updates for its subscriptions. Implementations must not block.
class UpdateSink {
 public:
  virtual ~UpdateSink() = default;
  // The estimates of the subscription's streams that changed since its previous update.
  // Called on the publisher's strand.
  virtual void DeliverUpdate(uint32_t subscription_id, mled::v1::Estimates update) = 0;
  // An anomaly of a stream one of the sink's anomaly subscriptions matches (once per sink,
  // however many of its subscriptions match). Called on the ingesting thread.
  virtual void DeliverAnomaly(const mled::v1::Anomaly& anomaly) = 0;
};

class Publisher {
 public:
  Publisher(boost::asio::io_context& io, engine::StreamTable* table, DaemonCounters* counters,
            const Clock& clock, absl::Duration default_interval);

  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();
  // Cancels the timer; pending groups are dropped.
  void Stop();

  // Registers a subscription; `interval` zero means the default interval. With `anomalies`,
  // the sink also gets the Anomaly events of the matching streams.
  void Add(std::weak_ptr<UpdateSink> sink, uint32_t subscription_id,
           engine::StreamMatcher matcher, absl::Duration interval, bool anomalies = false);

  // Delivers each anomaly to the sinks whose anomaly subscriptions match its stream.
  void PublishAnomalies(absl::Span<const mled::v1::Anomaly> anomalies);
  // Drops every subscription of `sink`.
  void RemoveAll(const UpdateSink* sink);

  // The default interval for subscriptions that do not choose one (SIGHUP may change it; it
  // applies to new subscriptions).
  void set_default_interval(absl::Duration interval);

 private:
  struct Subscription {
    std::weak_ptr<UpdateSink> sink;
    const UpdateSink* sink_id;
    uint32_t id;
    engine::StreamMatcher matcher;
  };
  struct AnomalySubscription {
    std::weak_ptr<UpdateSink> sink;
    const UpdateSink* sink_id;
    engine::StreamMatcher matcher;
  };
  struct Group {
    absl::Duration interval;
    absl::Time next_due;
    absl::flat_hash_set<std::string> pending;
    std::vector<Subscription> subscriptions;
  };

  void Arm() ABSL_LOCKS_EXCLUDED(mu_);
  void OnTimer();
  void Publish(Group& group, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  engine::StreamTable* table_;
  DaemonCounters* counters_;
  const Clock& clock_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;

  std::mutex mu_;
  absl::Duration default_interval_ ABSL_GUARDED_BY(mu_);
  // Keyed by interval in nanoseconds.
  std::map<int64_t, Group> groups_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Separate from groups_ and its own lock, so an anomaly never waits for a publish tick.
  std::mutex anomaly_mu_;
  std::vector<AnomalySubscription> anomaly_subscriptions_ ABSL_GUARDED_BY(anomaly_mu_);
  std::vector<std::string> changed_;  // scratch, on the strand only
};

}  // namespace mled::daemon

#endif  // MLED_DAEMON_PUBLISHER_H_
