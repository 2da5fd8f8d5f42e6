"""``.dockerignore``: which context files a build may see (pure; docker's ``patternmatcher``).

One pattern a line; ``#`` lines are comments; a leading ``/`` is dropped (the context root is
``/``); ``*`` and ``?`` never cross a ``/``; ``**`` spans any number of directories (zero too);
``!pattern`` brings back what an earlier line excluded. The *last* matching line decides, and
a pattern that matches a directory also matches everything inside it.

>>> rules = IgnoreRules.parse('''
... # build output
... *.log
... build/
... **/__pycache__
... docs
... !docs/README.md
... ''')
>>> [p for p in ["a.log", "src/a.log", "build/x/y", "src/__pycache__/m.pyc", "docs/guide.md",
...              "docs/README.md", "main.py"] if rules.excluded(p)]
['a.log', 'build/x/y', 'src/__pycache__/m.pyc', 'docs/guide.md']
>>> IgnoreRules.parse("**\\n!keep/**").excluded("keep/a/b"), IgnoreRules.parse("a/**/b").excluded("a/b")
(False, True)
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    regex: re.Pattern[str]
    exception: bool


def _translate(pattern: str) -> str:
    """Docker's regexp for one pattern (``patternmatcher.Pattern.compile``)."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1  # "**/" is treated as "**"
                out.append(".*" if i + 1 >= len(pattern) else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body[:1] in ("!", "^") else body) + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out) + r"\Z"


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path.strip().lstrip("/")) if path.strip("/ ") else "."
    return "" if cleaned == "." else cleaned


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    patterns: tuple[Pattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        patterns = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            cleaned = _clean(line[1:] if exception else line)
            if not cleaned:
                continue
            patterns.append(Pattern(cleaned, re.compile(_translate(cleaned)), exception))
        return cls(tuple(patterns))

    @property
    def has_exceptions(self) -> bool:
        return any(p.exception for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """Whether context path ``path`` (relative, ``/``-separated) is left out of the build."""
        path = _clean(path)
        if not path:
            return False
        parents = path.split("/")[:-1]
        excluded = False
        for pattern in self.patterns:
            if pattern.exception != excluded:
                continue  # only a pattern that could change the verdict is worth matching
            match = bool(pattern.regex.match(path)) or any(
                pattern.regex.match("/".join(parents[:i + 1])) for i in range(len(parents)))
            if match:
                excluded = not pattern.exception
        return excluded

    def may_include_below(self, directory: str) -> bool:
        """Whether an excluded ``directory`` could still hold a re-included file (an ``!`` line
        reaching inside it), so a walk must look in it instead of skipping it."""
        directory = _clean(directory)
        return any(p.exception and (p.text.startswith(directory + "/") or "*" in p.text)
                   for p in self.patterns)
