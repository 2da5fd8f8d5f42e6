"""Reading layer tars as streams: the member list of a layer, and the first bytes of one file.

Nothing is extracted and nothing seeks except to re-read one blob for a hard link; each read is
one pass over the decompressed tar, with tarfile's extended headers capped as the applier caps them.
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from ..content.store import ContentStore
from ..diff.layerstream import ApplyLimits, bounded_tarinfo
from ..diff.members import member_path
from ..diff.whiteout import is_opaque, is_whiteout, whiteout_target
from ..oci.compression import decompressed, detect_stream
from ..oci.digest import Digest

PREVIEW_BYTES = 4096

#: Entry kinds, from the tar member type.
FILE, DIR, SYMLINK, HARDLINK, OTHER = "file", "dir", "symlink", "hardlink", "other"


@dataclass(frozen=True, slots=True)
class Entry:
    """One member of a layer tar (not a whiteout): absolute path, kind, content bytes."""

    path: str
    kind: str = FILE
    size: int = 0
    linkname: str = ""


@dataclass(frozen=True, slots=True)
class Listing:
    """A layer tar's member list: what it puts, what it deletes, which directories it makes opaque."""

    entries: tuple[Entry, ...] = ()
    deleted: tuple[str, ...] = ()
    opaque: tuple[str, ...] = ()


def _kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return FILE
    if member.isdir():
        return DIR
    if member.issym():
        return SYMLINK
    if member.islnk():
        return HARDLINK
    return OTHER


def open_tar(stream: BinaryIO) -> tarfile.TarFile:
    """A streaming reader over a layer blob (gzip, zstd or plain; ``stream`` seekable)."""
    return tarfile.open(fileobj=decompressed(stream, detect_stream(stream)), mode="r|",
                        tarinfo=bounded_tarinfo(ApplyLimits().max_header_bytes),
                        encoding="utf-8", errors="surrogateescape")


def read_listing(stream: BinaryIO) -> Listing:
    """The member list of one layer blob; contents are skipped, never held."""
    entries: list[Entry] = []
    deleted: list[str] = []
    opaque: list[str] = []
    with open_tar(stream) as tar:
        for member in tar:
            if is_whiteout(member.name):
                if is_opaque(member.name):
                    opaque.append(member_path(posixpath.dirname(member.name.rstrip("/"))) or "/")
                elif (target := whiteout_target(member.name)) is not None \
                        and (path := member_path(target)) is not None:
                    deleted.append(path)
                continue  # reserved .wh..wh. names mean nothing to a reader
            path = member_path(member.name)
            if path is not None:
                kind = _kind(member)
                entries.append(Entry(path, kind, member.size if kind == FILE else 0, member.linkname))
    return Listing(tuple(entries), tuple(deleted), tuple(opaque))


@dataclass(frozen=True, slots=True)
class Head:
    """What a layer holds at one path: its kind, full size, first bytes and link target."""

    path: str
    kind: str
    size: int
    data: bytes = b""
    linkname: str = ""


def read_head(stream: BinaryIO, path: str, limit: int = PREVIEW_BYTES) -> Head | None:
    """``path`` in the layer blob ``stream`` (None if the layer has no such entry).
    A hard link is followed to the earlier member it names, which takes a second pass."""
    with open_tar(stream) as tar:
        for member in tar:
            if member_path(member.name) != path:
                continue
            if member.islnk():
                target = member_path(member.linkname)
                stream.seek(0)
                found = read_head(stream, target, limit) if target and target != path else None
                if found is not None and found.kind == FILE:
                    return Head(path, FILE, found.size, found.data)
                return Head(path, HARDLINK, 0, linkname=member.linkname)
            if member.isreg():
                reader = tar.extractfile(member)
                data = reader.read(limit) if reader is not None else b""
                return Head(path, FILE, member.size, data)
            kind = DIR if member.isdir() else SYMLINK if member.issym() else OTHER
            return Head(path, kind, 0, linkname=member.linkname)
    return None


def read_file_head(content: ContentStore, layer: Digest, path: str,
                   limit: int = PREVIEW_BYTES) -> Head | None:
    with content.open(layer) as blob:
        return read_head(blob, path, limit)
