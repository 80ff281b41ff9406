#include "lib/engine/stream_matcher.h"

#include <fnmatch.h>

namespace mled::engine {

StreamMatcher::StreamMatcher(absl::Span<const std::string> patterns)
    : match_all_(patterns.empty()) {
  for (const std::string& pattern : patterns) {
    if (IsGlob(pattern)) {
      globs_.push_back(pattern);
    } else {
      exact_.insert(pattern);
    }
  }
}

bool StreamMatcher::IsGlob(absl::string_view pattern) {
  return pattern.find_first_of("*?[\\") != absl::string_view::npos;
}

bool StreamMatcher::Matches(absl::string_view name) const {
  if (match_all_ || exact_.contains(name)) return true;
  if (globs_.empty()) return false;
  // fnmatch needs a NUL-terminated name; names are short (max_name_bytes), so a local copy is
  // cheap next to the match itself.
  const std::string terminated(name);
  for (const std::string& glob : globs_) {
    // No FNM_PATHNAME: `*` matches `/` too, as the wire contract says.
    if (fnmatch(glob.c_str(), terminated.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace mled::engine
