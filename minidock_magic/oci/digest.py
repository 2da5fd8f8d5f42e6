"""Content digests (``sha256:<64 hex>``), the address of every blob, and the hashing helpers.

>>> d = Digest.of(b"hello")
>>> str(d)
'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
>>> Digest.parse(str(d)) == d
True
>>> d.short
'2cf24dba5fb0'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InvalidArgument

# hashlib loads OpenSSL (~3 ms); starting a container from a stored image hashes nothing.
if TYPE_CHECKING:
    import hashlib

# image-spec descriptor.md: algorithm ":" encoded, with the registered algorithms' own rules.
DIGEST_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
_ENCODED = {"sha256": re.compile(r"^[a-f0-9]{64}\Z"), "sha512": re.compile(r"^[a-f0-9]{128}\Z")}

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A content address: ``algorithm:encoded``, ordered and hashable."""

    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse and validate; only sha256 and sha512 are accepted (the spec's registered ones)."""
        if not isinstance(text, str) or not DIGEST_GRAMMAR.fullmatch(text):
            raise InvalidArgument(f"invalid digest {text!r}: expected sha256:<64 hex digits>",
                                  code="DIGEST_INVALID")
        algorithm, encoded = text.split(":", 1)
        rule = _ENCODED.get(algorithm)
        if rule is None:
            raise InvalidArgument(f"unsupported digest algorithm {algorithm!r}", code="DIGEST_INVALID")
        if not rule.fullmatch(encoded):
            raise InvalidArgument(f"invalid {algorithm} digest {text!r}", code="DIGEST_INVALID")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes) -> Digest:
        import hashlib
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def of_file(cls, stream: BinaryIO) -> Digest:
        import hashlib
        h = hashlib.sha256()
        while chunk := stream.read(CHUNK):
            h.update(chunk)
        return cls("sha256", h.hexdigest())

    def hasher(self) -> hashlib._Hash:
        import hashlib
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """The 12-hex-digit form docker shows in listings."""
        return self.encoded[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    def __repr__(self) -> str:
        return f"Digest('{self}')"
