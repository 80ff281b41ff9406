#include "daemon/config.h"

#include <fstream>
#include <string>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/message_differencer.h"

namespace mled::daemon {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Every field of Config, and of `limits`, has a flag of the same name (the stream rules are
// one text-format flag each).
void ExpectFlagsFor(const Descriptor* descriptor) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->message_type() == mled::v1::Limits::descriptor()) {
      ExpectFlagsFor(field->message_type());
      continue;
    }
    EXPECT_NE(absl::FindCommandLineFlag(field->name()), nullptr)
        << field->full_name() << " has no --" << field->name() << " flag";
  }
}

TEST(ConfigTest, EveryConfigFieldHasAFlag) { ExpectFlagsFor(mled::v1::Config::descriptor()); }

TEST(ConfigTest, DefaultsAreCompleteAndValid) {
  absl::StatusOr<mled::v1::Config> config = MergeWithFlags(nullptr, {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen(), "127.0.0.1:7070");
  EXPECT_EQ(config->udp(), "127.0.0.1:7070");
  EXPECT_EQ(config->limits().max_streams(), 1000000u);
  EXPECT_EQ(config->limits().max_dim(), 256u);
  EXPECT_EQ(config->limits().max_frame_bytes(), 16u << 20);
  absl::StatusOr<DaemonConfig> resolved = ResolveConfig(*config);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->listen.host, "127.0.0.1");  // loopback only by default
  EXPECT_EQ(resolved->publish_interval, absl::Seconds(1));
  EXPECT_GE(resolved->io_threads, 1u);
  EXPECT_EQ(resolved->shards & (resolved->shards - 1), 0u);
}

// config/mled.textproto documents every field with its default: loading it changes nothing.
TEST(ConfigTest, ExampleConfigLoadsAndStatesTheDefaults) {
  absl::StatusOr<mled::v1::Config> file =
      LoadConfigFile(std::string(MLED_SOURCE_DIR) + "/config/mled.textproto");
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, {});
  absl::StatusOr<mled::v1::Config> defaults = MergeWithFlags(nullptr, {});
  ASSERT_TRUE(merged.ok() && defaults.ok());
  // The default rule is spelled out in the file but left unset by default: compare its meaning.
  absl::StatusOr<DaemonConfig> from_file = ResolveConfig(*merged);
  absl::StatusOr<DaemonConfig> built_in = ResolveConfig(*defaults);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(built_in.ok()) << built_in.status();
  const engine::StreamRule& file_rule = from_file->rules->default_rule();
  const engine::StreamRule& built_in_rule = built_in->rules->default_rule();
  EXPECT_EQ(file_rule.name, built_in_rule.name);
  EXPECT_TRUE(file_rule.estimator == built_in_rule.estimator);
  EXPECT_EQ(file_rule.dim, built_in_rule.dim);
  EXPECT_TRUE(file_rule.anomaly == built_in_rule.anomaly);
  EXPECT_EQ(from_file->rules->size(), 0u);
  merged->clear_default_rule();

  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  EXPECT_TRUE(differencer.Compare(*defaults, *merged)) << difference;
  // And it sets every field explicitly (but the rules list, shown in comments), so it
  // documents each one, down to every field of the default rule's anomaly policy.
  std::vector<const FieldDescriptor*> set;
  file->GetReflection()->ListFields(*file, &set);
  EXPECT_EQ(static_cast<int>(set.size()), mled::v1::Config::descriptor()->field_count() - 1);
  set.clear();
  file->limits().GetReflection()->ListFields(file->limits(), &set);
  EXPECT_EQ(static_cast<int>(set.size()), mled::v1::Limits::descriptor()->field_count());
  set.clear();
  const mled::v1::AnomalyPolicy& anomaly = file->default_rule().anomaly();
  anomaly.GetReflection()->ListFields(anomaly, &set);
  // Three threshold forms share one oneof: one is set.
  EXPECT_EQ(static_cast<int>(set.size()), mled::v1::AnomalyPolicy::descriptor()->field_count() - 2);
}

// Every example config in config/ loads and resolves.
TEST(ConfigTest, RulesExampleLoads) {
  absl::StatusOr<mled::v1::Config> file =
      LoadConfigFile(std::string(MLED_SOURCE_DIR) + "/config/rules-example.textproto");
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, {});
  ASSERT_TRUE(merged.ok()) << merged.status();
  absl::StatusOr<DaemonConfig> resolved = ResolveConfig(*merged);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->rules->size(), 3u);
}

TEST(ConfigTest, RulesFlagsReplaceTheFileRules) {
  absl::StatusOr<mled::cli::ParsedCommandLine> parsed = cli::ParseCommandLine(
      DaemonCommand(),
      {"--rules=rules { match: \"a/*\" window { length: \"1m\" } }",
       "--default_rule=exponential { half_life: \"10s\" } anomaly { p_value: 0.001 }"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<mled::v1::Config> file = ParseConfigText(
      "rules { match: \"b/*\" } rules { match: \"c/*\" }", "test.textproto");
  ASSERT_TRUE(file.ok());
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, parsed->given);
  ASSERT_TRUE(merged.ok()) << merged.status();
  ASSERT_EQ(merged->rules_size(), 1);
  EXPECT_EQ(merged->rules(0).match(0), "a/*");
  EXPECT_EQ(merged->default_rule().exponential().half_life(), "10s");
  absl::StatusOr<DaemonConfig> resolved = ResolveConfig(*merged);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->rules->Match("a/x").estimator.kind, mled::v1::ESTIMATOR_WINDOW);
  EXPECT_EQ(resolved->rules->Match("zzz").estimator.kind, mled::v1::ESTIMATOR_EXPONENTIAL);
}

