"""Applying as an ordinary user (Binder, JupyterHub): read-only directories from lower layers.

As root, permissions never get in the way, so this runs the real thing as ``nobody`` with
Debian's ``python3`` (root's own Python lives in a home ``nobody`` cannot enter).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.snapshots.local import remove_tree

pytestmark = pytest.mark.integration
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import io, os, stat, sys, tarfile
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from minidock_magic.diff.apply import apply_layer

def layer(*entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, mode in entries:
            info = tarfile.TarInfo(name)
            info.type, info.mode = kind, mode
            tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    buf.seek(0)
    return buf

D, F = tarfile.DIRTYPE, tarfile.REGTYPE
root = Path(sys.argv[1])
apply_layer(layer(("ro", D, 0o555), ("ro/a", F, 0o644), ("cache", D, 0o755), ("cache/mod", D, 0o555),
                  ("cache/mod/x", F, 0o444), ("locked", D, 0o000)), root)
assert stat.S_IMODE(os.stat(root / "ro").st_mode) == 0o555
report = apply_layer(layer(("ro/b", F, 0o644), ("ro/.wh.a", F, 0), (".wh.cache", F, 0), (".wh.locked", F, 0)), root)
assert sorted(os.listdir(root)) == ["ro"], os.listdir(root)
assert sorted(os.listdir(root / "ro")) == ["b"]
assert stat.S_IMODE(os.stat(root / "ro").st_mode) == 0o555  # put back after writing into it
print("ok", os.geteuid(), report.skipped)
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    top = Path(tempfile.mkdtemp(prefix="minidock-unpriv-"))
    os.chmod(top, 0o777)
    try:
        yield top
    finally:
        remove_tree(top)  # as a student too: the tree keeps a 0555 directory with a file in it


def test_read_only_lower_directories(shared_tmp: Path) -> None:
    root = shared_tmp / "root"
    script = shared_tmp / "script.py"
    script.write_text(SCRIPT)
    if os.geteuid() != 0:
        argv = [sys.executable, str(script), str(root), str(PACKAGE_ROOT)]
    else:
        python = shutil.which("python3", path="/usr/bin")
        if python is None:
            pytest.fail("Debian's python3 is needed to run as nobody: apt-get install python3")
        argv = ["su", "nobody", "-s", "/bin/sh", "-c",
                f"mkdir {root} && {python} {script} {root} {PACKAGE_ROOT}"]
    if os.geteuid() != 0:
        root.mkdir()
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ") and not result.stdout.startswith("ok 0 ")
