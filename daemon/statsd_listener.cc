#include "daemon/statsd_listener.h"

#include <algorithm>
#include <chrono>
#include <string>


#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "daemon/udp_receiver.h"
#include "lib/engine/ingest_applier.h"
#include "lib/engine/statsd_aggregator.h"
#include "lib/wire/statsd.h"
#include "mled/v1/wire.pb.h"

namespace mled::daemon {

using boost::asio::ip::udp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Counter rates per Ingest at a flush: bounds the message when there are many counters.
constexpr int kRatesPerIngest = 4096;

}  // namespace

// Everything below runs on the receiver's thread, except the constructor, Start, Stop and
// local_endpoint (and Stop's final flush, which runs once that thread has ended).
class StatsdListener::Impl {
 public:
  Impl(engine::StreamTable* table, RequestHandler* handler, DaemonCounters* counters,
       RateLimitedLog* client_errors, StatsdOptions options)
      : handler_(handler),
        counters_(counters),
        client_errors_(client_errors),
        options_(options),
        interval_seconds_(absl::ToDoubleSeconds(options.flush_interval)),
        aggregator_(table->limits().max_streams, table->limits().ingest),
        applier_(table),
        receiver_(UdpReceiverOptions{.name = "statsd",
                                     .max_datagram_bytes = options.max_datagram_bytes,
                                     .receive_buffer_bytes = options.receive_buffer_bytes},
                  &counters->statsd_receive_drops,
                  [this](absl::Span<const ReceivedDatagram> batch) { OnBatch(batch); },
                  [this] { OnDrained(); }) {}

  absl::Status Start(const udp::endpoint& endpoint) {
    if (absl::Status status = receiver_.Open(endpoint); !status.ok()) return status;
    last_flush_ = SteadyClock::now();
    next_flush_ = last_flush_ + absl::ToChronoNanoseconds(options_.flush_interval);
    receiver_.Start();
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    // Joins the receive thread first: no datagram is applied after the last flush.
    receiver_.Close();
    Flush(/*at_stop=*/true);
  }

  udp::endpoint local_endpoint() const { return receiver_.local_endpoint(); }

 private:
  void OnBatch(absl::Span<const ReceivedDatagram> batch) {
    uint64_t bytes = 0;
    uint64_t lines = 0;
    uint64_t malformed = 0;
    uint64_t sets = 0;
    for (const ReceivedDatagram& datagram : batch) {
      bytes += datagram.bytes.size();
      sender_ = datagram.sender;
      if (datagram.oversized) {
        // Its end is cut off, so no line of it can be trusted: one malformed line.
        ++lines;
        ++malformed;
        client_errors_->Log(absl::StrCat("statsd from ", SenderText(), ": dropped a datagram "
                                         "larger than ", options_.max_datagram_bytes,
                                         " bytes (max_datagram_bytes)"));
        continue;
      }
      const wire::StatsdCounts counts = parser_.Parse(
          datagram.bytes, [this](const wire::StatsdSample& sample) { OnSample(sample); });
      lines += counts.lines + counts.malformed;
      malformed += counts.malformed;
      sets += counts.sets;
      if (counts.malformed > 0) {
        client_errors_->Log(absl::StrCat("statsd from ", SenderText(), ": skipped ",
                                         counts.malformed, " malformed line(s) of ",
                                         counts.lines + counts.malformed));
      }
    }
    // Applied at the end of the receiver's wakeup (on_drained), so each stream's values of a
    // whole wakeup go in as one block; a bound keeps a flood from queueing without limit.
    sender_ = nullptr;
    pending_counts_.datagrams += batch.size();
    pending_counts_.bytes += bytes;
    pending_counts_.lines += lines;
    pending_counts_.malformed += malformed;
    pending_counts_.sets += sets;
    if (pending_values_ >= kMaxPendingValues) ApplyPending();
  }