TEST(ConfigTest, BadRuleFlagIsAClearError) {
  absl::StatusOr<mled::cli::ParsedCommandLine> parsed =
      cli::ParseCommandLine(DaemonCommand(), {"--rules=rules { match: \"a\" bogus: 1 }"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(nullptr, parsed->given);
  ASSERT_FALSE(merged.ok());
  EXPECT_THAT(merged.status().message(), testing::HasSubstr("--rules"));
  EXPECT_THAT(merged.status().message(), testing::HasSubstr("bogus"));
}

TEST(ConfigTest, InvalidRulesAreRejectedWithTheRuleAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {"rules { name: \"r\" window { length: \"5m\" } }", "no match patterns"},
      {"rules { name: \"r\" match: \"x\" exponential { half_life: \"-1s\" } }", "half_life"},
      {"rules { name: \"r\" match: \"x\" window { length: \"nope\" } }", "window.length"},
      {"rules { name: \"r\" match: \"x\" window { length: \"5m\" buckets: 0 } }",
       "window.buckets"},
      {"rules { name: \"r\" match: \"x\" anomaly { p_value: 1.5 } }", "p_value"},
      {"rules { name: \"r\" match: \"x\" anomaly { abs_z: 4 } }", "abs_z"},
      {"rules { name: \"r\" match: \"x\" anomaly { cooldown: \"soon\" } }", "cooldown"},
      {"rules { name: \"r\" match: \"x\" dim: 100000 }", "max_dim"},
  };
  for (const auto& [text, expected] : cases) {
    absl::StatusOr<mled::v1::Config> file = ParseConfigText(text, "test.textproto");
    ASSERT_TRUE(file.ok()) << text << ": " << file.status();
    absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, {});
    ASSERT_TRUE(merged.ok());
    absl::StatusOr<DaemonConfig> resolved = ResolveConfig(*merged);
    ASSERT_FALSE(resolved.ok()) << text;
    EXPECT_THAT(resolved.status().message(), testing::HasSubstr(expected)) << text;
    EXPECT_THAT(resolved.status().message(), testing::HasSubstr("\"r\"")) << text;
  }
}

TEST(ConfigTest, GivenFlagsOverrideTheFile) {
  absl::StatusOr<mled::cli::ParsedCommandLine> parsed =
      mled::cli::ParseCommandLine(DaemonCommand(), {"--max_streams=7", "--udp="});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<mled::v1::Config> file =
      ParseConfigText("udp: \"127.0.0.1:1\"\nlimits { max_streams: 42 max_dim: 3 }\n", "t");
  ASSERT_TRUE(file.ok());
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, parsed->given);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->limits().max_streams(), 7u);
  EXPECT_EQ(merged->udp(), "");  // an empty value given on the command line still wins
  EXPECT_EQ(merged->limits().max_dim(), 3u);
}

TEST(ConfigTest, HelpExplainsEveryFlag) {
  const std::string help = mled::cli::CommandHelp("mled", DaemonCommand());
  EXPECT_NE(help.find("usage: mled [flags]"), std::string::npos) << help;
  for (const mled::cli::FlagSpec& flag : DaemonCommand().flags) {
    EXPECT_NE(help.find(absl::StrCat("--", flag.name)), std::string::npos) << flag.name;
  }
  // Wrapped for an 80-column terminal.
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST(ConfigTest, UnknownFlagIsAUsageError) {
  absl::StatusOr<mled::cli::ParsedCommandLine> parsed =
      mled::cli::ParseCommandLine(DaemonCommand(), {"--max_stream=7"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("--max_stream"), std::string::npos);
}

TEST(ConfigTest, FileOverridesDefaults) {
  absl::StatusOr<mled::v1::Config> file = ParseConfigText(
      "listen: \"127.0.0.1:9000\"\nlimits { max_streams: 42 }\n", "test.textproto");
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, {});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->listen(), "127.0.0.1:9000");
  EXPECT_EQ(merged->limits().max_streams(), 42u);
  EXPECT_EQ(merged->limits().max_dim(), 256u);  // untouched fields keep their defaults
}

TEST(ConfigTest, ParseErrorsNameFileLineAndColumn) {
  absl::StatusOr<mled::v1::Config> config =
      ParseConfigText("listen: \"x\"\n  lisen: 3\n", "my.textproto");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("my.textproto:2:"), std::string::npos)
      << config.status();
  EXPECT_NE(config.status().message().find("lisen"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<mled::v1::Config> config = LoadConfigFile("/nonexistent/mled.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, ResolveRejectsBadValuesWithTheFieldName) {
  struct Case {
    const char* text;
    const char* field;
  };
  for (const Case& c : {Case{"listen: \"nohost\"", "listen"},
                        Case{"listen: \"127.0.0.1:99999\"", "listen"},
                        Case{"publish_interval: \"soon\"", "publish_interval"},
                        Case{"shards: 12", "shards"},
                        Case{"log_level: \"debug\"", "log_level"},
                        Case{"limits { max_dim: 0 }", "max_dim"},
                        Case{"limits { max_frame_bytes: 10 }", "max_frame_bytes"},
                        Case{"limits { max_abs_value: 1e300 }", "max_abs_value"}}) {
    absl::StatusOr<mled::v1::Config> file = ParseConfigText(c.text, "t");
    ASSERT_TRUE(file.ok()) << c.text;
    absl::StatusOr<mled::v1::Config> merged = MergeWithFlags(&*file, {});
    ASSERT_TRUE(merged.ok());
    absl::StatusOr<DaemonConfig> resolved = ResolveConfig(*merged);
    ASSERT_FALSE(resolved.ok()) << c.text;
    EXPECT_NE(resolved.status().message().find(c.field), std::string::npos) << resolved.status();
  }
}

}  // namespace
}  // namespace mled::daemon

