"""The runtime's mount points are not the container's changes (docker's "init layer" rule)."""

from __future__ import annotations

import posixpath
import stat
from pathlib import Path

from ..diff.changes import Change, ChangeKind
from ..diff.safepath import Dir

#: Where the runtime mounts over the rootfs; if the image lacks them, empty placeholders appear.
MOUNTPOINTS = frozenset({"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/proc", "/dev", "/sys"})


def hide_mountpoints(changes: list[Change], source: Path) -> list[Change]:
    placeholders = {c.path for c in changes if c.kind is ChangeKind.ADDED and c.path in MOUNTPOINTS
                    and _is_placeholder(source, c.path)}
    kept = [c for c in changes if c.path not in placeholders]
    # A directory that "changed" only because a placeholder appeared in it did not change.
    touched = {posixpath.dirname(c.path) for c in kept}
    only_placeholders = {posixpath.dirname(p) for p in placeholders} - touched
    return [c for c in kept if not (c.kind is ChangeKind.CHANGED and c.path in only_placeholders
                                    and not c.opaque)]


def _is_placeholder(source: Path, path: str) -> bool:
    """Whether ``path`` is an empty file or directory in ``source`` (a running container's tree:
    looked at by fds, so a parent it swaps for a symlink to the host is never crossed)."""
    *parents, name = path.strip("/").split("/")
    with Dir.open(source) as top:
        parent = top.descend(parents)
        if parent is None:
            return False
        with parent:
            info = parent.lstat(name)
            if info is None:
                return False
            if stat.S_ISDIR(info.st_mode):
                sub = parent.child(name)
                if sub is None:
                    return False
                with sub:
                    return not sub.entries()
            return stat.S_ISREG(info.st_mode) and info.st_size == 0
