"""Which snapshotter a home gets: overlay where the host mounts it, copy elsewhere, or the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock_magic.errors import InvalidArgument, Unavailable
from minidock_magic.home import Layout
from minidock_magic.runtime.probe import HostCapabilities
from minidock_magic.snapshots.copy import CopySnapshotter
from minidock_magic.snapshots.overlay import OverlaySnapshotter
from minidock_magic.snapshots.unpack import ENV, snapshotter_for

NS = frozenset({"mount", "pid", "uts", "ipc", "net"})
ROOT = HostCapabilities(is_root=True, namespaces=NS, overlay=True, user_namespaces=True,
                        rootless_namespaces=NS, rootless_overlay=True)
ROOTLESS = HostCapabilities(user_namespaces=True, rootless_namespaces=NS, rootless_overlay=True)
NO_OVERLAY = HostCapabilities(user_namespaces=True, rootless_namespaces=NS)
PROOT_ONLY = HostCapabilities(proot="/usr/bin/proot")


@pytest.fixture
def layout(snapshot_root: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    monkeypatch.delenv(ENV, raising=False)
    return Layout(snapshot_root / "home")


@pytest.mark.parametrize("caps, kind, rootless", [
    (ROOT, OverlaySnapshotter, False), (ROOTLESS, OverlaySnapshotter, True),
    (NO_OVERLAY, CopySnapshotter, None), (PROOT_ONLY, CopySnapshotter, None)])
def test_the_host_decides(layout: Layout, caps: HostCapabilities, kind: type,
                          rootless: bool | None) -> None:
    chosen = snapshotter_for(layout, caps)
    assert type(chosen) is kind
    if rootless is not None:
        assert chosen.rootless is rootless  # type: ignore[attr-defined]
        assert chosen.root.parent == layout.snapshots.resolve()  # type: ignore[attr-defined]


def test_the_first_choice_sticks_to_the_home(layout: Layout) -> None:
    assert isinstance(snapshotter_for(layout, NO_OVERLAY), CopySnapshotter)
    assert isinstance(snapshotter_for(layout, ROOT), CopySnapshotter)  # its layers are copies
    assert (layout.snapshots / "driver").read_text() == "copy\n"


def test_the_setting_forces_either(layout: Layout, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "copy")
    assert isinstance(snapshotter_for(layout, ROOT), CopySnapshotter)
    monkeypatch.setenv(ENV, "overlay")
    assert isinstance(snapshotter_for(layout, ROOT), OverlaySnapshotter)
    with pytest.raises(Unavailable, match="cannot mount overlayfs"):
        snapshotter_for(layout, NO_OVERLAY)
    monkeypatch.setenv(ENV, "btrfs")
    with pytest.raises(InvalidArgument, match="copy"):
        snapshotter_for(layout, ROOT)


def test_a_home_overlayfs_cannot_name_gets_copies(snapshot_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    layout = Layout(snapshot_root / "a:b")
    assert isinstance(snapshotter_for(layout, ROOT), CopySnapshotter)
