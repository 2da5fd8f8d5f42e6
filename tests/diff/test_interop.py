"""Our layer tars against GNU tar, the reference reader and writer of the format."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from minidock_magic.diff.apply import apply_layer
from minidock_magic.diff.writer import write_tree_layer
from tests.diff.helpers import listing, make_tree, whole_seconds

pytestmark = pytest.mark.integration
EPOCH = 1_700_000_000


def gnu_tar() -> str:
    path = shutil.which("tar")
    if path is None or "GNU tar" not in subprocess.run([path, "--version"], capture_output=True,
                                                       text=True).stdout:
        pytest.fail("GNU tar is not installed: apt-get install tar")
    return path


def test_gnu_tar_reads_our_layers(tmp_path: Path) -> None:
    tar = gnu_tar()
    src = make_tree(tmp_path / "src")
    blob = tmp_path / "layer.tar.gz"
    with open(blob, "wb") as out:
        write_tree_layer(src, out, source_date_epoch=EPOCH)
    table = subprocess.run([tar, "-tvzf", blob, "--numeric-owner"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert len(table) == 15
    assert any(line.startswith("-rwsr-xr-x 0/0") and line.endswith("bin/busybox") for line in table)
    assert any(line.startswith("lrwxrwxrwx") and line.endswith("lib -> /usr/lib") for line in table)
    assert any(line.startswith("hrw-r--r--") and "etc/passwd.hardlink link to etc/passwd" in line
               for line in table)
    out = tmp_path / "gnu"
    out.mkdir()
    subprocess.run([tar, "-xzf", blob, "-C", out, "--xattrs", "--xattrs-include=user.*",
                    "--numeric-owner"], check=True)
    expected = whole_seconds(listing(src, dir_mtimes=False))
    if os.geteuid() != 0:
        # The layer says root owns bin/busybox (a layer records the image's owners, not the
        # student's); tar run by a student cannot give root's file to root, so, as it must, it
        # drops the setuid bit instead of making a setuid file of the student's.
        expected = {path: (kind, mode & ~0o6000, *rest) for path, (kind, mode, *rest) in expected.items()}
    assert whole_seconds(listing(out, dir_mtimes=False)) == expected
    assert os.getxattr(out / "etc" / "passwd", "user.lesson") == b"\x00\xffbinary"


def test_we_apply_gnu_tar_layers(tmp_path: Path) -> None:
    tar = gnu_tar()
    src = make_tree(tmp_path / "src")
    blob = tmp_path / "gnu.tar"
    subprocess.run([tar, "--format=posix", "--xattrs", "--numeric-owner", "--sort=name", "-cf", blob,
                    "-C", src, "."], check=True)
    dst = tmp_path / "dst"
    dst.mkdir()
    with open(blob, "rb") as stream:
        report = apply_layer(stream, dst)
    assert listing(dst, dir_mtimes=False) == listing(src, dir_mtimes=False)  # PAX keeps nanoseconds
    assert os.stat(dst / "etc" / "passwd").st_ino == os.stat(dst / "etc" / "passwd.hardlink").st_ino
    assert report.skipped == []
    again = io.BytesIO()
    write_tree_layer(dst, again, source_date_epoch=EPOCH)
    mine = io.BytesIO()
    write_tree_layer(src, mine, source_date_epoch=EPOCH)
    assert again.getvalue() == mine.getvalue()  # same tree, whoever unpacked it: same layer
