// Matches stream names against a list of names and fnmatch(3) globs, as used by Subscribe and
// Query: `*` matches any run of characters, `/` included; `?` one character; `[...]` a class.
// An empty list matches every stream.
//
//   StreamMatcher matcher({"plant7/*/temp", "boiler"});
//   matcher.Matches("plant7/a/temp");  // true
//
// Immutable after construction; safe for concurrent use.
#ifndef MLED_LIB_ENGINE_STREAM_MATCHER_H_
#define MLED_LIB_ENGINE_STREAM_MATCHER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"

namespace mled::engine {

class StreamMatcher {
 public:
  // Matches everything.
  StreamMatcher() = default;
  explicit StreamMatcher(absl::Span<const std::string> patterns);

  bool Matches(absl::string_view name) const;

  bool matches_all() const { return match_all_; }
  // True when every pattern is a plain name (no glob character), so candidates can be looked up
  // instead of scanned.
  bool exact_only() const { return !match_all_ && globs_.empty(); }
  const absl::flat_hash_set<std::string>& exact_names() const { return exact_; }

  // True when `pattern` contains a glob character (`*`, `?`, `[` or `\`).
  static bool IsGlob(absl::string_view pattern);

 private:
  bool match_all_ = true;
  absl::flat_hash_set<std::string> exact_;
  std::vector<std::string> globs_;
};

}  // namespace mled::engine

#endif  // MLED_LIB_ENGINE_STREAM_MATCHER_H_
