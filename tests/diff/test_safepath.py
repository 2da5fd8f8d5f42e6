"""Chroot-style resolution, the heart of safe extraction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock_magic.diff.safepath import open_dir, open_root, remove_at, resolve_in_root, resolve_parts
from minidock_magic.errors import UnsafeLayer


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "usr" / "lib").mkdir(parents=True)
    (r / "lib").symlink_to("/usr/lib")
    (r / "rel").symlink_to("usr/lib")
    (r / "up").symlink_to("../../../..")
    (r / "usr" / "lib" / "back").symlink_to("../../lib")
    (r / "loop1").symlink_to("loop2")
    (r / "loop2").symlink_to("/loop1")
    (r / "file").write_text("f")
    return r


@pytest.mark.parametrize(("path", "follow", "expected"), [
    ("/", True, ()), ("", True, ()), ("..", True, ()), ("../../..", True, ()),
    ("/lib/x", True, ("usr", "lib", "x")), ("rel/x", True, ("usr", "lib", "x")),
    ("up/etc/passwd", True, ("etc", "passwd")), ("up", True, ()), ("up", False, ("up",)),
    ("lib", False, ("lib",)), ("lib", True, ("usr", "lib")),
    ("usr/lib/back/back/back/x", True, ("usr", "lib", "x")),
    ("missing/../x", True, ("x",)), ("missing/deeper/x", True, ("missing", "deeper", "x")),
    ("./usr/./lib//x/", True, ("usr", "lib", "x")),
    ("file/x", True, ("file", "x")),  # not a directory: resolution says where; opening refuses
])
def test_resolve(root: Path, path: str, follow: bool, expected: tuple[str, ...]) -> None:
    assert resolve_parts(root, path, follow_final=follow) == expected
    assert resolve_in_root(root, path, follow_final=follow) == root.joinpath(*expected)


def test_loops_are_refused(root: Path) -> None:
    with pytest.raises(UnsafeLayer, match="too many levels"):
        resolve_parts(root, "loop1/x", follow_final=True)
    assert resolve_parts(root, "loop1", follow_final=False) == ("loop1",)


def test_nul_is_refused(root: Path) -> None:
    with pytest.raises(UnsafeLayer, match="NUL"):
        resolve_parts(root, "a\0b", follow_final=True)


def test_open_dir_never_crosses_symlinks(root: Path) -> None:
    fd = open_root(root)
    try:
        with pytest.raises(UnsafeLayer, match="'lib' is not a directory"):
            open_dir(fd, ("lib", "x"), create=True)
        with pytest.raises(UnsafeLayer, match="'file' is not a directory"):
            open_dir(fd, ("file",))
        with pytest.raises(FileNotFoundError):
            open_dir(fd, ("nope",))
        made = open_dir(fd, ("new", "deep"), create=True)
        os.close(made)
        assert (root / "new" / "deep").is_dir() and oct((root / "new").stat().st_mode)[-3:] == "755"
        with pytest.raises(UnsafeLayer):
            open_dir(fd, ("..",))
        remove_at(fd, "lib")  # removes the link, not its target
        remove_at(fd, "usr")
        remove_at(fd, "absent")
        assert not (root / "lib").is_symlink() and not (root / "usr").exists()
    finally:
        os.close(fd)
