#include "daemon/publisher.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "mled/v1/wire.pb.h"

namespace mled::daemon {

namespace asio = boost::asio;

Publisher::Publisher(asio::io_context& io, engine::StreamTable* table, DaemonCounters* counters,
                     const Clock& clock, absl::Duration default_interval)
    : table_(table),
      counters_(counters),
      clock_(clock),
      strand_(asio::make_strand(io)),
      timer_(strand_),
      default_interval_(default_interval) {}

void Publisher::Start() {
  asio::post(strand_, [this] { Arm(); });
}

void Publisher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    groups_.clear();
  }
  asio::post(strand_, [this] { timer_.cancel(); });
}

void Publisher::set_default_interval(absl::Duration interval) {
  std::lock_guard<std::mutex> lock(mu_);
  default_interval_ = interval;
}

void Publisher::Add(std::weak_ptr<UpdateSink> sink, uint32_t subscription_id,
                    engine::StreamMatcher matcher, absl::Duration interval, bool anomalies) {
  const UpdateSink* sink_id = sink.lock().get();
  if (sink_id == nullptr) return;
  if (anomalies) {
    std::lock_guard<std::mutex> lock(anomaly_mu_);
    anomaly_subscriptions_.push_back(AnomalySubscription{sink, sink_id, matcher});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    if (interval <= absl::ZeroDuration()) interval = default_interval_;
    auto [it, inserted] = groups_.try_emplace(absl::ToInt64Nanoseconds(interval));
    Group& group = it->second;
    if (inserted) {
      group.interval = interval;
      group.next_due = absl::FromUnixNanos(clock_.NowUnixNanos()) + interval;
    }
    group.subscriptions.push_back(
        Subscription{std::move(sink), sink_id, subscription_id, std::move(matcher)});
  }
  // The new group may be due before the armed timer: wake it to re-plan.
  asio::post(strand_, [this] { timer_.cancel(); });
}

void Publisher::PublishAnomalies(absl::Span<const mled::v1::Anomaly> anomalies) {
  std::lock_guard<std::mutex> lock(anomaly_mu_);
  std::vector<const UpdateSink*> delivered;  // each sink gets an anomaly once
  for (const mled::v1::Anomaly& anomaly : anomalies) {
    delivered.clear();
    for (const AnomalySubscription& subscription : anomaly_subscriptions_) {
      if (!subscription.matcher.Matches(anomaly.stream()) ||
          std::find(delivered.begin(), delivered.end(), subscription.sink_id) !=
              delivered.end()) {
        continue;
      }
      std::shared_ptr<UpdateSink> sink = subscription.sink.lock();
      if (!sink) continue;
      delivered.push_back(subscription.sink_id);
      sink->DeliverAnomaly(anomaly);
      counters_->anomaly_events_sent.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Publisher::RemoveAll(const UpdateSink* sink) {
  {
    std::lock_guard<std::mutex> lock(anomaly_mu_);
    std::erase_if(anomaly_subscriptions_,
                  [sink](const AnomalySubscription& s) { return s.sink_id == sink; });
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto& subs = it->second.subscriptions;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [sink](const Subscription& s) { return s.sink_id == sink; }),
               subs.end());
    it = subs.empty() ? groups_.erase(it) : std::next(it);
  }
}

void Publisher::Arm() {
  absl::Duration wait;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    const absl::Time now = absl::FromUnixNanos(clock_.NowUnixNanos());
    // With no subscriptions the timer still drains the changed lists at the default interval,
    // so they do not grow without bound.
    absl::Time next = now + default_interval_;
    for (const auto& [key, group] : groups_) next = std::min(next, group.next_due);
    wait = std::max(next - now, absl::ZeroDuration());
  }
  timer_.expires_after(absl::ToChronoNanoseconds(wait));
  timer_.async_wait([this](const boost::system::error_code&) { OnTimer(); });
}

void Publisher::OnTimer() {
  changed_.clear();
  table_->TakeChanged(&changed_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    const absl::Time now = absl::FromUnixNanos(clock_.NowUnixNanos());
    for (auto& [key, group] : groups_) {
      for (const std::string& name : changed_) group.pending.insert(name);
      if (now < group.next_due) continue;
      counters_->publish_ticks.fetch_add(1, std::memory_order_relaxed);
      const auto tick_start = std::chrono::steady_clock::now();
      Publish(group, now);
      counters_->publish_tick_nanos.fetch_add(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                               tick_start)
              .count(),
          std::memory_order_relaxed);
      // Stay on the group's cadence; skip ticks missed while the process was busy.
      group.next_due += group.interval;
      if (group.next_due <= now) group.next_due = now + group.interval;
    }
  }
  Arm();
}

void Publisher::Publish(Group& group, absl::Time now) {
  if (group.pending.empty()) return;
  std::vector<std::string> names(group.pending.begin(), group.pending.end());
  group.pending.clear();
  std::sort(names.begin(), names.end());
  std::vector<mled::v1::Estimate> estimates;
  estimates.reserve(names.size());
  for (const std::string& name : names) {
    if (!table_->GetEstimate(name, &estimates.emplace_back())) estimates.pop_back();
  }

  for (Subscription& subscription : group.subscriptions) {
    std::shared_ptr<UpdateSink> sink = subscription.sink.lock();
    if (!sink) continue;  // its session closed; RemoveAll is on its way
    mled::v1::Estimates update;
    update.set_time_unix_nano(absl::ToUnixNanos(now));
    for (const mled::v1::Estimate& estimate : estimates) {
      if (subscription.matcher.Matches(estimate.stream())) *update.add_estimates() = estimate;
    }
    if (update.estimates_size() == 0) continue;  // nothing matching changed: send nothing
    sink->DeliverUpdate(subscription.id, std::move(update));
    counters_->updates_sent.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace mled::daemon
