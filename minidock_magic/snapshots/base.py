"""The snapshotter interface (containerd's ``snapshots.Snapshotter``, trimmed to what we use).

A *committed* snapshot is an unpacked image layer, keyed by its ChainID, read-only and shared by
every image whose stack contains it. An *active* snapshot is a writable layer prepared on top of
a committed parent — a container's 可写层. ``mounts`` says how to see an active snapshot as one
rootfs: a plain directory (copy snapshotter) or an overlay the runtime mounts in the container's
own mount namespace (overlay snapshotter; rootless-capable).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..runtime.spec import OverlayMount

if TYPE_CHECKING:  # only `changes()` (docker diff) makes Changes; `run` need not import them
    from ..diff.changes import Change


class Kind(str, enum.Enum):
    ACTIVE = "active"
    COMMITTED = "committed"


@dataclass(frozen=True, slots=True)
class Info:
    """A snapshot as a snapshotter reports it."""

    key: str
    kind: Kind
    parent: str | None
    created: float
    labels: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Mounts:
    """How a runtime sees a snapshot: ``rootfs`` as is, or with ``overlay`` mounted onto it."""

    rootfs: Path
    overlay: OverlayMount | None = None


@dataclass(frozen=True, slots=True)
class ApplyTarget:
    """Where a layer tar is applied to fill an active snapshot, and how its whiteouts are kept.

    ``whiteouts`` is ``"delete"`` (remove the lower file: the copy snapshotter's full tree) or
    ``"overlay"`` (a 0/0 character device, and ``opaque_xattrs`` set to ``y`` on opaque
    directories: the overlay snapshotter's layer-only tree, which overlayfs reads).
    """

    path: Path
    whiteouts: str = "delete"
    opaque_xattrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    """Disk use of one snapshot."""

    size: int      # bytes this snapshot itself holds (not its parents)
    inodes: int


@runtime_checkable
class Snapshotter(Protocol):
    name: str

    def stat(self, key: str) -> Info:
        """NotFound if there is no such snapshot."""

    def prepare(self, key: str, parent: str | None, labels: dict[str, str] | None = None) -> Mounts:
        """A new active snapshot over committed ``parent`` (None: empty). AlreadyExists if taken."""

    def mounts(self, key: str) -> Mounts:
        """How to see an active snapshot as a whole rootfs."""

    def apply_target(self, key: str) -> ApplyTarget:
        """Where (and how) a layer tar is applied to fill active snapshot ``key``."""

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> Info:
        """Turn active ``key`` into committed ``name`` (read-only from then on), labelled
        ``labels`` (None: keep the active's). AlreadyExists if ``name`` is taken (``key`` stays
        active)."""

    def remove(self, key: str, *, background: bool = False) -> None:
        """Remove a snapshot; Conflict if a committed one still has children. ``background``:
        return once its record is gone, its directory deleted by a thread of this process."""

    def walk(self) -> Iterator[Info]:
        """Every snapshot, parents before their children."""

    def usage(self, key: str) -> Usage:
        """What the snapshot's own directory holds (a copy snapshot holds its whole tree)."""

    def changes(self, key: str) -> tuple[list[Change], Path]:
        """What an active snapshot changed against its parent (docker diff), and the directory
        that holds the content of its added and changed files (for writing a layer)."""

    def layer_dirs(self, key: str) -> list[Path]:
        """The directories that make up a snapshot, top first (to show sharing on disk)."""

    def cleanup(self) -> list[Path]:
        """Remove directories no snapshot owns any more (left by a crash); returns them."""
