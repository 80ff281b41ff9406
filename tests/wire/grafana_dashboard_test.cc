// config/grafana/mled-dashboard.json is valid JSON, uses the ${DS_PROMETHEUS} data source and the
// `stream` variable, and every mled_* metric its queries name is a family the /metrics renderer
// emits, so a renamed metric cannot leave the example dashboard silently empty.
//
// A small JSON reader of our own (strict RFC 8259 syntax; it keeps only the string values with
// their keys) keeps this test free of Python and of protobuf's JSON reflection.
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "lib/wire/prometheus_text.h"

namespace mled::wire {
namespace {

// Every string value of a JSON document with the key of its object member ("" in arrays).
class JsonStrings {
 public:
  // False (with `error()`) unless `text` is exactly one valid JSON value.
  bool Parse(const std::string& text) {
    text_ = text;
    at_ = 0;
    if (!Value("")) return false;
    SkipSpace();
    return at_ == text_.size() || Fail("trailing characters");
  }
  const std::vector<std::pair<std::string, std::string>>& strings() const { return strings_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(const std::string& what) {
    error_ = what + " at byte " + std::to_string(at_);
    return false;
  }
  void SkipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) {
      ++at_;
    }
  }
  bool Literal(const char* word) {
    const std::string w(word);
    if (text_.compare(at_, w.size(), w) != 0) return Fail("bad literal");
    at_ += w.size();
    return true;
  }
  bool String(std::string* out) {
    if (text_[at_] != '"') return Fail("expected string");
    ++at_;
    while (at_ < text_.size() && text_[at_] != '"') {
      const unsigned char c = static_cast<unsigned char>(text_[at_]);
      if (c < 0x20) return Fail("control character in string");
      if (c == '\\') {
        if (++at_ >= text_.size()) return Fail("truncated escape");
        const char e = text_[at_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (at_ + i >= text_.size() ||
                !std::isxdigit(static_cast<unsigned char>(text_[at_ + i]))) {
              return Fail("bad \\u escape");
            }
          }
          out->push_back('?');  // the code point itself does not matter here
          at_ += 5;
          continue;
        }
        static const std::string kEscapes = "\"\\/bfnrt";
        static const std::string kValues = "\"\\/\b\f\n\r\t";
        const size_t which = kEscapes.find(e);
        if (which == std::string::npos) return Fail("bad escape");
        out->push_back(kValues[which]);
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++at_;
    }
    if (at_ >= text_.size()) return Fail("unterminated string");
    ++at_;
    return true;
  }
  bool Number() {
    const size_t start = at_;
    if (text_[at_] == '-') ++at_;
    const auto digits = [&] {
      const size_t from = at_;
      while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) ++at_;
      return at_ > from;
    };
    if (at_ < text_.size() && text_[at_] == '0') {
      ++at_;
    } else if (!digits()) {
      return Fail("bad number");
    }
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      if (!digits()) return Fail("bad fraction");
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (!digits()) return Fail("bad exponent");
    }
    return at_ > start;
  }
  bool Value(const std::string& key) {
    if (++depth_ > 64) return Fail("nested too deeply");
    SkipSpace();
    if (at_ >= text_.size()) return Fail("unexpected end");
    bool ok = false;
    const char c = text_[at_];
    if (c == '{') {
      ok = Object();
    } else if (c == '[') {
      ok = Array();
    } else if (c == '"') {
      std::string value;
      ok = String(&value);
      if (ok) strings_.emplace_back(key, std::move(value));
    } else if (c == 't') {
      ok = Literal("true");
    } else if (c == 'f') {
      ok = Literal("false");
    } else if (c == 'n') {
      ok = Literal("null");
    } else {
      ok = Number();
    }
    --depth_;
    return ok;
  }
  bool Object() {
    ++at_;
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == '}') {
      ++at_;
      return true;
    }
    while (true) {
      SkipSpace();
      std::string key;
      if (at_ >= text_.size() || !String(&key)) return Fail("expected member name");
      SkipSpace();
      if (at_ >= text_.size() || text_[at_] != ':') return Fail("expected ':'");
      ++at_;
      if (!Value(key)) return false;
      SkipSpace();
      if (at_ < text_.size() && text_[at_] == ',') {
        ++at_;
        continue;
      }
      if (at_ < text_.size() && text_[at_] == '}') {
        ++at_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }
  bool Array() {
    ++at_;
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == ']') {
      ++at_;
      return true;
    }
    while (true) {
      if (!Value("")) return false;
      SkipSpace();
      if (at_ < text_.size() && text_[at_] == ',') {
        ++at_;
        continue;
      }
      if (at_ < text_.size() && text_[at_] == ']') {
        ++at_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  std::string text_;
  size_t at_ = 0;
  int depth_ = 0;
  std::vector<std::pair<std::string, std::string>> strings_;
  std::string error_;
};

std::string ReadDashboard() {
  std::ifstream in(std::string(MLED_SOURCE_DIR) + "/config/grafana/mled-dashboard.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The families a page declares (`# TYPE name type`), rendered from streams of every shape so that
// every optional family has samples too.
std::set<std::string> RenderedFamilies() {
  mled::v1::Estimate e;
  e.set_stream("s");
  e.set_count(10);
  e.set_dim(1);
  e.add_mean(1);
  e.add_covariance(1);
  e.set_nll(1);
  e.set_mean_nll(0.1);
  e.set_last_score(1);
  std::string page;
  AppendPrometheusText({e}, 0, mled::v1::DaemonStats(), &page);
  std::set<std::string> families;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      families.insert(line.substr(7, line.find(' ', 7) - 7));
    }
  }
  return families;
}

// The mled_* names in a PromQL expression (or any text).
std::set<std::string> MetricNames(const std::string& text) {
  static const std::regex kName("mled_[a-zA-Z0-9_]*");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

TEST(GrafanaDashboardTest, IsValidJson) {
  const std::string text = ReadDashboard();
  ASSERT_FALSE(text.empty()) << "cannot read config/grafana/mled-dashboard.json";
  JsonStrings json;
  EXPECT_TRUE(json.Parse(text)) << json.error();
}

TEST(GrafanaDashboardTest, QueriesNameOnlyRenderedFamilies) {
  JsonStrings json;
  ASSERT_TRUE(json.Parse(ReadDashboard())) << json.error();
  const std::set<std::string> families = RenderedFamilies();
  std::set<std::string> used;
  int queries = 0;
  for (const auto& [key, value] : json.strings()) {
    // Panel targets (`expr`) and the variable's query and definition; titles and descriptions are
    // prose and may name anything.
    if (key != "expr" && key != "query" && key != "definition") continue;
    ++queries;
    for (const std::string& name : MetricNames(value)) {
      EXPECT_TRUE(families.count(name))
          << name << " in \"" << value << "\" is not a family the renderer emits";
      used.insert(name);
    }
  }
  EXPECT_GE(queries, 10);
  // The panels the dashboard promises.
  for (const char* name : {"mled_mean", "mled_variance", "mled_mean_nll", "mled_anomalies_total",
                           "mled_samples_accepted_total", "mled_samples_rejected_total",
                           "mled_udp_receive_drops_total", "mled_publish_tick_seconds_total",
                           "mled_publish_ticks_total", "mled_samples"}) {
    EXPECT_TRUE(used.count(name)) << name << " is not on the dashboard";
  }
}

TEST(GrafanaDashboardTest, UsesTheDataSourceInputAndStreamVariable) {
  JsonStrings json;
  ASSERT_TRUE(json.Parse(ReadDashboard())) << json.error();
  int datasource_uses = 0;
  bool stream_variable = false;
  bool uses_stream = false;
  for (const auto& [key, value] : json.strings()) {
    if (key == "uid" && value == "${DS_PROMETHEUS}") ++datasource_uses;
    if (key == "query" && value == "label_values(mled_samples, stream)") stream_variable = true;
    if (key == "expr" && value.find("stream=~\"$stream\"") != std::string::npos) uses_stream = true;
  }
  EXPECT_GE(datasource_uses, 10);
  EXPECT_TRUE(stream_variable);
  EXPECT_TRUE(uses_stream);
}

TEST(GrafanaDashboardTest, ReaderRejectsBrokenJson) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"x", "01", "{} x",
                          "{\"a\" 1}", "[\"\x01\"]", "nul"}) {
    JsonStrings json;
    EXPECT_FALSE(json.Parse(bad)) << bad;
  }
  JsonStrings json;
  EXPECT_TRUE(json.Parse(" {\"a\": [1, -2.5e3, true, false, null, \"\\u00e9\\n\"], \"b\": {}} "))
      << json.error();
}

}  // namespace
}  // namespace mled::wire
