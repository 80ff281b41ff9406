#include "lib/wire/prometheus_text.h"

#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mled::wire {
namespace {

using ::mled::v1::DaemonStats;
using ::mled::v1::Estimate;
using ::testing::HasSubstr;
using ::testing::Not;

Estimate Univariate(const std::string& name, uint64_t count, double mean, double variance) {
  Estimate estimate;
  estimate.set_stream(name);
  estimate.set_count(count);
  estimate.set_dim(1);
  estimate.add_mean(mean);
  estimate.add_covariance(variance);
  estimate.set_estimator(mled::v1::ESTIMATOR_CUMULATIVE);
  estimate.set_effective_count(static_cast<double>(count));
  return estimate;
}

std::string Render(const std::vector<Estimate>& estimates, uint64_t omitted = 0,
                   const DaemonStats& stats = DaemonStats()) {
  std::string page;
  AppendPrometheusText(estimates, omitted, stats, &page);
  return page;
}

// The per-stream part of the page: from the first per-stream family to the end.
std::string StreamPart(const std::string& page) {
  const size_t start = page.find("# HELP mled_samples ");
  EXPECT_NE(start, std::string::npos) << page;
  return start == std::string::npos ? "" : page.substr(start);
}

// The page without its # lines.
std::vector<std::string> SampleLines(const std::string& page) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    if (line[0] != '#') lines.emplace_back(line);
  }
  return lines;
}

TEST(PrometheusTextTest, ExactStreamFamiliesForSmallInput) {
  Estimate a = Univariate("a", 3, 20.1, 0.0622222222222222);
  a.set_nll(-0.2634);
  a.set_mean_nll(-0.0878);
  a.set_anomalies(2);
  a.set_last_score(1.5);
  Estimate b = Univariate("b/c", 1, -1e100, 0);  // degenerate: no nll, never scored
  EXPECT_EQ(StreamPart(Render({a, b})),
            "# HELP mled_samples Samples the stream's model stands on: the count for "
            "cumulative "
            "and window estimators, Kish's effective count for exponential ones.\n"
            "# TYPE mled_samples gauge\n"
            "mled_samples{stream=\"a\"} 3\n"
            "mled_samples{stream=\"b/c\"} 1\n"
            "# HELP mled_mean MLE of the stream's mean; one series per component "
            "(label dim) "
            "when D > 1.\n"
            "# TYPE mled_mean gauge\n"
            "mled_mean{stream=\"a\"} 20.1\n"
            "mled_mean{stream=\"b/c\"} -1e+100\n"
            "# HELP mled_variance MLE of the stream's variance (divisor N); the "
            "covariance "
            "diagonal, one series per component (label dim), when D > 1.\n"
            "# TYPE mled_variance gauge\n"
            "mled_variance{stream=\"a\"} 0.0622222222222222\n"
            "mled_variance{stream=\"b/c\"} 0\n"
            "# HELP mled_nll Negative log-likelihood of the stream's samples at the "
            "MLE, in "
            "nats; absent while the model is degenerate.\n"
            "# TYPE mled_nll gauge\n"
            "mled_nll{stream=\"a\"} -0.2634\n"
            "# HELP mled_mean_nll Negative log-likelihood per sample at the MLE, in "
            "nats; absent "
            "while the model is degenerate.\n"
            "# TYPE mled_mean_nll gauge\n"
            "mled_mean_nll{stream=\"a\"} -0.0878\n"
            "# HELP mled_anomalies_total Samples of the stream flagged as anomalies "
            "since it "
            "began or was reset.\n"
            "# TYPE mled_anomalies_total counter\n"
            "mled_anomalies_total{stream=\"a\"} 2\n"
            "mled_anomalies_total{stream=\"b/c\"} 0\n"
            "# HELP mled_last_score Anomaly score (negative log-likelihood, nats) of "
            "the "
            "stream's latest scored sample; absent before any.\n"
            "# TYPE mled_last_score gauge\n"
            "mled_last_score{stream=\"a\"} 1.5\n");
}

TEST(PrometheusTextTest, AppendsToExistingText) {
  std::string page = "prefix\n";
  AppendPrometheusText({}, 0, DaemonStats(), &page);
  EXPECT_EQ(page.rfind("prefix\n# HELP ", 0), 0u);
}

