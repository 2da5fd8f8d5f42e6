"""Snapshots made by an ordinary user (Binder, JupyterHub): no trusted.* xattrs, no mknod but 0/0,
no CAP_DAC_OVERRIDE for the image's 0555 directories and 0000 files.

As root the suite cannot show any of that, so this runs the copy and rootless overlay
snapshotters as ``nobody`` with Debian's ``python3`` (root's own Python lives in a home
``nobody`` cannot enter), and mounts the overlay the rootless way: ``unshare -r -m``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.snapshots.helpers import MERGED, PACKAGE_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = r"""
import json, os, sys
from pathlib import Path
from minidock_magic.content.store import ContentStore
from minidock_magic.snapshots.copy import CopySnapshotter
from minidock_magic.snapshots.overlay import OverlaySnapshotter
from minidock_magic.snapshots.unpack import unpack
from tests.diff.helpers import TarBuilder
from tests.snapshots.helpers import base_layer, kinds, make_image, shell, top_layer, view

top = Path(sys.argv[1])
content = ContentStore(top / "oci", tmp_dir=top / "tmp")
secret = TarBuilder().dir("etc").file("etc/shadow", b"root:*:", mode=0o000).bytes()
image = make_image(content, [base_layer(), top_layer(), secret])
out = {"euid": os.geteuid()}
for snapshotter in (CopySnapshotter(top / "copy"), OverlaySnapshotter(top / "ovl", rootless=True)):
    result = out[snapshotter.name] = {}
    key = unpack(snapshotter, content, image)
    snapshotter.prepare("container", key)
    seen = kinds(view(snapshotter, "container"))
    result["shadow"] = seen.pop("etc/shadow")
    result["view"] = seen
    shell(snapshotter, "container", "rm -r etc/cache ro/kept; mkdir etc/cache; echo x > ro/x")
    result["changes"] = sorted(str(c) for c in snapshotter.changes("container")[0])
    for info in reversed(list(snapshotter.walk())):
        snapshotter.remove(info.key)
    result["left"] = sorted(os.listdir(top / ("copy" if snapshotter.name == "copy" else "ovl")
                                       / "snapshots"))
print(json.dumps(out))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    top = Path(tempfile.mkdtemp(prefix="mdsnap-nobody-", dir="/tmp"))
    os.chmod(top, 0o777)
    try:
        yield top
    finally:
        from minidock_magic.snapshots.local import remove_tree
        remove_tree(top)


def test_snapshots_as_nobody(shared_tmp: Path, needs_namespaces: None) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("util-linux unshare is needed: apt-get install util-linux")
    root = shared_tmp / "work"
    argv = [sys.executable, "-c", SCRIPT, str(root)]
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        python = shutil.which("python3", path="/usr/bin")
        if python is None:
            pytest.fail("Debian's python3 is needed to run as nobody: apt-get install python3")
        argv[0] = python
        kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "PYTHONPATH": str(PACKAGE_ROOT),
           "HOME": str(shared_tmp)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=shared_tmp,
                          timeout=300, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["euid"] != 0 or os.geteuid() != 0
    for name in ("copy", "overlay-rootless"):
        result = out[name]
        assert result["view"] == {k: list(v) for k, v in MERGED.items()}, name
        assert result["shadow"] == ["f", "root:*:"], name  # a 0000 file is copied all the same
        assert result["changes"] == ["A /ro/x", "C /etc", "C /etc/cache", "C /ro",
                                     "D /etc/cache/c", "D /ro/kept"], name
        assert result["left"] == [], name  # 0555 dirs and overlay's 000 work dir removed too
