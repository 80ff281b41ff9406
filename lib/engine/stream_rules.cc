#include "lib/engine/stream_rules.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace mled::engine {
namespace {

absl::Status Invalid(absl::string_view rule, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("stream rule \"", rule, "\": ", problem));
}

// A duration field of a rule: positive, as nanoseconds.
absl::StatusOr<int64_t> PositiveDuration(absl::string_view rule, absl::string_view field,
                                         const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return Invalid(rule, absl::StrCat(field, " = \"", text,
                                      "\" is not a positive duration, e.g. \"5m\" or \"30s\""));
  }
  return absl::ToInt64Nanoseconds(duration);
}

absl::StatusOr<StreamRule> BuildRule(const mled::v1::StreamRule& config, std::string name,
                                     bool is_default, const RuleLimits& limits) {
  StreamRule rule;
  rule.name = std::move(name);
  if (!is_default) {
    if (config.match().empty()) {
      return Invalid(rule.name, "has no match patterns; add match: \"GLOB\" (e.g. \"plant7/*\")");
    }
    for (const std::string& pattern : config.match()) {
      if (pattern.empty()) return Invalid(rule.name, "has an empty match pattern");
    }
    rule.matcher = StreamMatcher(std::vector<std::string>(config.match().begin(), config.match().end()));
  }
  switch (config.estimator_case()) {
    case mled::v1::StreamRule::kExponential: {
      absl::StatusOr<int64_t> half_life =
          PositiveDuration(rule.name, "exponential.half_life", config.exponential().half_life());
      if (!half_life.ok()) return half_life.status();
      rule.estimator.kind = mled::v1::ESTIMATOR_EXPONENTIAL;
      rule.estimator.half_life_ns = *half_life;
      break;
    }
    case mled::v1::StreamRule::kWindow: {
      absl::StatusOr<int64_t> length =
          PositiveDuration(rule.name, "window.length", config.window().length());
      if (!length.ok()) return length.status();
      const uint32_t buckets = config.window().has_buckets() ? config.window().buckets() : 10;
      if (buckets < 1 || buckets > limits.max_window_buckets) {
        return Invalid(rule.name,
                       absl::StrCat("window.buckets = ", buckets, " must be in 1..",
                                    limits.max_window_buckets, " (limits.max_window_buckets)"));
      }
      if (*length < buckets) {
        return Invalid(rule.name, "window.length must be at least 1ns per bucket");
      }
      rule.estimator.kind = mled::v1::ESTIMATOR_WINDOW;
      rule.estimator.window_ns = *length;
      rule.estimator.buckets = buckets;
      break;
    }
    case mled::v1::StreamRule::kCumulative:
    case mled::v1::StreamRule::ESTIMATOR_NOT_SET:
      rule.estimator.kind = mled::v1::ESTIMATOR_CUMULATIVE;
      break;
  }
  // The estimator's own limits (e.g. a window's length in 64-bit nanoseconds), so that every
  // rule that loads can build its streams' models.
  if (absl::Status spec = stats::ValidateEstimatorSpec(rule.estimator); !spec.ok()) {
    return Invalid(rule.name, spec.message());
  }
  if (config.dim() > limits.max_dim) {
    return Invalid(rule.name, absl::StrCat("dim = ", config.dim(), " is above limits.max_dim = ",
                                           limits.max_dim));
  }
  rule.dim = config.dim();
  absl::StatusOr<AnomalyPolicy> anomaly = AnomalyPolicy::FromConfig(config.anomaly(), rule.dim);
  if (!anomaly.ok()) return Invalid(rule.name, anomaly.status().message());
  rule.anomaly = *anomaly;
  return rule;
}

}  // namespace

StreamRules::StreamRules() { default_rule_.name = "default"; }

absl::StatusOr<std::shared_ptr<const StreamRules>> StreamRules::FromConfig(
    const google::protobuf::RepeatedPtrField<mled::v1::StreamRule>& rules,
    const mled::v1::StreamRule& default_rule, const RuleLimits& limits) {
  if (static_cast<uint32_t>(rules.size()) > limits.max_rules) {
    return absl::InvalidArgumentError(absl::StrCat("config has ", rules.size(),
                                                   " stream rules; limits.max_rules is ",
                                                   limits.max_rules));
  }
  auto result = std::make_shared<StreamRules>();
  result->rules_.reserve(rules.size());
  for (int i = 0; i < rules.size(); ++i) {
    std::string name =
        rules[i].name().empty() ? absl::StrCat("rules[", i, "]") : rules[i].name();
    absl::StatusOr<StreamRule> rule = BuildRule(rules[i], std::move(name), false, limits);
    if (!rule.ok()) return rule.status();
    result->rules_.push_back(*std::move(rule));
  }
  std::string name = default_rule.name().empty() ? "default" : default_rule.name();
  absl::StatusOr<StreamRule> rule = BuildRule(default_rule, std::move(name), true, limits);
  if (!rule.ok()) return rule.status();
  result->default_rule_ = *std::move(rule);
  return std::shared_ptr<const StreamRules>(std::move(result));
}

const StreamRule& StreamRules::Match(absl::string_view stream) const {
  for (const StreamRule& rule : rules_) {
    if (rule.matcher.Matches(stream)) return rule;
  }
  return default_rule_;
}

}  // namespace mled::engine
