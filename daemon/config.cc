#include "daemon/config.h"

#include <bit>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "lib/base/status_macros.h"
#include "lib/stats/window_gaussian.h"

namespace mled::daemon {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Collects the first parse error with its position (1-based, as editors count).
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(absl::string_view filename) : filename_(filename) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    error_ = absl::StrCat(filename_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string filename_;
  std::string error_;
};

// Sets `field` of `message` from a flag's textual value.
absl::Status SetFieldFromText(const std::string& value, const FieldDescriptor* field,
                              Message* message) {
  if (field->type() == FieldDescriptor::TYPE_STRING) {
    message->GetReflection()->SetString(message, field, value);
    return absl::OkStatus();
  }
  if (!google::protobuf::TextFormat::ParseFieldValueFromString(value, field, message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", field->name(), "=", value, " is not a valid ", field->type_name()));
  }
  return absl::OkStatus();
}

// Message fields whose own fields are flags (`limits`); any other message field (the stream
// rules) is one flag holding text format.
bool FlattensIntoFlags(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_MESSAGE && !field->is_repeated() &&
         field->message_type() == mled::v1::Limits::descriptor();
}

// Sets a message field of the Config from a flag's text-format value: for a repeated field the
// value lists its entries as a config file would ("rules { ... } rules { ... }"), for a singular
// one it is the message's body. An empty value clears the field.
absl::Status SetMessageFieldFromText(const std::string& value, const FieldDescriptor* field,
                                     Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  reflection->ClearField(message, field);
  if (value.empty()) return absl::OkStatus();
  const std::string text =
      field->is_repeated() ? value : absl::StrCat(field->name(), " {\n", value, "\n}");
  absl::StatusOr<mled::v1::Config> parsed = ParseConfigText(text, absl::StrCat("--", field->name()));
  if (!parsed.ok()) return parsed.status();
  std::vector<const FieldDescriptor*> set;
  parsed->GetReflection()->ListFields(*parsed, &set);
  for (const FieldDescriptor* other : set) {
    if (other != field) {
      return absl::InvalidArgumentError(absl::StrCat("--", field->name(), " sets ", other->name(),
                                                     "; it may only hold ", field->name(),
                                                     " entries"));
    }
  }
  if (field->is_repeated()) {
    for (int i = 0; i < parsed->GetReflection()->FieldSize(*parsed, field); ++i) {
      reflection->AddMessage(message, field)
          ->CopyFrom(parsed->GetReflection()->GetRepeatedMessage(*parsed, field, i));
    }
  } else {
    reflection->MutableMessage(message, field)
        ->CopyFrom(parsed->GetReflection()->GetMessage(*parsed, field));
  }
  return absl::OkStatus();
}

// Walks every scalar field of `message` (recursing into `limits`) and sets it from the flag of
// the same name: its default when `given` is null, else only if named in `given`.
absl::Status ApplyFlags(Message* message, const absl::flat_hash_set<std::string>* given) {
  const Descriptor* descriptor = message->GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (FlattensIntoFlags(field)) {
      RETURN_IF_ERROR(ApplyFlags(message->GetReflection()->MutableMessage(message, field), given));
      continue;
    }
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(field->name());
    if (flag == nullptr) {
      return absl::InternalError(absl::StrCat("config field ", field->full_name(), " has no flag"));
    }
    const bool is_message = field->type() == FieldDescriptor::TYPE_MESSAGE;
    if (given == nullptr) {
      // A message flag's default is empty: the file's rules (or none) stand.
      if (!is_message) RETURN_IF_ERROR(SetFieldFromText(flag->DefaultValue(), field, message));
    } else if (given->contains(field->name())) {
      RETURN_IF_ERROR(is_message ? SetMessageFieldFromText(flag->CurrentValue(), field, message)
                                 : SetFieldFromText(flag->CurrentValue(), field, message));
    }
  }
  return absl::OkStatus();
}

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, " ", problem,
                                                 " (set it in the config file or with --",
                                                 field.substr(field.rfind('.') + 1), ")"));
}

}  // namespace

absl::StatusOr<mled::v1::Config> ParseConfigText(absl::string_view text,
                                                 absl::string_view filename) {
  mled::v1::Config config;
  FirstErrorCollector errors(filename);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(errors.error().empty()
                                          ? absl::StrCat(filename, ": cannot parse config")
                                          : errors.error());
  }
  return config;
}

absl::StatusOr<mled::v1::Config> LoadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file ", path, " (check the path given to --config)"));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfigText(text.str(), path);
}

