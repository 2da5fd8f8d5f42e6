"""What each layer of an image adds, changes and deletes, and the space it wastes — ``dive``'s view.

Pure logic over *listings* (a layer tar's member list: entries, whiteouts, opaque directories,
read by :mod:`.tars`), plus a cache that lists each layer blob once per digest. No widgets here.

A layer's marks, against the filesystem the layers below it make:

- ``A`` an entry no lower layer has; ``C`` an entry that replaces a lower one (directories
  every layer repeats as the parents of what it adds count too, as in ``docker diff``);
- ``D`` a lower entry this layer removes: by a whiteout ``.wh.x``, beneath an opaque directory
  (``.wh..wh..opq``: the directory is replaced, its lower contents hidden), or beneath a
  directory this layer turns into a file.

*Wasted* bytes are bytes of regular files that a later layer overwrites or deletes: invisible in
the final filesystem, yet still shipped and stored in the lower layer. ``efficiency = 1 - wasted
/ total``, where *total* counts the file bytes of every layer.

>>> base = listing(file('/etc/motd', 100), file('/big', 10_000))
>>> cleanup = listing(file('/etc/motd', 40), deleted=['/big'])
>>> report = analyse([base, cleanup])
>>> [str(c) for c in report.layers[1].changes]
['D /big', 'C /etc/motd']
>>> report.wasted_bytes, report.total_bytes, round(report.efficiency, 3)
(10100, 10140, 0.004)
>>> sorted(report.merged_after(1))
['/etc/motd']
>>> report.wasted_files()
[('/big', 1, 10000), ('/etc/motd', 1, 100)]
"""

from __future__ import annotations

