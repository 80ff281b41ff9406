// mlectl stats: the daemon's own counters (DaemonStats), one "name value" per line.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/json_line.h"
#include "tools/mlectl/requests.h"

namespace mled::mlectl {
namespace {

// The value of a scalar field as text.
std::string ScalarText(const google::protobuf::Message& message,
                       const google::protobuf::FieldDescriptor& field) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  switch (field.cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(reflection.GetInt64(message, &field));
    case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(reflection.GetUInt64(message, &field));
    case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(reflection.GetInt32(message, &field));
    case google::protobuf::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(reflection.GetUInt32(message, &field));
    case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(reflection.GetDouble(message, &field));
    case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
      return reflection.GetString(message, &field);
    default:
      return "?";
  }
}

// Every field of `stats` in declaration order, by reflection, so that counters the daemon adds
// later show up without touching mlectl. The map of rejections by code prints one line per code,
// "samples_rejected_by_code.CODE count", sorted.
std::string FormatStats(const mled::v1::DaemonStats& stats) {
  const google::protobuf::Descriptor& descriptor = *stats.GetDescriptor();
  std::string out;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *descriptor.field(i);
    if (field.number() == mled::v1::DaemonStats::kSamplesRejectedByCodeFieldNumber) {
      // Read through the generated accessor: reflection over a map calls into libprotobuf, whose
      // MapField layout differs from ours in ThreadSanitizer builds.
      const std::map<std::string, uint64_t> sorted(stats.samples_rejected_by_code().begin(),
                                                   stats.samples_rejected_by_code().end());
      for (const auto& [code, count] : sorted) {
        absl::StrAppend(&out, field.name(), ".", code, " ", count, "\n");
      }
    } else if (field.number() != mled::v1::DaemonStats::kIdFieldNumber && !field.is_repeated()) {
      absl::StrAppend(&out, field.name(), " ", ScalarText(stats, field), "\n");
    }
  }
  return out;
}

int RunStats(const std::vector<std::string>& positional) {
  if (!positional.empty()) return UsageError(StatsCommand(), "takes no arguments");
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(absl::GetFlag(FLAGS_addr), timeout);
  if (!client.ok()) return Fail(client.status());

  absl::StatusOr<mled::v1::ServerMessage> answer = FetchStats(**client, timeout);
  if (!answer.ok()) return Fail(answer.status());

  const std::string text =
      absl::GetFlag(FLAGS_json) ? ToJsonLine(*answer) + "\n" : FormatStats(answer->stats());
  std::fputs(text.c_str(), stdout);
  return kExitOk;
}

}  // namespace

const Command& StatsCommand() {
  static const Command command{
      .name = "stats",
      .arguments = "",
      .summary = "print the daemon's own counters",
      .description =
          "Prints mled's counters (mled.v1.DaemonStats), one 'name value' per line: streams,\n"
          "samples accepted and rejected (also by code, as samples_rejected_by_code.CODE),\n"
          "frames, bytes, UDP datagrams, connections, subscribers, updates and queries,\n"
          "anomalies flagged and anomaly events sent, streams reset, and configuration reloads\n"
          "applied and refused. Counters a newer mled adds are printed too. Times are in\n"
          "nanoseconds (time_unix_nano, uptime_ns).\n",
      .flags = {kAddrFlag, {"timeout"}, {"json"}},
      .run = RunStats,
  };
  return command;
}

}  // namespace mled::mlectl
