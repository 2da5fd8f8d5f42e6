"""Reading a layer blob as a stream: sniff its compression, hash the tar, stop bombs early.

A layer arrives as gzip, zstd or plain tar, maybe straight off the network, so nothing here
seeks: the first bytes are sniffed and replayed, the decompressed bytes are hashed into the
``diff_id`` as tarfile pulls them, and every read is checked against :class:`ApplyLimits`
(a few kilobytes of gzip can claim gigabytes of zeros).
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import TooLarge, Unsupported
from ..oci.compression import detect
from ..oci.digest import CHUNK, Digest


@dataclass(frozen=True)
class ApplyLimits:
    """Caps on what one layer may make us do; exceeding any raises :class:`TooLarge`."""

    max_bytes: int = 8 << 30  # uncompressed tar bytes (contents + headers + padding)
    max_entries: int = 1_000_000
    max_path_length: int = 4096  # bytes of one member name or link target
    max_depth: int = 256  # path components, before and after symlink resolution
    max_ratio: float | None = None  # uncompressed / compressed; None: max_bytes alone caps it
    max_header_bytes: int = 1 << 20  # one PAX / GNU long-name header, which tarfile reads whole


class CountingReader:
    """The compressed side: replays the sniffed magic bytes, then counts what it reads."""

    def __init__(self, raw: BinaryIO, head: bytes) -> None:
        self.raw, self.head, self.count = raw, head, len(head)

    def read(self, size: int = -1) -> bytes:
        if self.head:
            take = len(self.head) if size < 0 else size
            data, self.head = self.head[:take], self.head[take:]
            return data
        data = self.raw.read(size if size >= 0 else CHUNK)
        self.count += len(data)
        return data


class MeasuredReader:
    """The uncompressed side: hashes into the diff_id and enforces the size limits."""

    def __init__(self, inner: BinaryIO, compressed: CountingReader, limits: ApplyLimits) -> None:
        self.inner, self.compressed, self.limits = inner, compressed, limits
        self.hash, self.size = hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if size >= 0 else CHUNK)
        self.size += len(data)
        self.hash.update(data)
        if self.size > self.limits.max_bytes:
            raise TooLarge(f"layer unpacks to more than {self.limits.max_bytes} bytes")
        ratio = self.limits.max_ratio
        if ratio is not None and self.size > CHUNK and self.size > ratio * max(1, self.compressed.count):
            raise TooLarge(f"layer expands more than {ratio:g}x: a decompression bomb?")
        return data

    def drain(self) -> Digest:
        """Hash the rest (the tar's end blocks and padding are part of the diff_id)."""
        while self.read(CHUNK):
            pass
        return Digest("sha256", self.hash.hexdigest())


def open_layer_stream(stream: BinaryIO, limits: ApplyLimits) -> MeasuredReader:
    """The uncompressed tar inside ``stream``, whatever its compression (by magic bytes)."""
    head = b""
    while len(head) < 4 and (more := stream.read(4 - len(head))):
        head += more
    counting = CountingReader(stream, head)
    kind, inner = detect(head), counting
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=counting, mode="rb")  # type: ignore[assignment,arg-type]
    elif kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise Unsupported("zstd layers need the 'zstandard' package: pip install zstandard") from None
        inner = zstandard.ZstdDecompressor().stream_reader(counting, read_across_frames=True)
    return MeasuredReader(inner, counting, limits)  # type: ignore[arg-type]


def bounded_tarinfo(limit: int) -> type[tarfile.TarInfo]:
    class Bounded(tarfile.TarInfo):
        def _proc_member(self, tarfile_: tarfile.TarFile):  # type: ignore[no-untyped-def]
            # PAX and GNU long-name headers are read into memory whole: cap them first.
            if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                             tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK) and self.size > limit:
                raise TooLarge(f"layer has a {self.size}-byte extended header (limit {limit})")
            return super()._proc_member(tarfile_)  # type: ignore[misc]
    return Bounded
