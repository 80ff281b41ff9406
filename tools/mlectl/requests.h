// The request-and-answer exchanges of the wire protocol, shared by the commands that need them:
// a Query answered by the Estimates carrying its id, a StatsRequest answered by DaemonStats, a
// Reset answered by the Ack carrying its seq.
// Messages of other kinds that arrive meanwhile (a subscription's updates) are skipped.
//
// Same threading as the Client they are given.
#ifndef MLED_TOOLS_MLECTL_REQUESTS_H_
#define MLED_TOOLS_MLECTL_REQUESTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mled/v1/wire.pb.h"
#include "tools/mlectl/client.h"

namespace mled::mlectl {

// The current estimates of the streams matching `globs` (empty: every stream, up to the daemon's
// cap), as the whole ServerMessage so that --json can print it as it came.
absl::StatusOr<mled::v1::ServerMessage> QueryEstimates(Client& client,
                                                       const std::vector<std::string>& globs,
                                                       absl::Duration timeout);

// The daemon's counters, as the whole ServerMessage.
absl::StatusOr<mled::v1::ServerMessage> FetchStats(Client& client, absl::Duration timeout);

// Clears the streams matching `globs` (must not be empty: mled rejects that) and returns the
// answering Ack as the whole ServerMessage: `accepted` counts the streams cleared; a rejected
// Reset has `rejected` 1 and a Rejection saying why. The Reset's seq comes from the counter of
// request ids (the first request of a process gets 1), so the connection must not also carry
// Ingests with seqs of their own, whose Acks could be taken for the answer.
absl::StatusOr<mled::v1::ServerMessage> ResetStreams(Client& client,
                                                     const std::vector<std::string>& globs,
                                                     absl::Duration timeout);

}  // namespace mled::mlectl

#endif  // MLED_TOOLS_MLECTL_REQUESTS_H_
