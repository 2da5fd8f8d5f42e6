"""``--trace`` in a notebook: the HTTP conversation grouped by step, with short digests.

The terminal prints every request and response (``minidock push --trace``); a lesson wants the
shape of the protocol instead: *check* (HEAD a blob), *upload* (POST, PUT), *commit*, *mount*,
*manifest*, *log in*. Pure text in, text out.

>>> lines = ["> HEAD /v2/a/b/blobs/sha256:" + "7c" * 32, "< 404 Not Found",
...          "> POST /v2/a/b/blobs/uploads/", "< 401 Unauthorized 112B",
...          "> GET /token?service=minidock Authorization: Basic ***", "< 200 OK application/json 855B",
...          "> POST /v2/a/b/blobs/uploads/ Authorization: Bearer ***", "< 202 Accepted",
...          "> PUT /v2/a/b/blobs/uploads/UUID?digest=sha256:" + "7c" * 32, "< 201 Created",
...          "> PUT /v2/a/b/manifests/1 application/vnd.oci.image.manifest.v1+json 559B", "< 201 Created"]
>>> print(summarise(lines, "en"))
6 HTTP requests, grouped by step (the terminal's --trace shows each one):
  check: does the registry have it?          HEAD ×1 → 404   7c7c7c7c7c7c
  upload: start, send the bytes              POST ×2 → 401, 202
  log in (token)                             GET ×1 → 200
  commit: the upload becomes a blob          PUT ×1 → 201   7c7c7c7c7c7c
  manifest: the tag now points at the image  PUT ×1 → 201   1
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..i18n import text

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_MANIFEST = re.compile(r"/manifests/([^/?\s]+)")


@dataclass
class Step:
    key: str
    methods: dict[str, int] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    def add(self, method: str, target: str, status: str) -> None:
        self.methods[method] = self.methods.get(method, 0) + 1
        if status and status not in self.statuses:
            self.statuses.append(status)
        subject = _subject(self.key, target)
        if subject and subject not in self.subjects:
            self.subjects.append(subject)


def is_trace_line(line: str) -> bool:
    return line.startswith(("> ", "< "))


def step_of(method: str, target: str) -> str:
    """Which step of a push or pull one request is."""
    path = target.split("?", 1)[0]
    if "/token" in path or "/auth" in path:
        return "trace_auth"
    if "/manifests/" in path:
        return "trace_manifest" if method == "PUT" else "trace_manifest_read"
    if "/blobs/uploads" in path:
        if method == "POST" and "mount=" in target:
            return "trace_mount"
        return "trace_commit" if method == "PUT" else "trace_upload"
    if "/blobs/" in path:
        return "trace_check" if method == "HEAD" else "trace_pull"
    return "trace_other"


def _subject(key: str, target: str) -> str:
    if key in ("trace_manifest", "trace_manifest_read"):
        found = _MANIFEST.search(target)
        reference = found.group(1) if found else ""
        return reference[7:19] if reference.startswith("sha256:") else reference
    found = _DIGEST.search(target)
    return found.group(1)[:12] if found else ""


def summarise(lines: Iterable[str], lang: str | None = None) -> str:
    steps: dict[str, Step] = {}
    request: tuple[str, str] | None = None
    count = 0
    for line in lines:
        if line.startswith("> "):
            parts = line[2:].split()
            request = (parts[0], parts[1] if len(parts) > 1 else "")
            count += 1
        elif line.startswith("< ") and request is not None:
            method, target = request
            key = step_of(method, target)
            steps.setdefault(key, Step(key)).add(method, target, line[2:].split(" ", 1)[0])
            request = None
    rows = [text("trace_title", lang, count=count)]
    width = max((_width(text(s.key, lang)) for s in steps.values()), default=0)
    for step in steps.values():
        label = text(step.key, lang)
        label += " " * max(0, width - _width(label))
        methods = ", ".join(f"{m} ×{n}" for m, n in step.methods.items())
        row = f"  {label}  {methods} → {', '.join(step.statuses)}"
        if step.subjects:
            more = f" (+{len(step.subjects) - 4})" if len(step.subjects) > 4 else ""
            row += "   " + " ".join(step.subjects[:4]) + more
        rows.append(row)
    return "\n".join(rows)


def _width(label: str) -> int:
    """Columns a label takes in a monospace font (a Chinese character takes two)."""
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in label)


__all__ = ["is_trace_line", "step_of", "summarise"]
