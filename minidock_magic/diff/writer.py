"""Layer tars out of a tree: deterministic bytes, and every digest computed in the same pass.

A layer is identified twice: its ``diff_id`` (sha256 of the uncompressed tar, what the image
config lists) and its ``digest`` (sha256 of the blob as stored and pushed, usually gzipped).
Both come from one streaming pass — tar → hash → compress → hash → ``out`` — so a layer of
gigabytes is never held in memory nor read twice.

The same tree must always give the same bytes, or two students building the same lesson get
different image ids. So: entries in path order (parents first, each directory's children
together), PAX headers, numeric owners only, integer mtimes clamped to ``SOURCE_DATE_EPOCH``,
gzip with no name and mtime 0, hardlinks as tar links to the first path in that order.
(Byte-identical gzip output also assumes the same zlib; the ``diff_id`` never depends on it.)

Opaque directories travel as ``Change(kind, path, opaque=True)``: the directory's own entry is
written, then ``dir/.wh..wh..opq`` right after it, and DELETED changes beneath it are dropped,
since the marker already hides all lower content there.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidArgument, NotFound, Unsupported
from ..oci.digest import Digest
from ..oci.mediatypes import OCI_LAYER_BY_COMPRESSION
from .changes import Change, ChangeKind, changes_between, layer_xattrs
from .whiteout import OPAQUE_MARKER, WHITEOUT_PREFIX

GZIP_LEVEL = 6  # zlib's and Go's default: what docker pushes, a fair size/speed trade
ZSTD_LEVEL = 3


@dataclass(frozen=True, slots=True)
class LayerInfo:
    digest: Digest  # of the bytes written to ``out`` (compressed)
    diff_id: Digest  # of the uncompressed tar
    size: int  # bytes written to ``out``
    media_type: str


class _HashingWriter:
    """Passes bytes on to ``sink`` while hashing and counting them."""

    def __init__(self, sink: BinaryIO | None) -> None:
        self.sink, self.hash, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def digest(self) -> Digest:
        return Digest("sha256", self.hash.hexdigest())


def _compressor(compression: str, sink: _HashingWriter) -> BinaryIO:
    if compression == "gzip":
        # filename='' and mtime=0: otherwise gzip stamps the name and the time into the header.
        return gzip.GzipFile(filename="", mode="wb", fileobj=sink,  # type: ignore[arg-type]
                             compresslevel=GZIP_LEVEL, mtime=0)
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise Unsupported("zstd layers need the 'zstandard' package: pip install zstandard") from None
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(sink, closefd=False)  # type: ignore[no-any-return]
    return sink  # type: ignore[return-value]  # 'none': the compressed bytes are the tar


def resolve_epoch(source_date_epoch: int | None) -> tuple[int, bool]:
    """(clamp, reproducible): explicit epoch, else ``$SOURCE_DATE_EPOCH``, else now."""
    if source_date_epoch is not None:
        return int(source_date_epoch), True
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env.isdigit():
        return int(env), True
    return int(time.time()), False


def _parts(change: Change) -> tuple[str, ...]:
    parts = tuple(p for p in change.path.split("/") if p not in ("", "."))
    if ".." in parts or any("\0" in p for p in parts):
        raise InvalidArgument(f"change path {change.path!r} must be absolute and normalised")
    return parts


def _plan(changes: Iterable[Change]) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    """(sort key, 'entry' | 'whiteout' | 'opaque', path parts) in the order they are written."""
    content: set[tuple[str, ...]] = set()
    deleted: set[tuple[str, ...]] = set()
    opaque: set[tuple[str, ...]] = set()
    for change in changes:
        parts = _parts(change)
        if change.kind is ChangeKind.DELETED:
            if parts:
                deleted.add(parts)
            continue
        if change.opaque:
            opaque.add(parts)
        if parts:
            content.add(parts)

    def covered(parts: tuple[str, ...]) -> bool:  # deleted or hidden already by an ancestor
        return any(parts[:i] in deleted or parts[:i] in opaque for i in range(len(parts)))

    deleted = {p for p in deleted if p not in content and not covered(p)}
    for parts in content | deleted | opaque:  # every parent travels with its children
        content.update(parts[:i] for i in range(1, len(parts)))
    plan = [(p, "entry", p) for p in content]
    # The marker sorts right after its directory's entry ('' precedes any name), so no applier,
    # however naive, can apply it after this layer's own children of that directory.
    plan += [(p + ("",), "opaque", p) for p in opaque]
    plan += [(p[:-1] + (WHITEOUT_PREFIX + p[-1],), "whiteout", p) for p in deleted]
    return sorted(plan)


def _tarinfo(name: str, st: os.stat_result, clamp: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid, info.uname, info.gname = st.st_uid, st.st_gid, "", ""
    info.mtime = max(0, min(int(st.st_mtime), clamp))
    return info


def _marker(name: str, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)  # an empty root-owned regular file, as docker and containerd write
    info.mode, info.mtime, info.uname, info.gname = 0, mtime, "", ""
    return info


def _write_planned(plan: list[tuple[tuple[str, ...], str, tuple[str, ...]]], source: Path,
                   tar: tarfile.TarFile, clamp: int, marker_mtime: int,
                   owner: tuple[int, int] | None = None) -> None:
    first_link: dict[tuple[int, int], str] = {}
    real_dirs: set[tuple[str, ...]] = {()}
    for _key, kind, parts in plan:
        name = "/".join(parts)
        if parts[:-1] not in real_dirs:  # never read through a symlink the container planted
            raise InvalidArgument(f"/{'/'.join(parts[:-1])} is not a directory in {source}, "
                                  f"but the changes need it to hold /{name}")
        if kind == "whiteout":
            tar.addfile(_marker("/".join(parts[:-1] + (WHITEOUT_PREFIX + parts[-1],)), marker_mtime))
            continue
        if kind == "opaque":
            tar.addfile(_marker("/".join(parts + (OPAQUE_MARKER,)), marker_mtime))
            continue
        path = source.joinpath(*parts)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise NotFound(f"/{name} is in the change list but not in {source}") from None
        info = _tarinfo(name, st, clamp)
        if owner is not None:
            info.uid, info.gid = owner
        xattrs = layer_xattrs(path) if not stat.S_ISLNK(st.st_mode) else {}
        info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                            for k, v in xattrs.items()}
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            real_dirs.add(parts)
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                first = first_link.setdefault((st.st_dev, st.st_ino), name)
                if first != name:
                    info.type, info.linkname = tarfile.LNKTYPE, first
                    tar.addfile(info)
                    continue
            info.size = st.st_size
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as content:
                tar.addfile(info, content)
            continue
        else:
            continue  # sockets (and anything stranger) are not image content
        tar.addfile(info)


def write_layer(changes: Iterable[Change], source: Path, out: BinaryIO, *,
                compression: str = "gzip", source_date_epoch: int | None = None,
                owner: tuple[int, int] | None = None) -> LayerInfo:
    """Write the layer tar of ``changes`` to ``out``; ADDED/CHANGED content comes from ``source``.

    ``source`` is the tree holding the new content (a container's merged view, or an overlay
    upper dir). DELETED paths become ``.wh.`` entries; ``Change(..., opaque=True)`` directories
    get an opaque marker. Parents of every path are written too, so the tar stands on its own.
    ``owner`` (uid, gid), when given, is every entry's owner instead of the files' own.
    """
    if compression not in OCI_LAYER_BY_COMPRESSION:
        raise InvalidArgument(f"unknown layer compression {compression!r}: "
                              f"use one of {', '.join(sorted(OCI_LAYER_BY_COMPRESSION))}")
    clamp, reproducible = resolve_epoch(source_date_epoch)
    plan = _plan(changes)
    stored = _HashingWriter(out)
    compressor = _compressor(compression, stored)
    uncompressed = stored if compressor is stored else _HashingWriter(compressor)
    with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                      encoding="utf-8", errors="surrogateescape") as tar:
        _write_planned(plan, Path(source), tar, clamp, clamp if reproducible else 0, owner)
    if compressor is not stored:
        compressor.close()  # flushes the gzip trailer / zstd frame into ``stored``
    return LayerInfo(digest=stored.digest(), diff_id=uncompressed.digest(), size=stored.size,
                     media_type=OCI_LAYER_BY_COMPRESSION[compression])


def write_tree_layer(root: Path, out: BinaryIO, *, compression: str = "gzip",
                     source_date_epoch: int | None = None, owner: tuple[int, int] | None = None) -> LayerInfo:
    """Every file under ``root`` as one layer (``import``, the busybox bootstrap, base layers)."""
    return write_layer(changes_between(None, Path(root)), Path(root), out,
                       compression=compression, source_date_epoch=source_date_epoch, owner=owner)
