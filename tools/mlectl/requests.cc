#include "tools/mlectl/requests.h"

#include <atomic>
#include <cstdint>

namespace mled::mlectl {
namespace {

// Ids only need to tell our own requests apart on one connection.
uint64_t NextRequestId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

absl::StatusOr<mled::v1::ServerMessage> QueryEstimates(Client& client,
                                                       const std::vector<std::string>& globs,
                                                       absl::Duration timeout) {
  const uint64_t id = NextRequestId();
  mled::v1::ClientMessage request;
  request.mutable_query()->set_id(id);
  for (const std::string& glob : globs) request.mutable_query()->add_streams(glob);
  return client.Call(
      request,
      [id](const mled::v1::ServerMessage& m) {
        return m.has_estimates() && m.estimates().query_id() == id;
      },
      "answer to the query", timeout);
}

absl::StatusOr<mled::v1::ServerMessage> FetchStats(Client& client, absl::Duration timeout) {
  const uint64_t id = NextRequestId();
  mled::v1::ClientMessage request;
  request.mutable_stats()->set_id(id);
  return client.Call(
      request,
      [id](const mled::v1::ServerMessage& m) { return m.has_stats() && m.stats().id() == id; },
      "statistics", timeout);
}

absl::StatusOr<mled::v1::ServerMessage> ResetStreams(Client& client,
                                                     const std::vector<std::string>& globs,
                                                     absl::Duration timeout) {
  const uint64_t seq = NextRequestId();
  mled::v1::ClientMessage request;
  request.mutable_reset()->set_seq(seq);
  for (const std::string& glob : globs) request.mutable_reset()->add_streams(glob);
  return client.Call(
      request,
      [seq](const mled::v1::ServerMessage& m) { return m.has_ack() && m.ack().seq() == seq; },
      "acknowledgement of the reset", timeout);
}

}  // namespace mled::mlectl
