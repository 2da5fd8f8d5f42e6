"""Applying layers: round trips through the writer, whiteouts and opaque dirs across layers."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from minidock_magic.diff.apply import ApplyLimits, ApplyReport, apply_layer
from minidock_magic.diff.changes import changes_between
from minidock_magic.diff.writer import write_layer, write_tree_layer
from minidock_magic.errors import InvalidArgument
from minidock_magic.oci.digest import Digest
from tests.diff.helpers import TarBuilder, listing, make_tree, whole_seconds

EPOCH = 1_700_000_000


def tree_layer(root: Path, compression: str = "gzip") -> io.BytesIO:
    out = io.BytesIO()
    write_tree_layer(root, out, compression=compression, source_date_epoch=EPOCH)
    out.seek(0)
    return out


def apply_to(root: Path, *layers: bytes | io.BytesIO, **kw: object) -> list[ApplyReport]:
    root.mkdir(parents=True, exist_ok=True)
    return [apply_layer(io.BytesIO(l) if isinstance(l, bytes) else l, root, **kw)  # type: ignore[arg-type]
            for l in layers]


@pytest.mark.parametrize("compression", ["gzip", "none", "zstd"])
def test_round_trip(tmp_path: Path, compression: str) -> None:
    if compression == "zstd":
        pytest.importorskip("zstandard")
    src = make_tree(tmp_path / "src")
    dst = tmp_path / "dst"
    blob = tree_layer(src, compression)
    diff_id = write_tree_layer(src, io.BytesIO(), compression="none", source_date_epoch=EPOCH).digest
    [report] = apply_to(dst, blob)
    assert report.diff_id == diff_id and report.skipped == []
    assert whole_seconds(listing(dst)) == whole_seconds(listing(src))
    assert os.stat(dst / "etc" / "passwd").st_ino == os.stat(dst / "etc" / "passwd.hardlink").st_ino
    assert os.getxattr(dst / "etc" / "passwd", "user.lesson") == b"\x00\xffbinary"
    assert stat.S_IMODE(os.stat(dst / "bin" / "busybox").st_mode) == 0o4755
    assert report.entries == 15 and report.bytes_written == (dst / "bin" / "busybox").stat().st_size + 4 + 30 + 1


def test_diff_then_commit_reproduces_the_container(tmp_path: Path) -> None:
    """The commit path: base tree, a 'container' changes a copy, the diff layer rebuilds it."""
    base = make_tree(tmp_path / "base")
    container = tmp_path / "container"
    subprocess.run(["cp", "-a", str(base), str(container)], check=True)
    os.chmod(container / "etc" / "readonly", 0o755)
    shutil.rmtree(container / "etc" / "readonly")  # a deleted directory
    (container / "etc" / "passwd").write_text("root\nstudent\n")  # a changed file
    os.unlink(container / "bin" / "sh")  # a deleted symlink
    (container / "home" / "student").mkdir(parents=True)  # new directories
    (container / "home" / "student" / ".profile").write_text("PS1='$ '\n")
    (container / "usr" / "lib").chmod(0o700)
    rootfs = tmp_path / "rootfs"
    diff = io.BytesIO()
    write_layer(changes_between(base, container), container, diff, source_date_epoch=4_000_000_000)
    diff.seek(0)
    apply_to(rootfs, tree_layer(base), diff)
    assert whole_seconds(listing(rootfs, dir_mtimes=False)) == whole_seconds(listing(container, dir_mtimes=False))


def test_whiteouts_across_layers(tmp_path: Path) -> None:
    root = tmp_path / "root"
    one = TarBuilder().dir("etc").file("etc/motd", b"hi").dir("var/cache/apt", mode=0o700) \
        .file("var/cache/apt/pkg").symlink("bin", "usr/bin").bytes()
    two = TarBuilder().file("etc/.wh.motd").file("var/.wh.cache").file(".wh.bin") \
        .file(".wh.never-existed").bytes()
    apply_to(root, one, two)
    assert sorted(p.name for p in root.iterdir()) == ["etc", "var"]
    assert list((root / "etc").iterdir()) == [] and list((root / "var").iterdir()) == []


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_hides_lower_but_keeps_this_layer(tmp_path: Path, marker_first: bool) -> None:
    root = tmp_path / "root"
    one = TarBuilder().dir("d").file("d/a").file("d/b").dir("d/sub").file("d/sub/c").file("keep").bytes()
    two = TarBuilder().dir("d", mode=0o750)
    if marker_first:
        two.file("d/.wh..wh..opq")
    two.file("d/new", b"new").file("d/sub/y", b"y")  # d/sub: lower dir, implicit parent here
    if not marker_first:
        two.file("d/.wh..wh..opq")
    [_, report] = apply_to(root, one, two.bytes())
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "d", "d/new", "d/sub", "d/sub/y", "keep"]
    assert stat.S_IMODE((root / "d").stat().st_mode) == 0o750
    assert report.entries == 4


def test_whiteout_does_not_hide_its_own_layer(tmp_path: Path) -> None:
    root = tmp_path / "root"
    [report] = apply_to(root, TarBuilder().file("x", b"mine").file(".wh.x").file(".wh..wh.plnk").bytes())
    assert (root / "x").read_bytes() == b"mine"
    assert len(report.skipped) == 2


def test_replacing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    one = TarBuilder().dir("d").file("d/x").file("f", b"1").symlink("s", "f").dir("keep").file("keep/k").bytes()
    two = TarBuilder().file("d", b"now a file").dir("f").symlink("s", "/elsewhere") \
        .dir("keep", mode=0o700, mtime=42).bytes()
    apply_to(root, one, two)
    assert (root / "d").read_bytes() == b"now a file" and (root / "f").is_dir()
    assert os.readlink(root / "s") == "/elsewhere"
    assert (root / "keep" / "k").exists() and (root / "keep").stat().st_mtime == 42
    assert stat.S_IMODE((root / "keep").stat().st_mode) == 0o700


def test_directory_metadata_is_set_last(tmp_path: Path) -> None:
    root = tmp_path / "root"
    apply_to(root, TarBuilder().dir("ro", mode=0o555, mtime=7).file("ro/a").dir("ro/sub", mtime=8)
             .file("ro/sub/b").bytes(), privileged=False)
    assert stat.S_IMODE((root / "ro").stat().st_mode) == 0o555
    assert (root / "ro").stat().st_mtime == 7 and (root / "ro" / "sub").stat().st_mtime == 8


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owners_when_privileged(tmp_path: Path) -> None:
    b = TarBuilder()
    for name, kind in (("f", tarfile.REGTYPE), ("l", tarfile.SYMTYPE)):
        info = tarfile.TarInfo(name)
        info.type, info.uid, info.gid, info.mode = kind, 1234, 5678, 0o2755
        info.linkname = "f" if kind == tarfile.SYMTYPE else ""
        b.tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    apply_to(tmp_path / "p", b.bytes())
    assert (os.lstat(tmp_path / "p" / "f").st_uid, os.lstat(tmp_path / "p" / "l").st_gid) == (1234, 5678)
    assert stat.S_IMODE(os.stat(tmp_path / "p" / "f").st_mode) == 0o2755
    apply_to(tmp_path / "u", b.bytes(), privileged=False)
    assert os.lstat(tmp_path / "u" / "f").st_uid == os.geteuid()


def test_root_entry_metadata(tmp_path: Path) -> None:
    root = tmp_path / "root"
    apply_to(root, TarBuilder().dir("./", mode=0o750, mtime=99).bytes())
    assert stat.S_IMODE(root.stat().st_mode) == 0o750 and root.stat().st_mtime == 99
    apply_to(root, TarBuilder().dir(".", mode=0o055).bytes())  # would lock the owner out: ignored
    assert stat.S_IMODE(root.stat().st_mode) == 0o750


def test_diff_id_covers_the_whole_stream(tmp_path: Path) -> None:
    data = TarBuilder().file("a", b"a").bytes() + b"\0" * 4096  # extra padding after the end
    [report] = apply_to(tmp_path / "r", gzip.compress(data))
    assert report.diff_id == Digest.of(data)


@pytest.mark.parametrize("blob", [b"", b"not a tar at all" * 100, gzip.compress(b"x" * 1000, mtime=0)[:-12],
                                  b"\x1f\x8b\x08\x00garbage"],
                         ids=["empty", "text", "truncated-gzip", "bad-gzip"])
def test_not_a_layer(tmp_path: Path, blob: bytes) -> None:
    with pytest.raises(InvalidArgument, match="not a valid"):
        apply_to(tmp_path / "r", blob)


def test_empty_layer(tmp_path: Path) -> None:
    [report] = apply_to(tmp_path / "r", TarBuilder().bytes())
    assert report.entries == 0 and report.diff_id == Digest.of(b"\0" * 10240)


def test_limits_default() -> None:
    limits = ApplyLimits()
    assert limits.max_bytes == 8 << 30 and limits.max_entries == 1_000_000
    assert limits.max_path_length == 4096 and limits.max_depth == 256
