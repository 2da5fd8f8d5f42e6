"""The copy snapshotter: every snapshot is a whole tree (containerd's ``native``, docker's ``vfs``).

It works everywhere a directory does — no mounts, no special kernel — which is why it is the
fallback for hosts that refuse overlayfs (proot, seccomp'd notebooks). The price is visible on
disk, and is itself a lesson: each layer and each container holds a full copy of everything
below it, where overlayfs would share it.

- ``prepare`` copies the parent's tree (:mod:`.copytree`);
- layers are applied straight into it, whiteouts deleting what they name;
- ``changes`` compares the tree with its parent's, metadata only (the "naive diff").
"""

from __future__ import annotations

import os
from pathlib import Path

from ..diff.changes import Change, changes_between
from .base import ApplyTarget, Mounts
from .copytree import copy_tree
from .local import LocalSnapshotter
from .metadata import Record


class CopySnapshotter(LocalSnapshotter):
    name = "copy"

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        super().__init__(root, durable=durable)

    def _make(self, record: Record) -> None:
        fs = self._fs(record)
        fs.mkdir(mode=0o755)
        if record.parent_id is not None:
            copy_tree(self._fs(record.parent_id), fs)
        else:
            os.chmod(fs, 0o755)  # not the umask's idea of it: this is the container's "/"

    def _mounts(self, record: Record) -> Mounts:
        return Mounts(rootfs=self._fs(record))

    def apply_target(self, key: str) -> ApplyTarget:
        return ApplyTarget(self._fs(self._active(key)), "delete")

    def changes(self, key: str) -> tuple[list[Change], Path]:
        record = self._active(key)
        lower = None if record.parent_id is None else self._fs(record.parent_id)
        return changes_between(lower, self._fs(record)), self._fs(record)

    def layer_dirs(self, key: str) -> list[Path]:
        return [self._fs(self.meta.get(key))]  # a full tree: it needs nothing below it
