#include "daemon/statsd_listener.h"

// Placeholder until the StatsD listener lands (issue 4, in progress): Start refuses.
namespace mled::daemon {

class StatsdListener::Impl {};

StatsdListener::StatsdListener(boost::asio::io_context&, engine::StreamTable*, RequestHandler*,
                               DaemonCounters*, RateLimitedLog*, StatsdOptions) {}
StatsdListener::~StatsdListener() = default;
absl::Status StatsdListener::Start(const boost::asio::ip::udp::endpoint&) {
  return absl::UnimplementedError("the StatsD listener is not built yet; run with --statsd=");
}
void StatsdListener::Stop() {}
boost::asio::ip::udp::endpoint StatsdListener::local_endpoint() const { return {}; }

}  // namespace mled::daemon