  void OnSample(const wire::StatsdSample& sample) {
    switch (sample.type) {
      case wire::StatsdType::kCounter: {
        const engine::StatsdOutcome outcome =
            aggregator_.Count(sample.stream, sample.value, sample.sample_rate);
        if (outcome != engine::StatsdOutcome::kApplied) Refuse(outcome, sample.stream);
        return;
      }
      case wire::StatsdType::kGauge: {
        double value = 0;
        const engine::StatsdOutcome outcome =
            aggregator_.Gauge(sample.stream, sample.value, sample.gauge_delta, &value);
        if (outcome == engine::StatsdOutcome::kApplied) {
          AddValue(sample.stream, value);
        } else {
          Refuse(outcome, sample.stream);
        }
        return;
      }
      case wire::StatsdType::kSet:
        return;  // the parser counts sets and hands none over
      case wire::StatsdType::kTimer:
      case wire::StatsdType::kHistogram:
      case wire::StatsdType::kDistribution:
        // One line, one sample: no 1/rate weighting, since uniform sampling by the client does
        // not bias the distribution.
        AddValue(sample.stream, sample.value);
        return;
    }
  }

  // Appends `value` to the pending Ingest, in one StreamBatch per stream: the applier then
  // looks each stream up once per batch of datagrams, and applies its rows as a block.
  void AddValue(absl::string_view stream, double value) {
    auto it = batch_of_stream_.find(stream);
    if (it == batch_of_stream_.end()) {
      if (batch_of_stream_.size() >= kRememberedNames) batch_of_stream_.clear();
      it = batch_of_stream_.emplace(std::string(stream), PendingBatch{}).first;
    }
    PendingBatch& pending = it->second;
    if (pending.generation != generation_) {
      // add_batches reuses a cleared StreamBatch, and assign its string's capacity.
      pending.batch = ingest_.add_batches();
      pending.batch->mutable_stream()->assign(stream.data(), stream.size());
      pending.generation = generation_;
    }
    pending.batch->add_values(value);
    ++pending_values_;
  }

  // Counts a line the aggregator refused, as the applier would have rejected its sample.
  void Refuse(engine::StatsdOutcome outcome, absl::string_view stream) {
    const bool full = outcome == engine::StatsdOutcome::kFull;
    engine::IngestCounts counts;
    counts.rejected = 1;
    counts.rejected_by_code[full ? mled::v1::RESOURCE_EXHAUSTED : mled::v1::INVALID_ARGUMENT] = 1;
    counters_->RecordIngest(counts, Transport::kStatsd);
    client_errors_->Log(absl::StrCat(
        "statsd from ", SenderText(), ": refused \"", absl::CHexEscape(stream), "\": ",
        full ? "the daemon holds max_streams gauge and counter names"
             : "not a valid stream name (UTF-8 without control characters, max_name_bytes)"));
  }

  void ApplyPending() {
    if (ingest_.batches_size() > 0) {
      handler_->Ingest(applier_, ingest_, Transport::kStatsd, &ack_);
    }
    ingest_.clear_batches();  // keeps the cleared batches for reuse
    pending_values_ = 0;
    ++generation_;            // every PendingBatch pointer is stale now
    // Counted once their samples are applied, so whoever sees a datagram counted also finds its
    // samples in the streams.
    constexpr auto kRelaxed = std::memory_order_relaxed;
    if (pending_counts_.datagrams == 0) return;
    counters_->statsd_datagrams.fetch_add(pending_counts_.datagrams, kRelaxed);
    counters_->bytes_received.fetch_add(pending_counts_.bytes, kRelaxed);
    counters_->statsd_lines.fetch_add(pending_counts_.lines, kRelaxed);
    if (pending_counts_.malformed > 0) {
      counters_->statsd_lines_malformed.fetch_add(pending_counts_.malformed, kRelaxed);
    }
    if (pending_counts_.sets > 0) counters_->statsd_sets.fetch_add(pending_counts_.sets, kRelaxed);
    pending_counts_ = PendingCounts{};
  }

