"""What facade calls return: plain values with a text form (CLI) that a notebook also shows as
HTML. Formatting lives here, a layer above the core that computes the values (the core's own
values, such as :mod:`.images.reports`, know nothing of tables); services may shape their
results with these forms (:mod:`.containers.results`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from html import escape
from typing import Any, ClassVar, TypeVar

from .images.reports import HistoryRow, ImageRow, Pruned, StoreCheck, StoreUsage
from .units import human_size

__all__ = ["CheckReport", "DiskUsage", "History", "HistoryRow", "ImageList", "ImageRow", "PruneReport",
           "Result", "Tabular", "Text", "as_shown", "html_table", "human_age", "human_size", "table"]


def human_age(created: str | None, now: datetime | None = None) -> str:
    if not created:
        return "N/A"
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created
    if when.year <= 1970:
        return "N/A"  # epoch-clamped reproducible images have no meaningful age
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    for unit, span in (("years", 31536000), ("months", 2592000), ("weeks", 604800),
                       ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * span:
            return f"{seconds // span} {unit} ago"
    return "Less than a minute ago" if seconds < 60 else "About a minute ago"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
             for row in [headers, *rows]]
    return "\n".join(lines)


def html_table(headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    """The same table for a notebook: escaped cells, monospace digests."""
    head = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td><code>{escape(c)}</code></td>" for c in row) + "</tr>"
                   for row in rows)
    cap = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f"<table class='minidock'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Result:
    """Every result a user sees. ``repr()`` is the text ``minidock`` prints (the table or report a
    docker user knows), so a Python REPL, IPython's text/plain and nbval all show that, not the
    fields. Subclasses are dataclasses with ``repr=False``: a generated ``__repr__`` would hide
    this one, and IPython's pretty printer takes a subclass's ``__repr__`` before any base's
    ``_repr_pretty_``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self) or f"<{type(self).__name__}: empty>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class Tabular(Result):
    """Results shown as one table: text for terminals, HTML for notebooks, from the same cells."""

    headers: ClassVar[list[str]]
    caption: ClassVar[str] = ""

    def cells(self) -> list[list[str]]:
        raise NotImplementedError

    def __str__(self) -> str:
        return table(self.headers, self.cells())

    def _repr_html_(self) -> str:
        return html_table(self.headers, self.cells(), self.caption)


class Text(Result):
    """Results whose text form is the whole story: shown as preformatted text in a notebook."""

    def _repr_html_(self) -> str:
        return f"<pre style='margin:0'>{escape(str(self))}</pre>"


@dataclass(frozen=True, repr=False)
class ImageList(Tabular):
    rows: list[ImageRow]
    headers: ClassVar[list[str]] = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE"]
    caption: ClassVar[str] = "Images (sizes are layer bytes; shared = layers another image uses too)"

    def __iter__(self) -> Iterator[ImageRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def cells(self) -> list[list[str]]:
        return [[r.repository, r.tag, r.id.short, human_age(r.created), human_size(r.size),
                 human_size(r.shared_size), human_size(r.unique_size)] for r in self.rows]


@dataclass(frozen=True, repr=False)
class History(Tabular):
    rows: list[HistoryRow]
    headers: ClassVar[list[str]] = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    caption: ClassVar[str] = "Image history: newest layer first; 0B rows only changed metadata"

    def cells(self) -> list[list[str]]:
        return [[r.image, human_age(r.created), _clip(r.created_by, 45), human_size(r.size),
                 r.comment] for r in self.rows]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True, repr=False)
class CheckReport(Text, StoreCheck):

    def __str__(self) -> str:
        lines = [f"checked {self.blobs} blobs"]
        lines += [f"corrupt: {d} (content no longer matches its digest)" for d in self.corrupt]
        lines += [f"missing: {d} (referenced by {who})" for d, who in self.missing.items()]
        lines += [f"unreadable: {d} ({why})" for d, why in self.unreadable.items()]
        lines += [f"dangling: {d} (nothing references it; 'minidock system prune' frees it)"
                  for d in self.dangling]
        lines.append("OK" if self.ok else "PROBLEMS FOUND")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class PruneReport(Text, Pruned):

    def __str__(self) -> str:
        lines = [f"untagged: {name}" for name in self.untagged]
        lines += [f"deleted: {d}" for d in self.deleted]
        lines.append(f"Total reclaimed space: {human_size(self.freed)}")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class DiskUsage(Tabular, StoreUsage):
    headers: ClassVar[list[str]] = ["TYPE", "TOTAL", "SIZE", "SHARED", "UNIQUE", "RECLAIMABLE"]
    caption: ClassVar[str] = "Disk usage: every blob is stored once, however many images use it"

    def cells(self) -> list[list[str]]:
        return [["Images", str(self.images), human_size(self.total), human_size(self.shared),
                 human_size(self.unique), human_size(self.unused)]]


_Shown = TypeVar("_Shown", bound=Result)


def as_shown(form: type[_Shown], value: Any) -> _Shown:
    """``value`` (a core dataclass) as ``form``, the subclass that adds how it is shown.

    >>> as_shown(PruneReport, Pruned([], ["me/app:1"], 0)).untagged
    ['me/app:1']
    """
    return form(**{f.name: getattr(value, f.name) for f in fields(value)})
