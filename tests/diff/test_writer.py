"""Layer tars out of trees: deterministic bytes, one-pass digests, whiteouts, opaque markers."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from minidock_magic.diff.changes import Change, ChangeKind
from minidock_magic.diff.writer import LayerInfo, write_layer, write_tree_layer
from minidock_magic.errors import InvalidArgument
from minidock_magic.oci.digest import Digest
from tests.diff.helpers import make_tree

A, C, D = ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.DELETED
EPOCH = 1_700_000_000


def layer(root: Path, **kw: object) -> tuple[bytes, LayerInfo]:
    out = io.BytesIO()
    info = write_tree_layer(root, out, **kw)  # type: ignore[arg-type]
    return out.getvalue(), info


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        return tar.getmembers()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "tree")


def test_digests_are_of_the_bytes_written(tree: Path) -> None:
    data, info = layer(tree, source_date_epoch=EPOCH)
    assert info.digest == Digest.of(data) and info.size == len(data)
    assert info.diff_id == Digest.of(gzip.decompress(data))
    assert info.media_type == "application/vnd.oci.image.layer.v1.tar+gzip"


def test_same_tree_same_bytes(tree: Path, tmp_path: Path) -> None:
    first, info = layer(tree, source_date_epoch=EPOCH)
    again, info_again = layer(tree, source_date_epoch=EPOCH)
    assert first == again and info == info_again
    elsewhere = tmp_path / "elsewhere" / "copy"
    elsewhere.parent.mkdir()
    subprocess.run(["cp", "-a", str(tree), str(elsewhere)], check=True)  # new inodes, same content
    assert layer(elsewhere, source_date_epoch=EPOCH)[0] == first


def test_source_date_epoch_clamps(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    late, _ = layer(tree, source_date_epoch=EPOCH)
    early, _ = layer(tree, source_date_epoch=1_000_000_000)
    assert late != early
    assert {m.mtime for m in members(early)} == {1_000_000_000}
    assert {m.mtime for m in members(late)} == {1_500_000_000, 1_600_000_000}  # older: kept
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    assert layer(tree)[0] == early


def test_gzip_diff_id_is_the_plain_digest(tree: Path) -> None:
    gz, gz_info = layer(tree, source_date_epoch=EPOCH)
    plain, plain_info = layer(tree, compression="none", source_date_epoch=EPOCH)
    assert gz_info.diff_id == plain_info.digest == plain_info.diff_id
    assert gzip.decompress(gz) == plain
    assert plain_info.media_type == "application/vnd.oci.image.layer.v1.tar"


def test_zstd(tree: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    data, info = layer(tree, compression="zstd", source_date_epoch=EPOCH)
    assert info.media_type.endswith("+zstd") and data[:4] == b"\x28\xb5\x2f\xfd"
    plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    assert Digest.of(plain) == info.diff_id == layer(tree, compression="none", source_date_epoch=EPOCH)[1].digest


def test_unknown_compression(tree: Path) -> None:
    with pytest.raises(InvalidArgument, match="compression"):
        layer(tree, compression="bzip2")


def test_gzip_header_has_no_name_nor_time(tree: Path) -> None:
    data, _ = layer(tree, source_date_epoch=EPOCH)
    assert data[:3] == b"\x1f\x8b\x08" and data[3] == 0  # no FNAME / FEXTRA / FCOMMENT flags
    assert data[4:8] == b"\0\0\0\0"  # mtime 0


def test_entries(tree: Path) -> None:
    data, _ = layer(tree, compression="none", source_date_epoch=EPOCH)
    found = {m.name: m for m in members(data)}
    assert list(found) == [
        "bin", "bin/busybox", "bin/sh", "etc", "etc/empty", "etc/fifo", "etc/passwd",
        "etc/passwd.hardlink", "etc/readonly", "etc/readonly/inside", "lib", "proc", "usr", "usr/lib",
        "usr/lib/libc.so"]
    assert all(m.uname == "" and m.gname == "" for m in found.values())
    assert found["bin/busybox"].mode == 0o4755 and found["proc"].mode == 0o555
    assert found["lib"].issym() and found["lib"].linkname == "/usr/lib"
    assert found["etc/passwd.hardlink"].islnk() and found["etc/passwd.hardlink"].linkname == "etc/passwd"
    assert found["etc/fifo"].isfifo()
    assert found["etc/passwd"].pax_headers["SCHILY.xattr.user.lesson"].encode(
        "utf-8", "surrogateescape") == b"\x00\xffbinary"
    assert b"bin/\0" in data[:512]  # directory names end in exactly one slash
    assert data[257:265] == b"ustar\x0000"  # POSIX (PAX-capable) headers, not GNU


def test_sockets_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock"))
        data, _ = layer(root, source_date_epoch=EPOCH)
    assert members(data) == []


def test_write_layer_whiteouts_opaque_and_parents(tmp_path: Path) -> None:
    source = tmp_path / "merged"
    (source / "a" / "b").mkdir(parents=True)
    (source / "a" / "b" / "new").write_text("n")
    (source / "d").mkdir()
    (source / "d" / "fresh").write_text("f")
    changes = [
        Change(A, "/a/b/new"),  # parents a and a/b come with it
        Change(D, "/a/gone"), Change(D, "/old"), Change(D, "/old/inside"),  # covered by /old
        Change(C, "/d", opaque=True), Change(A, "/d/fresh"), Change(D, "/d/hidden"),  # covered
    ]
    out = io.BytesIO()
    info = write_layer(changes, source, out, compression="none", source_date_epoch=EPOCH)
    names = [m.name for m in members(out.getvalue())]
    assert names == [".wh.old", "a", "a/.wh.gone", "a/b", "a/b/new", "d", "d/.wh..wh..opq", "d/fresh"]
    assert names.index("d/.wh..wh..opq") == names.index("d") + 1  # right after its directory
    assert info.diff_id == Digest.of(out.getvalue())


def test_root_opaque(tmp_path: Path) -> None:
    out = io.BytesIO()
    write_layer([Change(C, "/", opaque=True), Change(D, "/x")], tmp_path, out, compression="none",
                source_date_epoch=EPOCH)
    assert [m.name for m in members(out.getvalue())] == [".wh..wh..opq"]


def test_refuses_to_read_through_a_planted_symlink(tmp_path: Path) -> None:
    source = tmp_path / "merged"
    source.mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("host key")
    (source / "etc").symlink_to(tmp_path / "secret")  # a container made /etc point at the host
    with pytest.raises(InvalidArgument, match="not a directory"):
        write_layer([Change(A, "/etc/key")], source, io.BytesIO(), source_date_epoch=EPOCH)
    with pytest.raises(InvalidArgument):
        write_layer([Change(A, "/../secret/key")], source, io.BytesIO(), source_date_epoch=EPOCH)


def test_hardlinks_only_within_the_layer(tmp_path: Path) -> None:
    source = tmp_path / "s"
    source.mkdir()
    (source / "z").write_text("same inode")
    os.link(source / "z", source / "a")
    out = io.BytesIO()
    write_layer([Change(A, "/z")], source, out, compression="none", source_date_epoch=EPOCH)
    only = members(out.getvalue())
    assert [(m.name, m.isreg()) for m in only] == [("z", True)]  # its twin is not in the layer
    out = io.BytesIO()
    write_layer([Change(A, "/z"), Change(A, "/a")], source, out, compression="none", source_date_epoch=EPOCH)
    both = members(out.getvalue())
    assert [(m.name, m.type, m.linkname) for m in both] == [("a", tarfile.REGTYPE, ""), ("z", tarfile.LNKTYPE, "a")]


def test_large_file_streams(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    with open(root / "blob", "wb") as f:
        for i in range(24):
            f.write(hashlib.sha256(bytes([i])).digest() * 32768)  # 24 MiB, not compressible to nothing
    data, info = layer(root, source_date_epoch=EPOCH)
    assert info.size == len(data) and members(data)[0].size == 24 << 20