import posixpath
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..content.store import ContentStore
from ..images.image import Image
from ..oci.digest import Digest
from .tars import DIR, FILE, Entry, Listing, read_listing


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One path of a merged filesystem: its size, the layer that put it there, its kind."""

    size: int
    layer: int
    kind: str
    linkname: str = ""  # a symlink's target (hard links: the path they share content with)


@dataclass(frozen=True, slots=True)
class Change:
    mark: str  # 'A' | 'C' | 'D'
    path: str
    size: int  # the entry's bytes (for D: the bytes of the version removed)
    kind: str
    layer: int  # the layer holding this version (for D: the lower layer it came from)
    linkname: str = ""

    def __str__(self) -> str:
        return f"{self.mark} {self.path}"


@dataclass(frozen=True)
class LayerReport:
    index: int
    changes: tuple[Change, ...]  # sorted by path
    content_bytes: int  # file bytes this layer's tar holds
    removed_bytes: int  # lower file bytes it overwrites or deletes: the waste it makes
    wasted_files: tuple[tuple[str, int], ...]  # (path, bytes) of the file versions it removes
    total_up_to: int  # content bytes of layers 0..index
    wasted_up_to: int  # wasted bytes of the image as it is after this layer

    @property
    def efficiency_up_to(self) -> float:
        return efficiency(self.wasted_up_to, self.total_up_to)


@dataclass(frozen=True)
class ImageReport:
    listings: tuple[Listing, ...]
    layers: tuple[LayerReport, ...]
    _merged: dict[int, dict[str, FileInfo]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def total_bytes(self) -> int:
        return self.layers[-1].total_up_to if self.layers else 0

    @property
    def wasted_bytes(self) -> int:
        return self.layers[-1].wasted_up_to if self.layers else 0

    @property
    def efficiency(self) -> float:
        return efficiency(self.wasted_bytes, self.total_bytes)

    def wasted_files(self) -> list[tuple[str, int, int]]:
        """(path, versions removed, bytes) per path, biggest waste first (dive's details pane)."""
        found: dict[str, list[int]] = {}
        for layer in self.layers:
            for path, size in layer.wasted_files:
                found.setdefault(path, []).append(size)
        return sorted(((p, len(s), sum(s)) for p, s in found.items()), key=lambda r: (-r[2], r[0]))

    def merged_after(self, index: int) -> dict[str, FileInfo]:
        """The filesystem layers 0..index make: path -> FileInfo (replayed, then kept)."""
        if not 0 <= index < len(self.listings):
            raise IndexError(f"no layer {index} (the image has {len(self.listings)})")
        if index not in self._merged:
            tree = Tree()
            for position, layer in enumerate(self.listings[:index + 1]):
                apply_listing(tree, layer, position)
            if len(self._merged) >= 4:
                self._merged.pop(next(iter(self._merged)))
            self._merged[index] = dict(tree.entries)
        return self._merged[index]


def efficiency(wasted: int, total: int) -> float:
    """
    >>> efficiency(0, 0), efficiency(250, 1000)
    (1.0, 0.75)
    """
    return 1.0 - wasted / total if total else 1.0


def file(path: str, size: int = 0) -> Entry:
    """A regular-file entry (for hand-made listings: tests, doctests)."""
    return Entry(path, FILE, size)


def listing(*entries: Entry, deleted: Iterable[str] = (), opaque: Iterable[str] = ()) -> Listing:
    """A hand-made listing; parent directories are implied, as in a tar that omits them."""
    return Listing(tuple(entries), tuple(deleted), tuple(opaque))


class Tree:
    """A merged filesystem under construction: entries plus a children index for subtree removal."""

    def __init__(self) -> None:
        self.entries: dict[str, FileInfo] = {}
        self.children: dict[str, set[str]] = {}

    def put(self, path: str, info: FileInfo) -> None:
        self.entries[path] = info
        child = path
        while child != "/":  # parents may be implied (no entry of their own), so index them all
            parent = posixpath.dirname(child)
            siblings = self.children.setdefault(parent, set())
            if child in siblings:
                break
            siblings.add(child)
            child = parent

    def remove(self, path: str, *, keep_root: bool = False) -> dict[str, FileInfo]:
        """Remove ``path`` (unless ``keep_root``) and everything beneath it; returns what was there."""
        removed: dict[str, FileInfo] = {}
        stack = list(self.children.pop(path, ()))
        while stack:
            child = stack.pop()
            stack.extend(self.children.pop(child, ()))
            if child in self.entries:
                removed[child] = self.entries.pop(child)
        if not keep_root:
            if path in self.entries:
                removed[path] = self.entries.pop(path)
            self.children.get(posixpath.dirname(path), set()).discard(path)
        return removed


def apply_listing(tree: Tree, layer: Listing, index: int) -> tuple[list[Change], dict[str, FileInfo]]:
    """Stack one layer onto ``tree``; returns its changes (sorted by path) and the entries it
    removed (overwritten or deleted), whose file bytes are the waste it makes."""
    removed: dict[str, FileInfo] = {}
    for directory in layer.opaque:  # whiteouts and opaque markers hide lower layers only: first
        removed.update(tree.remove(directory, keep_root=True))
    for path in layer.deleted:
        removed.update(tree.remove(path))
    changes: dict[str, Change] = {}
    for entry in layer.entries:
        before = tree.entries.get(entry.path)
        lower = before if before is not None and before.layer != index else removed.get(entry.path)
        if before is not None and not (before.kind == DIR and entry.kind == DIR):
            removed.update(tree.remove(entry.path))  # a file replaced, or a directory turned file
        tree.put(entry.path, FileInfo(entry.size, index, entry.kind, entry.linkname))
        changes[entry.path] = Change("C" if lower is not None else "A", entry.path, entry.size,
                                     entry.kind, index, entry.linkname)
    for path, info in removed.items():
        if path not in changes and info.layer != index:
            changes[path] = Change("D", path, info.size, info.kind, info.layer, info.linkname)
    return sorted(changes.values(), key=lambda c: c.path), removed


def analyse(listings: Sequence[Listing]) -> ImageReport:
    """Every layer's changes and the running totals, bottom layer first."""
    tree, reports, total, wasted = Tree(), [], 0, 0
    for index, layer in enumerate(listings):
        changes, removed = apply_listing(tree, layer, index)
        files = tuple(sorted((p, i.size) for p, i in removed.items() if i.kind == FILE and i.size))
        content = sum(e.size for e in layer.entries if e.kind == FILE)
        waste = sum(size for _, size in files)
        total, wasted = total + content, wasted + waste
        reports.append(LayerReport(index, tuple(changes), content, waste, files, total, wasted))
    report = ImageReport(tuple(listings), tuple(reports))
    if listings:
        report._merged[len(listings) - 1] = dict(tree.entries)
    return report


class ListingCache:
    """Listings by layer digest: a digest names the bytes, so a listing never goes stale."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._listings: OrderedDict[Digest, Listing] = OrderedDict()

    def get(self, content: ContentStore, digest: Digest) -> Listing:
        if digest in self._listings:
            self._listings.move_to_end(digest)
            return self._listings[digest]
        with content.open(digest) as blob:
            found = read_listing(blob)
        self._listings[digest] = found
        if len(self._listings) > self.capacity:
            self._listings.popitem(last=False)
        return found


LISTINGS = ListingCache()


def image_report(content: ContentStore, image: Image, cache: ListingCache = LISTINGS) -> ImageReport:
    return analyse([cache.get(content, layer.digest) for layer in image.layers])


def layer_commands(image: Image) -> list[str]:
    """The history command that made each layer, bottom first ('' where the history is silent)."""
    steps = [step.created_by or "" for step, diff_id in image.config.layer_history() if diff_id]
    return (steps + [""] * len(image.layers))[:len(image.layers)]

