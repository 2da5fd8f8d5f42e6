"""The overlay snapshotter: each snapshot holds only its own layer; overlayfs stacks them.

A committed snapshot's ``fs/`` is exactly what its layer changed, in overlayfs' own spelling:
deletions are 0/0 character devices, replaced directories carry the *opaque* xattr. So a layer
shared by ten images is on disk once, and a container's writable layer (an active snapshot's
``fs/``, the overlay's ``upperdir``) holds only what the container wrote — the two facts this
snapshotter exists to show.

Nothing is mounted here. ``mounts`` describes the overlay (lower dirs top first, upper, work,
and an empty ``rootfs/`` to mount it on) and the runtime mounts it inside the container's own
mount namespace, which works rootless too (kernel ≥ 5.11, ``userxattr``).

Opaque xattrs: overlayfs reads ``trusted.overlay.opaque`` when mounted normally and
``user.overlay.opaque`` with ``userxattr`` (the rootless way). Only root may write ``trusted.*``,
so a root snapshotter writes both — its layers then work under either kind of mount, whichever
isolation a container asks for — and a rootless one writes the ``user.`` one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..diff.whiteout import has_opaque_xattr, opaque_xattrs_for
from ..errors import Unsupported
from ..runtime.spec import OverlayMount
from .base import ApplyTarget, Mounts
from .local import LocalSnapshotter, remove_tree
from .lowerview import lower_skeleton
from .metadata import Record

if TYPE_CHECKING:
    from ..diff.changes import Change

#: The legacy mount(2) call takes one page of options; the runtime adds ',userxattr' and the like.
MAX_OPTIONS = 4096 - 64


class OverlaySnapshotter(LocalSnapshotter):
    def __init__(self, root: Path, *, rootless: bool, durable: bool = True) -> None:
        super().__init__(root, durable=durable)
        if any(c in str(self.root) for c in ",:"):  # overlayfs' option syntax cannot quote them
            raise Unsupported(f"overlay snapshots cannot live under {self.root}: the path has ',' "
                              "or ':', which overlayfs mount options cannot hold")
        self.rootless = rootless
        self.name = "overlay-rootless" if rootless else "overlay"
        self.opaque_xattrs: tuple[str, ...] = opaque_xattrs_for(rootless=rootless)
        # overlayfs needs at least one lower dir; a snapshot with no parent gets this one.
        self.empty = self.root / "empty"
        self.empty.mkdir(exist_ok=True)
        os.chmod(self.empty, 0o555)

    def _make(self, record: Record) -> None:
        base = self._dir(record)
        (base / "fs").mkdir(mode=0o755)
        (base / "work").mkdir(mode=0o700)
        (base / "rootfs").mkdir(mode=0o755)  # only ever a mount point
        os.chmod(base / "fs", 0o755)  # the merged root's mode comes from the upper dir

    def _sealed(self, record: Record) -> None:
        # A committed layer is only ever a lower dir: no work dir, no mount point.
        for name in ("work", "rootfs"):
            remove_tree(self._dir(record) / name)

    def _lowers(self, record: Record) -> list[Path]:
        """The parent chain's fs dirs, top first, down to a layer that hid everything below."""
        lowers = []
        for ancestor in self.meta.chain(record.key)[1:]:
            lowers.append(self._fs(ancestor))
            # An opaque root ('.wh..wh..opq' at the top of a layer) is not something overlayfs
            # checks on a lower's root, so the chain is cut here instead.
            if has_opaque_xattr(lowers[-1]):
                break
        return lowers

    def _mounts(self, record: Record) -> Mounts:
        lowers = self._lowers(record) or [self.empty]
        overlay = OverlayMount(lowerdirs=lowers, upperdir=self._fs(record),
                               workdir=self._dir(record) / "work")
        length = sum(len(str(p)) + 1 for p in lowers) + len(str(overlay.upperdir)) \
            + len(str(overlay.workdir)) + len("lowerdir=,upperdir=,workdir=")
        if length > MAX_OPTIONS:
            raise Unsupported(f"{len(lowers)} layers are too many for one overlay mount here "
                              f"({length} bytes of mount options, at most {MAX_OPTIONS}): "
                              "use MINIDOCK_SNAPSHOTTER=copy, or squash the image")
        return Mounts(rootfs=self._dir(record) / "rootfs", overlay=overlay)

    def apply_target(self, key: str) -> ApplyTarget:
        return ApplyTarget(self._fs(self._active(key)), "overlay", self.opaque_xattrs)

    def changes(self, key: str) -> tuple[list[Change], Path]:
        from ..diff.changes import changes_from_overlay_upper  # only `diff`/`commit` need it
        record = self._active(key)
        upper = self._fs(record)
        with tempfile.TemporaryDirectory(dir=self.tmp, prefix="lower-") as scratch:
            lower_skeleton(upper, self._lowers(record), Path(scratch))
            return changes_from_overlay_upper(upper, Path(scratch)), upper

    def layer_dirs(self, key: str) -> list[Path]:
        record = self.meta.get(key)
        return [self._fs(record)] + self._lowers(record)