TEST(PrometheusTextTest, EscapesLabelValues) {
  const std::vector<Estimate> estimates = {
      Univariate("quote\"d", 1, 1, 0),
      Univariate("back\\slash", 1, 2, 0),
      Univariate("new\nline", 1, 3, 0),
      Univariate("\\\"\n\\n", 1, 4, 0),
      Univariate("temp/\xC2\xB0"
                 "C/\xE6\xB8\xA9\xE5\xBA\xA6/\xF0\x9F\x94\xA5",
                 1, 5, 0),
      Univariate("bad\xFF\xC0\xAF"
                 "end\xE2\x82",
                 1, 6, 0),  // invalid UTF-8
      Univariate("{a=\"b\"} 7 #", 1, 7, 0),
  };
  const std::string page = Render(estimates);
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"quote\\\"d\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"back\\\\slash\"} 2\n"));
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"new\\nline\"} 3\n"));
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"\\\\\\\"\\n\\\\n\"} 4\n"));
  // Valid UTF-8 passes through untouched.
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"temp/\xC2\xB0"
                              "C/\xE6\xB8\xA9\xE5\xBA\xA6/"
                              "\xF0\x9F\x94\xA5\"} 5\n"));
  // Each invalid byte becomes U+FFFD, so the page stays valid UTF-8.
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                              "end\xEF\xBF\xBD\xEF\xBF\xBD\"} 6\n"));
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"{a=\\\"b\\\"} 7 #\"} 7\n"));
  // No raw newline inside any sample line: every line is a comment or starts with a name.
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(line[0] == '#' || absl::StartsWith(line, "mled_")) << line;
  }
}

TEST(PrometheusTextTest, MultivariateHasOneSeriesPerComponent) {
  Estimate e;
  e.set_stream("xyz");
  e.set_count(10);
  e.set_dim(3);
  for (double m : {1.0, 2.0, 3.0}) e.add_mean(m);
  for (double c : {4.0, 0.1, 0.2, 0.1, 5.0, 0.3, 0.2, 0.3, 6.0}) e.add_covariance(c);
  e.set_nll(12.5);
  e.set_mean_nll(1.25);
  const std::string page = StreamPart(Render({e}));
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"xyz\",dim=\"0\"} 1\n"
                              "mled_mean{stream=\"xyz\",dim=\"1\"} 2\n"
                              "mled_mean{stream=\"xyz\",dim=\"2\"} 3\n"));
  EXPECT_THAT(page, HasSubstr("mled_variance{stream=\"xyz\",dim=\"0\"} 4\n"
                              "mled_variance{stream=\"xyz\",dim=\"1\"} 5\n"
                              "mled_variance{stream=\"xyz\",dim=\"2\"} 6\n"));
  // Whole-stream families carry no dim label.
  EXPECT_THAT(page, HasSubstr("mled_samples{stream=\"xyz\"} 10\n"));
  EXPECT_THAT(page, HasSubstr("mled_nll{stream=\"xyz\"} 12.5\n"));
  EXPECT_THAT(page,
              Not(HasSubstr("0.1\n")));  // off-diagonal entries are not exported
}

TEST(PrometheusTextTest, UnivariateHasNoDimLabel) {
  const std::string page = Render({Univariate("u", 2, 1, 1)});
  EXPECT_THAT(page, Not(HasSubstr("dim=")));
}

TEST(PrometheusTextTest, AbsentNllAndScoreAreLeftOut) {
  const std::string page = Render({Univariate("degenerate", 1, 5, 0)});
  EXPECT_THAT(page, Not(HasSubstr("mled_nll{")));
  EXPECT_THAT(page, Not(HasSubstr("mled_mean_nll{")));
  EXPECT_THAT(page, Not(HasSubstr("mled_last_score{")));
  // The families are still declared, so the page names the same families whatever the state.
  EXPECT_THAT(page, HasSubstr("# TYPE mled_nll gauge\n"));
  EXPECT_THAT(page, HasSubstr("mled_samples{stream=\"degenerate\"} 1\n"));
}

TEST(PrometheusTextTest, SamplesIsTheEffectiveCountUnderForgetting) {
  Estimate exponential = Univariate("exp", 1000, 1, 1);
  exponential.set_estimator(mled::v1::ESTIMATOR_EXPONENTIAL);
  exponential.set_effective_count(412.75);
  Estimate window = Univariate("win", 50, 1, 1);
  window.set_estimator(mled::v1::ESTIMATOR_WINDOW);
  window.set_effective_count(50);
  const std::string page = Render({exponential, window});
  EXPECT_THAT(page, HasSubstr("mled_samples{stream=\"exp\"} 412.75\n"));
  EXPECT_THAT(page, HasSubstr("mled_samples{stream=\"win\"} 50\n"));
}

