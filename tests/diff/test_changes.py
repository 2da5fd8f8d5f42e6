"""Change detection: the naive two-tree walk and the overlayfs upper-dir reader."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from minidock_magic.diff.changes import Change, ChangeKind, changes_between, changes_from_overlay_upper

A, C, D = ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.DELETED


def lines(changes: list[Change]) -> list[str]:
    return [str(c) + (" (opaque)" if c.opaque else "") for c in changes]


@pytest.fixture
def lower(tmp_path: Path) -> Path:
    root = tmp_path / "lower"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root\n")
    (root / "etc" / "hosts").write_text("127.0.0.1\n")
    (root / "var" / "cache" / "apt").mkdir(parents=True)
    (root / "var" / "cache" / "apt" / "pkg").write_text("pkg")
    (root / "bin").mkdir()
    (root / "bin" / "sh").symlink_to("busybox")
    (root / "tmp").mkdir()
    return root


@pytest.fixture
def upper(tmp_path: Path, lower: Path) -> Path:
    copy = tmp_path / "upper"
    shutil.copytree(lower, copy, symlinks=True)
    return copy


def test_from_nothing_everything_is_added(lower: Path) -> None:
    assert lines(changes_between(None, lower)) == [
        "A /bin", "A /bin/sh", "A /etc", "A /etc/hosts", "A /etc/passwd", "A /tmp", "A /var",
        "A /var/cache", "A /var/cache/apt", "A /var/cache/apt/pkg"]


def test_identical_trees_have_no_changes(lower: Path, upper: Path) -> None:
    assert changes_between(lower, upper) == []


def test_docker_diff_shapes(lower: Path, upper: Path) -> None:
    (upper / "etc" / "passwd").write_text("root\nstudent\n")  # size changes
    shutil.rmtree(upper / "var" / "cache")  # one D for the whole tree
    (upper / "tmp" / "new").mkdir()
    (upper / "tmp" / "new" / "file").write_text("x")
    (upper / "bin" / "sh").unlink()
    (upper / "bin" / "sh").symlink_to("/bin/busybox")  # link target changes
    os.chmod(upper / "etc" / "hosts", 0o600)  # mode changes
    assert lines(changes_between(lower, upper)) == [
        "C /bin", "C /bin/sh", "C /etc", "C /etc/hosts", "C /etc/passwd",
        "C /tmp", "A /tmp/new", "A /tmp/new/file", "C /var", "D /var/cache"]


def test_type_change_reports_new_children(lower: Path, upper: Path) -> None:
    (upper / "etc" / "hosts").unlink()
    (upper / "etc" / "hosts").mkdir()
    (upper / "etc" / "hosts" / "a").write_text("a")
    shutil.rmtree(upper / "var")
    (upper / "var").write_text("now a file")
    assert lines(changes_between(lower, upper)) == [
        "C /etc", "C /etc/hosts", "A /etc/hosts/a", "C /var"]


def test_mtime_and_owner_count_content_does_not(lower: Path, upper: Path) -> None:
    st = os.stat(lower / "etc" / "passwd")
    (upper / "etc" / "passwd").write_text("ROOT\n")  # same size ...
    os.utime(upper / "etc" / "passwd", ns=(st.st_atime_ns, st.st_mtime_ns))  # ... same mtime
    assert changes_between(lower, upper) == []  # the naive diff cannot see it, like docker's
    os.utime(upper / "etc" / "passwd", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert lines(changes_between(lower, upper)) == ["C /etc", "C /etc/passwd"]
    if os.geteuid() == 0:
        os.utime(upper / "etc" / "passwd", ns=(st.st_atime_ns, st.st_mtime_ns))
        os.chown(upper / "etc" / "hosts", 1000, 1000)
        assert lines(changes_between(lower, upper)) == ["C /etc", "C /etc/hosts"]


def test_xattr_change_is_a_change(lower: Path, upper: Path) -> None:
    os.setxattr(upper / "etc" / "passwd", "user.note", b"1")
    assert lines(changes_between(lower, upper)) == ["C /etc", "C /etc/passwd"]


def whiteout(path: Path) -> None:
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(0, 0))


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a whiteout device needs root")
@pytest.mark.parametrize("xattr", ["trusted.overlay.opaque", "user.overlay.opaque"])
def test_overlay_upper(tmp_path: Path, lower: Path, xattr: str) -> None:
    up = tmp_path / "ovl-upper"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "passwd").write_text("changed")
    whiteout(up / "etc" / "hosts")
    (up / "var" / "cache").mkdir(parents=True)
    os.setxattr(up / "var" / "cache", xattr, b"y")
    (up / "var" / "cache" / "fresh").write_text("f")
    (up / "home").mkdir()
    assert lines(changes_from_overlay_upper(up, lower)) == [
        "C /etc", "D /etc/hosts", "C /etc/passwd", "A /home", "C /var",
        "C /var/cache (opaque)", "D /var/cache/apt", "A /var/cache/fresh"]
    assert lines(changes_from_overlay_upper(up)) == [
        "A /etc", "D /etc/hosts", "A /etc/passwd", "A /home", "A /var",
        "C /var/cache (opaque)", "A /var/cache/fresh"]


def test_fuse_overlayfs_file_whiteouts(tmp_path: Path, lower: Path) -> None:
    up = tmp_path / "fuse-upper"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / ".wh.hosts").write_text("")
    (up / "tmp").mkdir()
    (up / "tmp" / ".wh..wh..opq").write_text("")
    assert lines(changes_from_overlay_upper(up, lower)) == [
        "C /etc", "D /etc/hosts", "C /tmp (opaque)"]


def test_change_value() -> None:
    change = Change(A, "/x")
    assert change == Change(ChangeKind("A"), "/x") and hash(change) == hash(Change(A, "/x"))
    with pytest.raises(AttributeError):
        change.path = "/y"  # type: ignore[misc]
