"""What the image commands find, as plain values: rows of ``images`` and ``history``, and the
store's check, prune and disk usage. How they are shown (tables, text, HTML) is
:mod:`minidock_magic.results`, a layer above: the core computes, it never formats."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..oci.digest import Digest


@dataclass(frozen=True, slots=True)
class ImageRow:
    repository: str
    tag: str
    id: Digest
    digest: Digest
    created: str | None
    size: int
    shared_size: int
    unique_size: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    image: str
    created: str | None
    created_by: str
    size: int
    comment: str
    digest: Digest | None  # the layer blob this step made (None for metadata-only steps)


@dataclass(frozen=True)
class StoreCheck:
    blobs: int
    corrupt: list[Digest] = field(default_factory=list)
    missing: dict[Digest, str] = field(default_factory=dict)
    dangling: list[Digest] = field(default_factory=list)
    unreadable: dict[Digest, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.missing or self.unreadable)


@dataclass(frozen=True)
class Pruned:
    deleted: list[Digest]
    untagged: list[str]
    freed: int


@dataclass(frozen=True)
class StoreUsage:
    images: int
    blobs: int
    total: int      # bytes on disk in blobs
    shared: int     # bytes of blobs used by more than one image
    unique: int     # bytes of blobs used by exactly one image
    unused: int     # bytes of blobs no image uses
