"""RUN: the command runs in a temporary container; what it changed becomes the step's layer.

The container is an ordinary one (``containers.create`` on the intermediate image, by its
manifest digest), with the step's environment, working directory and user, and no network. Its
writable layer's changes are written as the layer; the container is removed either way.

The runtime adds mount points to a container whose image lacks them — ``/proc``, ``/dev``, an
empty ``/etc/hosts``, ``/etc/hostname``, ``/etc/resolv.conf`` — and those belong to *this*
container, not to the image (docker keeps them in an "init layer" that is never committed). So
they are left out of the layer, together with any directory that only appears in the changes
because of them.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..containers.options import RunOptions
from ..containers.owners import container_owners
from ..diff.changes import Change, ChangeKind
from ..diff.whiteout import is_overlay_whiteout
from ..diff.writer import LayerInfo, write_layer
from ..errors import InvalidArgument
from ..snapshots.base import Snapshotter

if TYPE_CHECKING:
    from ..containers.service import Containers

MOUNT_POINT_DIRS = ("/proc", "/dev", "/etc")
MOUNT_POINT_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


class StepFailed(InvalidArgument):
    """A RUN command exited non-zero; ``exit_code`` is its status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _lower_lstat(snapshotter: Snapshotter, parent: str | None, path: str) -> os.stat_result | None:
    """The image's own entry at ``path`` (under the container), looking through its layers."""
    if parent is None:
        return None
    relative = path.lstrip("/")
    for layer in snapshotter.layer_dirs(parent):  # top first
        try:
            st = os.lstat(layer / relative)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if is_overlay_whiteout(st):
            return None  # deleted in that layer
        return st
    return None


def image_changes(changes: list[Change], source: Path, snapshotter: Snapshotter,
                  parent: str | None) -> list[Change]:
    """``changes`` without the runtime's own mount points (see the module docstring)."""
    def runtime_made(change: Change) -> bool:
        if change.kind is not ChangeKind.ADDED:
            return False
        try:
            st = os.lstat(source / change.path.lstrip("/"))
        except FileNotFoundError:
            return False
        if change.path in MOUNT_POINT_FILES:
            return stat.S_ISREG(st.st_mode) and st.st_size == 0
        # An added /etc that holds more is still written: the layer writer adds every parent.
        return change.path in MOUNT_POINT_DIRS and stat.S_ISDIR(st.st_mode)

    kept = [c for c in changes if not runtime_made(c)]
    below = {posixpath.dirname(c.path) for c in kept}
    for change in kept:  # every ancestor of a kept change stays
        parent_path = posixpath.dirname(change.path)
        while parent_path not in ("/", ""):
            below.add(parent_path)
            parent_path = posixpath.dirname(parent_path)
    result = []
    for change in kept:
        if change.kind is ChangeKind.CHANGED and change.path not in below and not change.opaque:
            lower = _lower_lstat(snapshotter, parent, change.path)
            upper = os.lstat(source / change.path.lstrip("/"))
            if lower is not None and stat.S_ISDIR(upper.st_mode) and stat.S_ISDIR(lower.st_mode) \
                    and (lower.st_mode, lower.st_uid, lower.st_gid) == (upper.st_mode, upper.st_uid, upper.st_gid):
                continue  # copied up only to hold a mount point: nothing of its own changed
        result.append(change)
    return result


def run_step(containers: Containers, image_digest: str, *, argv: list[str], env: list[str], workdir: str,
             user: str, out: Any, announce: Callable[[str], None],
             write_blob: Callable[[Callable[[Any], LayerInfo]], LayerInfo], compression: str,
             epoch: int, where: str) -> LayerInfo | None:
    """Run one RUN step; returns its layer (written by ``write_blob``), or None when the command
    changed nothing. ``announce(text)`` prints the step's progress lines."""
    options = RunOptions(command=argv, env=env, workdir=workdir, user=user or None,
                         network="none", entrypoint="", labels={"minidock.build": "1"})
    config = containers.create(image_digest, options)
    try:
        announce(f" ---> Running in {config.id[:12]}")
        code = containers.lifecycle.run_attached(config, stdout=out, stderr=out)
        if code != 0:
            raise StepFailed(f"{where}: the command '{' '.join(argv)}' returned a non-zero code: "
                             f"{code}", code)
        snapshotter = containers.snapshotter
        changes, source = snapshotter.changes(config.snapshot)
        changes = image_changes(changes, source, snapshotter, config.parent_snapshot)
        if not changes:
            return None
        owners = container_owners()
        return write_blob(lambda blob: write_layer(changes, source, blob, compression=compression,
                                                   source_date_epoch=epoch, owners=owners))
    finally:
        containers.remove(config.id, force=True)
        announce(f"Removing intermediate container {config.id[:12]}")