TEST(PrometheusTextTest, NumbersRoundTrip) {
  const std::vector<double> values = {
      0.1, 1.0 / 3, -2.5e-300, 1e100, 123456789.123, 4.9e-324, 1e21, -0.0, 1.7976931348623157e308};
  std::vector<Estimate> estimates;
  for (size_t i = 0; i < values.size(); ++i) {
    estimates.push_back(Univariate(absl::StrCat("s", i), 2, values[i], 1));
  }
  const std::string page = Render(estimates);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string prefix = absl::StrCat("mled_mean{stream=\"s", i, "\"} ");
    const size_t at = page.find(prefix);
    ASSERT_NE(at, std::string::npos) << prefix;
    const std::string number =
        page.substr(at + prefix.size(), page.find('\n', at) - at - prefix.size());
    EXPECT_EQ(std::strtod(number.c_str(), nullptr), values[i]) << number;
  }
}

TEST(PrometheusTextTest, NonFiniteValuesUseTheFormatsSpelling) {
  Estimate e = Univariate("nf", 2, std::numeric_limits<double>::infinity(),
                          std::numeric_limits<double>::quiet_NaN());
  e.set_nll(-std::numeric_limits<double>::infinity());
  const std::string page = Render({e});
  EXPECT_THAT(page, HasSubstr("mled_mean{stream=\"nf\"} +Inf\n"));
  EXPECT_THAT(page, HasSubstr("mled_variance{stream=\"nf\"} NaN\n"));
  EXPECT_THAT(page, HasSubstr("mled_nll{stream=\"nf\"} -Inf\n"));
}

TEST(PrometheusTextTest, OmittedStreamsAreReported) {
  EXPECT_THAT(Render({}, 0), HasSubstr("\nmled_metrics_streams_omitted 0\n"));
  EXPECT_THAT(Render({Univariate("a", 1, 1, 0)}, 99999),
              HasSubstr("\nmled_metrics_streams_omitted 99999\n"));
}

TEST(PrometheusTextTest, FamiliesAreGroupedWithHelpAndTypeFirst) {
  Estimate multi;
  multi.set_stream("m");
  multi.set_count(5);
  multi.set_dim(2);
  multi.add_mean(1);
  multi.add_mean(2);
  for (double c : {1.0, 0.0, 0.0, 1.0}) multi.add_covariance(c);
  multi.set_nll(3);
  multi.set_mean_nll(0.6);
  Estimate uni = Univariate("u", 5, 1, 1);
  uni.set_nll(1);
  uni.set_mean_nll(0.2);
  uni.set_last_score(2);
  DaemonStats stats;
  (*stats.mutable_samples_rejected_by_code())["INVALID_ARGUMENT"] = 3;
  const std::string page = Render({multi, uni, Univariate("z", 1, 0, 0)}, 0, stats);

  std::set<std::string> finished;
  std::string current;
  std::set<std::string> helped;
  std::set<std::string> typed;
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    std::string family;
    if (line[0] == '#') {
      ASSERT_GE(words.size(), 3u) << line;
      family = words[2];
      if (words[1] == "HELP") {
        EXPECT_TRUE(helped.insert(family).second) << "second HELP for " << family;
      } else {
        ASSERT_EQ(words[1], "TYPE") << line;
        EXPECT_TRUE(helped.count(family)) << "TYPE before HELP for " << family;
        EXPECT_TRUE(typed.insert(family).second) << "second TYPE for " << family;
      }
    } else {
      family = std::string(line.substr(0, line.find_first_of("{ ")));
      EXPECT_TRUE(typed.count(family)) << "sample before TYPE: " << line;
    }
    if (family != current) {
      EXPECT_FALSE(finished.count(family)) << family << " is split: " << line;
      if (!current.empty()) finished.insert(current);
      current = family;
    }
  }
}

