"""The realistic path: an image unpacked into snapshots, a container's writable layer prepared on
it, a real isolated process changing files, and ``docker diff`` reading what it changed."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

from minidock_magic.facade import Minidock
from minidock_magic.runtime import Isolation, ProcessSpec, probe_host, run
from minidock_magic.snapshots.base import Snapshotter
from minidock_magic.snapshots.unpack import unpack
from tests.diff.helpers import TarBuilder
from tests.snapshots.helpers import make_image

pytestmark = pytest.mark.integration

SCRIPT = """
ls /etc/cache; cat /etc/passwd | head -1; test ! -e /etc/motd && echo motd-gone
rm /bin/ls; echo hi > /etc/greeting; rm -r /etc/cache; mkdir /etc/cache; touch /etc/cache/z
"""


def isolations(snapshotter: Snapshotter) -> list[Isolation]:
    """The backends that can run on this snapshotter's mounts here."""
    caps = probe_host()
    usable = [i for i in Isolation if caps.supports(i)]
    if os.geteuid() != 0 or snapshotter.name == "overlay-rootless":
        usable = [i for i in usable if i is not Isolation.NAMESPACES]  # userxattr layers only
    if snapshotter.name.startswith("overlay"):
        usable = [i for i in usable if i is not Isolation.PROOT]  # proot cannot mount anything
    return usable


def test_a_container_changes_its_writable_layer(snapshotter: Snapshotter) -> None:
    base = Path(tempfile.mkdtemp(prefix="mdctr-", dir=snapshotter.root))  # type: ignore[attr-defined]
    engine = Minidock(base / "home")
    busybox = engine.bootstrap()
    layer = (TarBuilder().dir("etc").file("etc/motd", b"m").dir("etc/cache")
             .file("etc/cache/a").bytes())
    hides = (TarBuilder().dir("etc").file("etc/.wh.motd").dir("etc/cache")
             .file("etc/cache/.wh..wh..opq").file("etc/cache/b").bytes())
    blobs = [engine.content.read_bytes(d.digest) for d in busybox.layers]
    import gzip
    image = make_image(engine.content, [gzip.decompress(b) for b in blobs] + [layer, hides])
    top = unpack(snapshotter, engine.content, image)
    tried = isolations(snapshotter)
    if not tried:
        pytest.skip(f"no isolation backend here can use {snapshotter.name} snapshots")
    for isolation in tried:
        key = f"container-{isolation}"
        mounts = snapshotter.prepare(key, top)
        out, err = io.BytesIO(), io.BytesIO()
        status = run(ProcessSpec(rootfs=mounts.rootfs, overlay=mounts.overlay,
                                 argv=["sh", "-c", SCRIPT], env=["PATH=/bin"]),
                     isolation=isolation, stdout=out, stderr=err)
        assert status == 0, (isolation, err.getvalue())
        # the lower layers' opaque dir and whiteout, as this backend's mount read them
        assert out.getvalue().decode().split() == ["b", "root:x:0:0:root:/root:/bin/sh",
                                                   "motd-gone"], isolation
        changes, source = snapshotter.changes(key)
        lines = {str(c) for c in changes}
        assert {"D /bin/ls", "A /etc/greeting", "A /etc/cache/z"} <= lines, (isolation, lines)
        assert "D /etc/cache/b" in lines or any(c.opaque for c in changes if c.path == "/etc/cache")
        assert (source / "etc" / "greeting").read_text() == "hi\n"
        snapshotter.remove(key)
