// Stream rules: which estimator, dimension and anomaly policy a stream gets, by its name.
//
// Built from the config's ordered `rules` (first match wins, by fnmatch glob on the stream name)
// and its `default_rule` (everything else). A stream's rule is looked up once, when the stream
// is created, and again when the rules are reloaded (SIGHUP); see StreamTable::ReplaceRules.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<const StreamRules> rules,
//                    StreamRules::FromConfig(config.rules(), config.default_rule(), limits));
//   const StreamRule& rule = rules->Match("plant7/boiler/temp");
//
// Immutable once built; safe for concurrent use. Rules are shared by the streams that follow
// them, so a rule's address stays valid as long as the StreamRules lives.
#ifndef MLED_LIB_ENGINE_STREAM_RULES_H_
#define MLED_LIB_ENGINE_STREAM_RULES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "lib/engine/anomaly_policy.h"
#include "lib/engine/stream_matcher.h"
#include "lib/stats/accumulator.h"
#include "mled/v1/config.pb.h"

namespace mled::engine {

struct StreamRule {
  std::string name;
  StreamMatcher matcher;  // unused for the default rule
  stats::EstimatorSpec estimator;
  uint32_t dim = 0;  // expected dimension; 0: any
  AnomalyPolicy anomaly;

  // True when a stream's state built under `other` is valid under this rule too: the same
  // estimator, and a dimension expectation the stream still meets.
  bool KeepsStateOf(const StreamRule& other, uint32_t stream_dim) const {
    return estimator == other.estimator && (dim == 0 || dim == stream_dim);
  }
};

// Limits on the rules themselves (config `limits`).
struct RuleLimits {
  uint32_t max_rules = 1000;
  uint32_t max_window_buckets = 1024;
  uint32_t max_dim = 256;
};

class StreamRules {
 public:
  // Only the default rule: cumulative, default anomaly policy.
  StreamRules();

  // Validates and builds the rules. INVALID_ARGUMENT with the rule's name and the field for:
  // a rule without `match` patterns, an empty pattern, a half-life or window length that is not
  // a positive duration, buckets outside 1..max_window_buckets or wider than the window (a
  // bucket is at least 1ns), dim above max_dim, an invalid anomaly policy, more than max_rules
  // rules.
  static absl::StatusOr<std::shared_ptr<const StreamRules>> FromConfig(
      const google::protobuf::RepeatedPtrField<mled::v1::StreamRule>& rules,
      const mled::v1::StreamRule& default_rule, const RuleLimits& limits);

  // The first rule that matches `stream`, else the default rule.
  const StreamRule& Match(absl::string_view stream) const;

  size_t size() const { return rules_.size(); }
  const StreamRule& default_rule() const { return default_rule_; }

 private:
  std::vector<StreamRule> rules_;
  StreamRule default_rule_;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STREAM_RULES_H_
