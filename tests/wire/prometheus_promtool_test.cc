// Runs Prometheus' own linter, `promtool check metrics`, on a page rendered from adversarial stream
// names and every kind of stream: the page must parse and lint with no output at all. Skips (saying
// why) only when promtool is not installed; scripts/setup installs it.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/wire/prometheus_text.h"

namespace mled::wire {
namespace {

using ::mled::v1::DaemonStats;
using ::mled::v1::Estimate;

constexpr char kPromtool[] = "/usr/bin/promtool";

Estimate Stream(const std::string& name, int dim, mled::v1::Estimator estimator, bool degenerate,
                bool scored) {
  Estimate e;
  e.set_stream(name);
  e.set_count(1000);
  e.set_dim(static_cast<uint32_t>(dim));
  for (int i = 0; i < dim; ++i) e.add_mean(1e9 + i + 0.125);
  for (int r = 0; r < dim; ++r) {
    for (int c = 0; c < dim; ++c) e.add_covariance(r == c ? 1.0 / 3 + r : 1e-3);
  }
  if (!degenerate) {
    e.set_nll(1419.0 * dim);
    e.set_mean_nll(1.419 * dim);
  }
  if (scored) {
    e.set_last_score(2.5e-7);
    e.set_last_p_value(0.5);
    e.set_anomalies(12);
  }
  e.set_estimator(estimator);
  e.set_effective_count(estimator == mled::v1::ESTIMATOR_EXPONENTIAL ? 377.25 : 1000);
  e.set_rule("rule \"quoted\"");
  return e;
}

std::string AdversarialPage() {
  const std::vector<std::string> names = {
      "plain",
      "with space",
      "quote\"d",
      "back\\slash",
      "trailing\\",
      "new\nline",
      "\\n literal",
      "{a=\"b\"} 1 # comment",
      "utf8/\xC3\xA9t\xC3\xA9/\xE6\xB8\xA9\xE5\xBA\xA6/\xF0\x9F\x94\xA5",
      "invalid\xFF\xFE utf8",
      "tab\there\rcr",
      "# HELP mled_mean injected",
      "",
  };
  std::vector<Estimate> estimates;
  for (const std::string& name : names) {
    estimates.push_back(Stream(name, 1, mled::v1::ESTIMATOR_CUMULATIVE, false, true));
  }
  estimates.push_back(Stream("multi/3", 3, mled::v1::ESTIMATOR_CUMULATIVE, false, true));
  estimates.push_back(Stream("multi\"/2", 2, mled::v1::ESTIMATOR_WINDOW, true, false));
  estimates.push_back(Stream("exp", 1, mled::v1::ESTIMATOR_EXPONENTIAL, false, true));
  estimates.push_back(Stream("exp/4", 4, mled::v1::ESTIMATOR_EXPONENTIAL, false, false));
  estimates.push_back(Stream("window", 1, mled::v1::ESTIMATOR_WINDOW, false, true));
  estimates.push_back(Stream("degenerate", 1, mled::v1::ESTIMATOR_CUMULATIVE, true, false));
  estimates.push_back(Stream("unspecified", 1, mled::v1::ESTIMATOR_UNSPECIFIED, false, false));
  Estimate empty;  // a stream reset to nothing: no mean, no covariance
  empty.set_stream("reset");
  estimates.push_back(empty);

  DaemonStats stats;
  stats.set_uptime_ns(123'456'789'012);
  stats.set_streams(estimates.size());
  stats.set_samples_accepted_tcp(10);
  stats.set_samples_accepted_udp(20);
  stats.set_samples_accepted_http(30);
  stats.set_samples_accepted_statsd(40);
  stats.set_publish_ticks(7);
  stats.set_publish_tick_nanos(1'234'567);
  (*stats.mutable_samples_rejected_by_code())["INVALID_ARGUMENT"] = 3;
  (*stats.mutable_samples_rejected_by_code())["NOT_\"A\"_CODE\n"] = 1;

  std::string page;
  AppendPrometheusText(estimates, 5, stats, &page);
  return page;
}

// Runs `promtool check metrics` with `page` on its standard input; returns everything it printed
// (stdout and stderr) and its exit status.
std::pair<std::string, int> Promtool(const std::string& page) {
  char path[] = "/tmp/mled_promtool_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {"mkstemp failed", -1};
  close(fd);
  std::ofstream(path, std::ios::binary) << page;
  const std::string command = absl::StrCat(kPromtool, " check metrics < ", path, " 2>&1");
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {"popen failed", -1};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  unlink(path);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(PrometheusPromtoolTest, AdversarialPagePassesWithNoOutput) {
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " is not installed (Debian package prometheus; scripts/setup "
                 << "installs it)";
  }
  const std::string page = AdversarialPage();
  const auto [output, status] = Promtool(page);
  EXPECT_EQ(output, "") << "page:\n" << page;
  EXPECT_EQ(status, 0);
}

TEST(PrometheusPromtoolTest, EmptyPagePassesWithNoOutput) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  std::string page;
  AppendPrometheusText({}, 0, DaemonStats(), &page);
  const auto [output, status] = Promtool(page);
  EXPECT_EQ(output, "") << "page:\n" << page;
  EXPECT_EQ(status, 0);
}

// Makes sure the check above can fail: promtool does complain about a lint problem.
TEST(PrometheusPromtoolTest, PromtoolReportsABadPage) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  const auto [output, status] =
      Promtool("# HELP bad_count x\n# TYPE bad_count counter\nbad_count 1\n");
  EXPECT_NE(output, "");
  EXPECT_NE(status, 0);
}

}  // namespace
}  // namespace mled::wire
