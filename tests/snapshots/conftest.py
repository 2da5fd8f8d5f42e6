"""One suite, every snapshotter (containerd's ``snapshots/testsuite``): the ``snapshotter`` fixture
is each implementation this host can run, and every test taking it runs once per implementation."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock_magic.content.store import ContentStore
from minidock_magic.runtime import probe_host
from minidock_magic.snapshots.base import Snapshotter
from minidock_magic.snapshots.copy import CopySnapshotter
from minidock_magic.snapshots.overlay import OverlaySnapshotter

Factory = Callable[[Path], Snapshotter]


def _kinds() -> list[object]:
    caps = probe_host()
    root_overlay = None if os.geteuid() == 0 and caps.overlay else \
        "overlayfs with trusted.* xattrs needs root and a host that lets root mount it"
    rootless_overlay = None if caps.rootless_overlay else \
        "this host refuses overlayfs in a user namespace: " + "; ".join(caps.describe())
    if shutil.which("unshare") is None:
        root_overlay = rootless_overlay = "util-linux unshare is needed to mount the overlay"
    kinds: list[tuple[str, Factory, str | None]] = [
        ("copy", lambda root: CopySnapshotter(root, durable=False), None),
        ("overlay", lambda root: OverlaySnapshotter(root, rootless=False, durable=False),
         root_overlay),
        ("overlay-rootless", lambda root: OverlaySnapshotter(root, rootless=True, durable=False),
         rootless_overlay),
    ]
    return [pytest.param(factory, id=name, marks=[pytest.mark.skip(reason=why)] if why else [])
            for name, factory, why in kinds]


@pytest.fixture(params=_kinds())
def new_snapshotter(request: pytest.FixtureRequest) -> Factory:
    """Makes snapshotters of one kind (two on one root are two processes' views of it)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def snapshot_root() -> Iterator[Path]:
    # Outside pytest's tmp_path (0700 under root's): a rootless overlay mounts it from a user
    # namespace, and a short path keeps overlay mount options short.
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="mdsnap-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    from minidock_magic.snapshots.local import remove_tree
    remove_tree(path)


@pytest.fixture
def snapshotter(new_snapshotter: Factory, snapshot_root: Path) -> Snapshotter:
    return new_snapshotter(snapshot_root / "snapshots")


@pytest.fixture
def content(snapshot_root: Path) -> ContentStore:
    return ContentStore(snapshot_root / "oci", tmp_dir=snapshot_root / "tmp")
