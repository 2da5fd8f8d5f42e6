"""Layer compression: detect it by magic bytes, open a decompressing reader, hash what comes out."""

from __future__ import annotations

import gzip
import hashlib
from typing import BinaryIO

from ..errors import Unsupported
from .digest import CHUNK, Digest

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def detect(head: bytes) -> str:
    """'gzip', 'zstd' or 'none' from the first bytes of a blob."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def detect_stream(stream: BinaryIO) -> str:
    """Detect without consuming (``stream`` must be seekable)."""
    position = stream.tell()
    head = stream.read(4)
    stream.seek(position)
    return detect(head)


def decompressed(stream: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise Unsupported("zstd layers need the 'zstandard' package: pip install zstandard") from None
        return zstandard.ZstdDecompressor().stream_reader(stream)  # type: ignore[no-any-return]
    return stream


def diff_id_of(stream: BinaryIO) -> Digest:
    """sha256 of the uncompressed tar, whatever the blob's compression (seekable stream)."""
    reader = decompressed(stream, detect_stream(stream))
    h = hashlib.sha256()
    while chunk := reader.read(CHUNK):
        h.update(chunk)
    return Digest("sha256", h.hexdigest())
