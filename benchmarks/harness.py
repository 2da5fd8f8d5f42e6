"""Measuring pairs side by side, and the table of results (pure apart from the clock)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: One measurement: does its own setup, times only the operation, returns seconds (or bytes).
Measure = Callable[[], float]


@dataclass(frozen=True)
class Target:
    """What "good enough" means for a row: ours/peer at most ``ratio``, or ours at most ``value``."""

    text: str
    ratio: float | None = None
    value: float | None = None

    def met(self, row: Row) -> bool | None:
        if self.ratio is not None:
            ratio = row.ratio
            return None if ratio is None else ratio <= self.ratio
        if self.value is not None:
            ours = row.ours_median
            return None if ours is None else ours <= self.value
        return None


NO_TARGET = Target("")


@dataclass(frozen=True)
class Row:
    """One line of the table: our samples, the peer's (taken alternately), and the target."""

    name: str
    ours_label: str
    peer_label: str
    ours: tuple[float, ...] = ()
    peer: tuple[float, ...] = ()
    unit: str = "s"                      # "s" or "B"
    target: Target = NO_TARGET
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ours_median(self) -> float | None:
        return statistics.median(self.ours) if self.ours else None

    @property
    def peer_median(self) -> float | None:
        return statistics.median(self.peer) if self.peer else None

    @property
    def ratio(self) -> float | None:
        """The median of per-run ratios ours/peer: each run's pair shared the machine's mood."""
        pairs = [(o, p) for o, p in zip(self.ours, self.peer) if p > 0]
        if not pairs:
            return None
        return statistics.median(o / p for o, p in pairs)

    @property
    def met(self) -> bool | None:
        return self.target.met(self)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ours_label": self.ours_label, "peer_label": self.peer_label,
                "unit": self.unit, "ours": list(self.ours), "peer": list(self.peer),
                "ours_median": self.ours_median, "peer_median": self.peer_median,
                "ratio": self.ratio, "target": self.target.text, "target_ratio": self.target.ratio,
                "target_value": self.target.value, "met": self.met,
                "note": self.note, "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        """The row ``to_json`` wrote (``results.json`` → the table, without measuring again)."""
        target = Target(data.get("target", ""), data.get("target_ratio"), data.get("target_value"))
        return cls(data["name"], data["ours_label"], data["peer_label"], tuple(data["ours"]),
                   tuple(data["peer"]), data.get("unit", "s"), target, data.get("note", ""),
                   dict(data.get("extra") or {}))


def not_yet(name: str, why: str, target: Target = NO_TARGET) -> Row:
    """A row for something that cannot be measured yet, saying why."""
    return Row(name, "not yet", "", target=target, note=why)


def timed(operation: Callable[[], object]) -> float:
    start = time.perf_counter()
    operation()
    return time.perf_counter() - start


def alternate(measures: Sequence[Measure], runs: int,
              progress: Callable[[str], None] | None = None, *, warm_up: bool = True) -> list[list[float]]:
    """Run every measure once per round, in the given order (ours, peer, ours, peer …), for
    ``runs`` rounds; the samples per measure. An untimed first round (``warm_up``) fills page
    caches, bytecode caches and, for containers, the unpacked base image, for both sides alike."""
    if warm_up:
        for measure in measures:
            measure()
    samples: list[list[float]] = [[] for _ in measures]
    for round_ in range(runs):
        for index, measure in enumerate(measures):
            samples[index].append(measure())
        if progress is not None:
            progress(f"  round {round_ + 1}/{runs}: " + ", ".join(
                _format(s[-1], "s") for s in samples))
    return samples


def _format(value: float | None, unit: str) -> str:
    """
    >>> _format(0.0123, "s"), _format(2.5, "s"), _format(0.00042, "s"), _format(1536000, "B")
    ('12.3 ms', '2.50 s', '0.42 ms', '1.46 MiB')
    """
    if value is None:
        return "—"
    if unit == "B":
        for scale, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.2f} {name}"
        return f"{value:.0f} B"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.2f} ms"


def _ratio_text(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "—"
    if row.unit == "B":
        return f"{ratio:.3f} ({(ratio - 1) * 100:+.2f} %)"
    return f"{ratio:.2f}×"


def _verdict(row: Row) -> str:
    met = row.met
    return {True: "met", False: "**missed**", None: "—" if not row.target.text else "n/a"}[met]


def markdown_table(rows: Sequence[Row]) -> str:
    header = ("| benchmark | ours | peer / reference | n | ours (median) | peer (median) "
              "| ours/peer | target | verdict |")
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        n = str(max(len(row.ours), len(row.peer))) if row.ours or row.peer else "0"
        name = row.name + (f" — {row.note}" if row.note else "")
        lines.append(" | ".join([
            f"| {name}", row.ours_label, row.peer_label or "—", n,
            _format(row.ours_median, row.unit), _format(row.peer_median, row.unit),
            _ratio_text(row), row.target.text or "—", _verdict(row) + " |"]))
    return "\n".join(lines)