  // After each wakeup of the receiver, and every idle tick (20 ms) without traffic: applies
  // what the wakeup received, and flushes the counters when their interval is over.
  void OnDrained() {
    ApplyPending();
    if (SteadyClock::now() < next_flush_) return;
    Flush(/*at_stop=*/false);
    // On a fixed schedule, so flushes do not drift; after a stall, the next one is an interval
    // from now rather than a burst of catching up.
    next_flush_ = std::max(next_flush_ + absl::ToChronoNanoseconds(options_.flush_interval),
                           SteadyClock::now());
  }

  // Turns the counters into rate samples (sample time: now). A regular flush divides by the
  // configured interval (flushes run within a tick of it) and gives idle counters a 0 rate; one
  // that comes much later (the receive thread was stalled) divides by the time that really
  // passed, so a stall never inflates a rate; the final one, at Stop, also divides by the time
  // since the last flush and leaves idle counters out.
  void Flush(bool at_stop) {
    const SteadyClock::time_point now = SteadyClock::now();
    const double elapsed = std::chrono::duration<double>(now - last_flush_).count();
    double seconds = interval_seconds_;
    if (at_stop || elapsed > 1.5 * interval_seconds_) seconds = std::max(elapsed, 1e-3);
    last_flush_ = now;
    aggregator_.Flush(seconds, /*idle_counters=*/!at_stop,
                      [this](absl::string_view stream, double rate) {
                        mled::v1::StreamBatch* batch = ingest_.add_batches();
                        batch->mutable_stream()->assign(stream.data(), stream.size());
                        batch->add_values(rate);
                        if (ingest_.batches_size() >= kRatesPerIngest) ApplyPending();
                      });
    ApplyPending();
  }

  std::string SenderText() const {
    if (sender_ == nullptr) return "?";
    return absl::StrCat(sender_->address().to_string(), ":", sender_->port());
  }

  RequestHandler* const handler_;
  DaemonCounters* const counters_;
  RateLimitedLog* const client_errors_;
  const StatsdOptions options_;
  const double interval_seconds_;

  wire::StatsdParser parser_;
  engine::StatsdAggregator aggregator_;
  engine::IngestApplier applier_;
  // The samples of the current batch of datagrams, applied once at its end; reused.
  mled::v1::Ingest ingest_;
  mled::v1::Ack ack_;  // filled and discarded: StatsD has no acks
  // The StreamBatch of each name in the current Ingest. Kept across Ingests (an entry is current
  // when its generation is), since rebuilding a map of a thousand names for every batch of
  // datagrams cost a sixth of the listener's time; at most kRememberedNames are kept.
  struct PendingBatch {
    uint64_t generation = 0;
    mled::v1::StreamBatch* batch = nullptr;
  };
  static constexpr size_t kRememberedNames = 65536;
  static constexpr size_t kMaxPendingValues = 65536;
  size_t pending_values_ = 0;
  // What the datagrams received since the last ApplyPending count for.
  struct PendingCounts {
    uint64_t datagrams = 0;
    uint64_t bytes = 0;
    uint64_t lines = 0;
    uint64_t malformed = 0;
    uint64_t sets = 0;
  };
  PendingCounts pending_counts_;
  absl::flat_hash_map<std::string, PendingBatch> batch_of_stream_;
  uint64_t generation_ = 1;
  // The datagram being parsed, for log lines.
  const udp::endpoint* sender_ = nullptr;
  SteadyClock::time_point last_flush_;
  SteadyClock::time_point next_flush_;
  bool stopped_ = false;  // the controlling thread's

  // Last: destroyed first, so its thread (which calls OnBatch and OnDrained) ends before the rest.
  UdpReceiver receiver_;
};

StatsdListener::StatsdListener(engine::StreamTable* table, RequestHandler* handler,
                               DaemonCounters* counters, RateLimitedLog* client_errors,
                               StatsdOptions options)
    : impl_(std::make_unique<Impl>(table, handler, counters, client_errors, options)) {}

StatsdListener::~StatsdListener() = default;

absl::Status StatsdListener::Start(const udp::endpoint& endpoint) { return impl_->Start(endpoint); }

void StatsdListener::Stop() { impl_->Stop(); }

udp::endpoint StatsdListener::local_endpoint() const { return impl_->local_endpoint(); }

}  // namespace mled::daemon
