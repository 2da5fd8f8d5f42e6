"""What container commands return: text for terminals, tables for notebooks."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from ..diff.changes import Change
from ..results import Tabular, human_age
from .publish import ps_column, stored_bindings
from .record import ContainerConfig, ContainerState


def status_text(state: ContainerState, now: float | None = None) -> str:
    """docker ps's STATUS column: ``Up 3 seconds``, ``Exited (0) 2 minutes ago``, ``Created``."""
    if state.status == "running":
        return "Up " + _span((now or datetime.now(UTC).timestamp()) - state.started_at)
    if state.status == "exited":
        when = datetime.fromtimestamp(state.finished_at, UTC).isoformat()
        return f"Exited ({state.exit_code}) {human_age(when)}"
    return "Created"


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 3600:
        return f"{seconds // 60} minute{'s' if seconds >= 120 else ''}"
    return f"{seconds // 3600} hour{'s' if seconds >= 7200 else ''}"


@dataclass(frozen=True)
class ContainerRow:
    config: ContainerConfig
    state: ContainerState


@dataclass(frozen=True, repr=False)
class ContainerList(Tabular):
    rows: list[ContainerRow]
    headers: ClassVar[list[str]] = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                    "NAMES"]
    caption: ClassVar[str] = "Containers: each is a writable layer on its image plus an isolated process"

    def __iter__(self) -> Iterator[ContainerRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def cells(self) -> list[list[str]]:
        cells = []
        for row in self.rows:
            command = shlex.join(row.config.argv)
            command = command if len(command) <= 20 else command[:19] + "…"
            created = datetime.fromtimestamp(row.config.created, UTC).isoformat()
            cells.append([row.config.short_id, row.config.image, f'"{command}"', human_age(created),
                          status_text(row.state), ps_column(stored_bindings(row.state.ports)),
                          row.config.name])
        return cells


@dataclass(frozen=True, repr=False)
class Diff(Tabular):
    """``docker diff``: A added, C changed, D deleted — relative to the image."""

    changes: list[Change]
    headers: ClassVar[list[str]] = ["KIND", "PATH"]
    caption: ClassVar[str] = "Writable layer vs image: A added, C changed, D deleted"

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __str__(self) -> str:
        return "\n".join(str(change) for change in self.changes)

    def cells(self) -> list[list[str]]:
        return [[change.kind.value, change.path] for change in self.changes]


@dataclass(frozen=True, repr=False)
class Top(Tabular):
    rows: list[list[str]]
    headers: ClassVar[list[str]] = ["UID", "PID", "PPID", "CMD"]
    caption: ClassVar[str] = "Processes in the container (host PIDs; inside, the first is PID 1)"

    def cells(self) -> list[list[str]]:
        return self.rows