absl::StatusOr<mled::v1::Config> MergeWithFlags(const mled::v1::Config* file,
                                                const absl::flat_hash_set<std::string>& given) {
  mled::v1::Config config;
  RETURN_IF_ERROR(ApplyFlags(&config, nullptr));
  if (file != nullptr) config.MergeFrom(*file);
  RETURN_IF_ERROR(ApplyFlags(&config, &given));
  return config;
}

namespace {

void AddFieldFlags(const Descriptor* descriptor, std::vector<cli::FlagSpec>* flags) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (FlattensIntoFlags(field)) {
      AddFieldFlags(field->message_type(), flags);
    } else {
      // Descriptor names live as long as the generated pool, i.e. the program.
      flags->push_back(cli::FlagSpec{.name = field->name()});
    }
  }
}

}  // namespace

const cli::Command& DaemonCommand() {
  static const cli::Command command = [] {
    cli::Command result{
        .name = "",
        .arguments = "",
        .summary = "the streaming online estimator daemon",
        .description =
            "Streaming Gaussian maximum-likelihood estimates and NLL for live streams.\n"
            "Producers push samples over TCP (varint length-delimited mled.v1.ClientMessage\n"
            "frames) or UDP (one mled.v1.Ingest per datagram); subscribers receive estimates\n"
            "at intervals. With no flags mled listens on loopback only: TCP and UDP on\n"
            "127.0.0.1:7070. Every config field is also a flag; flags given here override the\n"
            "config file (--config).\n"
            "\n"
            "Stream rules (config `rules`, or --rules/--default_rule) choose each stream's\n"
            "estimator (cumulative, exponential, window), dimension and anomaly policy; every\n"
            "sample is scored against its stream's model before it updates it, and anomalies\n"
            "go to subscribers at once. See config/mled.textproto and the README.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop cleanly (exit 0); SIGHUP reloads log_level,\n"
            "publish_interval and the stream rules from the config file.\n"
            "Exit codes: 0 clean stop, 1 cannot start (address in use, ...), 2 bad flags or\n"
            "config.\n",
        .flags = {cli::FlagSpec{.name = "config"}, cli::FlagSpec{.name = "version"}},
        .run = nullptr};
    AddFieldFlags(mled::v1::Config::descriptor(), &result.flags);
    return result;
  }();
  return command;
}

