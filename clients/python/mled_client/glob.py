"""Stream-name globs with the daemon's semantics: fnmatch(3) without flags.

``*`` matches any run of characters, ``/`` included; ``?`` one character; ``[...]`` a class
(``[!...]`` or ``[^...]`` negated, ``]`` first is literal, ``a-z`` ranges); a backslash quotes
the next character. POSIX named classes (``[[:alpha:]]``) are not supported here. An empty
pattern list matches every stream. Python's ``fnmatch`` differs on ``[^...]`` and backslashes,
hence this translation.
"""

import re


def _translate(pattern):
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            j = i
            negate = j < n and pattern[j] in "!^"
            if negate:
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))  # an unclosed "[" is literal
                continue
            body = pattern[i + (1 if negate else 0):j]
            parts = []
            k = 0
            while k < len(body):
                if body[k] == "\\" and k + 1 < len(body):
                    k += 1
                if k + 2 < len(body) and body[k + 1] == "-":
                    parts.append(re.escape(body[k]) + "-" + re.escape(body[k + 2]))
                    k += 3
                else:
                    parts.append(re.escape(body[k]))
                    k += 1
            out.append("[" + ("^" if negate else "") + "".join(parts) + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
    return "".join(out)


class StreamMatcher:
    """Matches stream names against names and globs, as Subscribe and Query do."""

    def __init__(self, patterns=()):
        self.patterns = list(patterns)
        self._all = not self.patterns
        self._regex = None if self._all else re.compile(
            "|".join("(?:" + _translate(p) + ")" for p in self.patterns), re.DOTALL)

    def matches(self, name):
        return self._all or self._regex.fullmatch(name) is not None
