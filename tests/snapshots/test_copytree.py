"""The copy snapshotter's tree copy keeps everything a layer can carry, and follows no symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from minidock_magic.snapshots.copytree import copy_tree
from tests.diff.helpers import listing, make_tree


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    src, dst = make_tree(tmp_path / "src"), tmp_path / "dst"
    (src / "escape").symlink_to("/etc")
    (src / "up").symlink_to("../../..")
    dst.mkdir()
    return src, dst


def test_copy_keeps_everything(tmp_path: Path) -> None:
    src, dst = _copy(tmp_path)
    if os.geteuid() == 0:
        os.chown(src / "etc" / "passwd", 1234, 5678)
        os.mknod(src / "etc" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.utime(src / "etc" / "null", ns=(1, 1_500_000_000_000_000_001))
    os.utime(src / "etc", ns=(1, 1_400_000_000_000_000_007))
    copy_tree(src, dst)
    assert listing(dst) == listing(src)  # types, modes (setuid, 0555), sizes, contents, ns mtimes
    assert os.getxattr(dst / "etc" / "passwd", "user.lesson") == b"\x00\xffbinary"
    a, b = os.lstat(dst / "etc" / "passwd"), os.lstat(dst / "etc" / "passwd.hardlink")
    assert a.st_ino == b.st_ino and a.st_nlink == 2  # a hardlink stays one file
    assert a.st_ino != os.lstat(src / "etc" / "passwd").st_ino  # ... and is a copy
    assert os.readlink(dst / "escape") == "/etc" and os.readlink(dst / "up") == "../../.."
    if os.geteuid() == 0:
        assert (a.st_uid, a.st_gid) == (1234, 5678)
        assert os.lstat(dst / "etc" / "null").st_rdev == os.makedev(1, 3)


def test_copy_is_independent_of_its_source(tmp_path: Path) -> None:
    src, dst = _copy(tmp_path)
    copy_tree(src, dst)
    (dst / "usr" / "lib" / "libc.so").write_bytes(b"changed in the container")
    assert (src / "usr" / "lib" / "libc.so").read_bytes() == b"libc"


def test_copy_refuses_a_file_as_its_source(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    with pytest.raises(NotADirectoryError):
        copy_tree(tmp_path / "f", tmp_path / "d")