absl::StatusOr<DaemonConfig> ResolveConfig(const mled::v1::Config& config) {
  DaemonConfig out;
  out.proto = config;
  absl::StatusOr<HostPort> listen = ParseHostPort(config.listen());
  if (!listen.ok()) return Invalid("listen", listen.status().message());
  out.listen = *std::move(listen);
  // The other interfaces are off when their address is empty.
  for (const auto& [field, text, address] :
       {std::tuple("udp", &config.udp(), &out.udp), std::tuple("http", &config.http(), &out.http),
        std::tuple("statsd", &config.statsd(), &out.statsd)}) {
    if (text->empty()) continue;
    absl::StatusOr<HostPort> parsed = ParseHostPort(*text);
    if (!parsed.ok()) return Invalid(field, parsed.status().message());
    *address = *std::move(parsed);
  }
  if (config.udp_receive_buffer_bytes() < 4096) {
    return Invalid("udp_receive_buffer_bytes", "must be at least 4096");
  }
  out.udp_receive_buffer_bytes = config.udp_receive_buffer_bytes();
  if (!absl::ParseDuration(config.statsd_flush_interval(), &out.statsd_flush_interval) ||
      out.statsd_flush_interval < absl::Milliseconds(10) ||
      out.statsd_flush_interval > absl::Hours(24)) {
    return Invalid("statsd_flush_interval",
                   absl::StrCat("= \"", config.statsd_flush_interval(),
                                "\" is not a duration between 10ms and 24h, e.g. 10s"));
  }
  if (!absl::ParseDuration(config.publish_interval(), &out.publish_interval) ||
      out.publish_interval < absl::Milliseconds(1)) {
    return Invalid("publish_interval",
                   absl::StrCat("= \"", config.publish_interval(),
                                "\" is not a duration of at least 1ms, e.g. 1s or 250ms"));
  }
  if (!ParseLogLevel(config.log_level(), &out.log_level)) {
    return Invalid("log_level", absl::StrCat("= \"", config.log_level(),
                                             "\" is not one of info, warning, error"));
  }
  out.io_threads = config.io_threads();
  if (out.io_threads == 0) out.io_threads = std::max(1u, std::thread::hardware_concurrency());
  if (out.io_threads > 1024) return Invalid("io_threads", "must be at most 1024");
  out.shards = config.shards();
  if (out.shards == 0) out.shards = std::bit_ceil(16 * out.io_threads);
  if (!std::has_single_bit(out.shards) || out.shards > 65536) {
    return Invalid("shards", absl::StrCat("= ", out.shards, " must be a power of two <= 65536"));
  }

  const mled::v1::Limits& limits = config.limits();
  if (limits.max_streams() < 1) return Invalid("limits.max_streams", "must be at least 1");
  if (limits.max_dim() < 1 || limits.max_dim() > 4096) {
    return Invalid("limits.max_dim", "must be between 1 and 4096");
  }
  if (limits.max_name_bytes() < 1 || limits.max_name_bytes() > 65536) {
    return Invalid("limits.max_name_bytes", "must be between 1 and 65536");
  }
  if (limits.max_frame_bytes() < 64 || limits.max_frame_bytes() > (1ull << 30)) {
    return Invalid("limits.max_frame_bytes", "must be between 64 and 1073741824 (1 GiB)");
  }
  if (limits.max_datagram_bytes() < 64 || limits.max_datagram_bytes() > 65507) {
    return Invalid("limits.max_datagram_bytes", "must be between 64 and 65507");
  }
  if (limits.max_query_streams() < 1) {
    return Invalid("limits.max_query_streams", "must be at least 1");
  }
  if (limits.max_session_write_bytes() < 65536) {
    return Invalid("limits.max_session_write_bytes", "must be at least 65536");
  }
  if (limits.max_connections() < 1) return Invalid("limits.max_connections", "must be at least 1");
  if (!(limits.max_abs_value() > 0) || limits.max_abs_value() > 1e150) {
    return Invalid("limits.max_abs_value", "must be in (0, 1e150]");
  }
  out.engine_limits.max_streams = limits.max_streams();
  out.engine_limits.ingest.max_dim = limits.max_dim();
  out.engine_limits.ingest.max_name_bytes = limits.max_name_bytes();
  out.engine_limits.ingest.max_abs_value = limits.max_abs_value();
  out.engine_limits.max_query_streams = limits.max_query_streams();
  out.engine_limits.max_rejections_per_ack = limits.max_rejections_per_ack();
  out.max_frame_bytes = limits.max_frame_bytes();
  out.max_datagram_bytes = limits.max_datagram_bytes();
  out.max_session_write_bytes = limits.max_session_write_bytes();
  out.max_connections = limits.max_connections();
  out.max_subscriptions_per_connection = limits.max_subscriptions_per_connection();
  if (limits.max_http_header_bytes() < 1024 || limits.max_http_header_bytes() > (1u << 20)) {
    return Invalid("limits.max_http_header_bytes", "must be between 1024 and 1048576 (1 MiB)");
  }
  if (limits.max_http_body_bytes() < 1024 || limits.max_http_body_bytes() > (1ull << 30)) {
    return Invalid("limits.max_http_body_bytes", "must be between 1024 and 1073741824 (1 GiB)");
  }
  if (limits.max_metrics_streams() < 1) {
    return Invalid("limits.max_metrics_streams", "must be at least 1");
  }
  if (limits.max_http_connections() < 1) {
    return Invalid("limits.max_http_connections", "must be at least 1");
  }
  out.max_http_header_bytes = limits.max_http_header_bytes();
  out.max_http_body_bytes = limits.max_http_body_bytes();
  out.max_metrics_streams = limits.max_metrics_streams();
  out.max_http_connections = limits.max_http_connections();
  if (limits.max_window_buckets() < 1 || limits.max_window_buckets() > stats::kMaxWindowBuckets) {
    return Invalid("limits.max_window_buckets",
                   absl::StrCat("must be between 1 and ", stats::kMaxWindowBuckets));
  }
  absl::Duration max_time_ahead;
  if (!absl::ParseDuration(limits.max_time_ahead(), &max_time_ahead) ||
      max_time_ahead < absl::ZeroDuration() || max_time_ahead == absl::InfiniteDuration()) {
    return Invalid("limits.max_time_ahead",
                   absl::StrCat("= \"", limits.max_time_ahead(),
                                "\" is not a finite duration >= 0, e.g. 1h or 5m"));
  }
  out.engine_limits.ingest.max_time_ahead_ns = absl::ToInt64Nanoseconds(max_time_ahead);
  const engine::RuleLimits rule_limits{.max_rules = limits.max_rules(),
                                       .max_window_buckets = limits.max_window_buckets(),
                                       .max_dim = limits.max_dim()};
  absl::StatusOr<std::shared_ptr<const engine::StreamRules>> rules =
      engine::StreamRules::FromConfig(config.rules(), config.default_rule(), rule_limits);
  if (!rules.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config: ", rules.status().message(),
        " (set it in the config file's rules, or with --rules / --default_rule)"));
  }
  out.rules = *std::move(rules);
  return out;
}

}  // namespace mled::daemon