// Every DaemonStats field reaches the page: each gets a distinct value, and the value must appear
// on a sample line. A field added to the proto without a metric fails here.
TEST(PrometheusTextTest, EveryDaemonStatsFieldIsExported) {
  DaemonStats stats;
  const auto* descriptor = DaemonStats::descriptor();
  const auto* reflection = DaemonStats::GetReflection();
  // Not counters: the request id and the snapshot's own time. The totals of accepted and rejected
  // samples are the sums of the labelled series (by transport, by code).
  const std::set<std::string> skipped = {"id", "time_unix_nano", "samples_accepted",
                                         "samples_rejected"};
  std::vector<std::pair<std::string, std::string>> expected;  // field, sample value text
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (skipped.count(field->name()) || field->is_map()) continue;
    // Durations in nanoseconds are exported in seconds: make them whole milliseconds so the seconds
    // print exactly (100.003).
    const bool nanos =
        absl::EndsWith(field->name(), "_ns") || absl::EndsWith(field->name(), "_nanos");
    const uint64_t base = 100000 + static_cast<uint64_t>(field->number());
    const uint64_t value = nanos ? base * 1'000'000 : base;
    switch (field->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(&stats, field, value);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(&stats, field, static_cast<int64_t>(value));
        break;
      default:
        FAIL() << "unexpected type of DaemonStats." << field->name();
    }
    expected.emplace_back(
        field->name(), nanos
                           ? absl::StrCat(base / 1000, ".", absl::Dec(base % 1000, absl::kZeroPad3))
                           : absl::StrCat(value));
  }
  (*stats.mutable_samples_rejected_by_code())["DIMENSION_MISMATCH"] = 777;
  const std::string page = Render({}, 0, stats);
  const std::vector<std::string> lines = SampleLines(page);
  for (const auto& [field, text] : expected) {
    bool found = false;
    for (const std::string& line : lines) {
      found = found || absl::EndsWith(line, absl::StrCat(" ", text));
    }
    EXPECT_TRUE(found) << "DaemonStats." << field << " (" << text << ") is not on the page:\n"
                       << page;
  }
}

TEST(PrometheusTextTest, DaemonCountersByLabel) {
  DaemonStats stats;
  stats.set_samples_accepted_tcp(1);
  stats.set_samples_accepted_udp(2);
  stats.set_samples_accepted_http(3);
  stats.set_samples_accepted_statsd(4);
  stats.set_udp_receive_drops(5);
  stats.set_statsd_receive_drops(6);
  stats.set_uptime_ns(1'500'000'000);
  stats.set_publish_tick_nanos(250'000);
  (*stats.mutable_samples_rejected_by_code())["INVALID_ARGUMENT"] = 7;
  (*stats.mutable_samples_rejected_by_code())["SOME_FUTURE_CODE"] = 8;
  const std::string page = Render({}, 0, stats);
  EXPECT_THAT(page, HasSubstr("# TYPE mled_samples_accepted_total counter\n"
                              "mled_samples_accepted_total{transport=\"tcp\"} 1\n"
                              "mled_samples_accepted_total{transport=\"udp\"} 2\n"
                              "mled_samples_accepted_total{transport=\"http\"} 3\n"
                              "mled_samples_accepted_total{transport=\"statsd\"} 4\n"));
  EXPECT_THAT(page, HasSubstr("mled_udp_receive_drops_total{socket=\"udp\"} 5\n"
                              "mled_udp_receive_drops_total{socket=\"statsd\"} 6\n"));
  EXPECT_THAT(page, HasSubstr("\nmled_uptime_seconds 1.5\n"));
  EXPECT_THAT(page, HasSubstr("\nmled_publish_tick_seconds_total 0.00025\n"));
  // Every known code is present from the start (at 0), unknown keys follow, sorted.
  EXPECT_THAT(page, HasSubstr("# TYPE mled_samples_rejected_total counter\n"
                              "mled_samples_rejected_total{code=\"INVALID_ARGUMENT\"} 7\n"
                              "mled_samples_rejected_total{code=\"DIMENSION_MISMATCH\"} 0\n"));
  EXPECT_THAT(page, HasSubstr("mled_samples_rejected_total{code=\"INTERNAL\"} 0\n"
                              "mled_samples_rejected_total{code=\"SOME_FUTURE_CODE\"} 8\n"));
  EXPECT_THAT(page, Not(HasSubstr("CODE_UNSPECIFIED")));
}

TEST(PrometheusTextTest, ContentTypeIsTheTextFormat) {
  EXPECT_EQ(std::string(kPrometheusContentType), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace mled::wire
