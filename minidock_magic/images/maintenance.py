"""The store as a whole: what is reachable, what is corrupt, what can go (check, prune, df)."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..content.store import ContentStore
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from . import reachability
from .image import Image
from .reports import Pruned, StoreCheck, StoreUsage
from .store import ImageStore

#: Temp files younger than this may belong to a live ingest in another process.
STALE_TMP_SECONDS = 60


def collect(content: ContentStore, roots: Iterable[Descriptor]) -> list[Digest]:
    """Delete every blob the ``roots`` do not reach; return what went."""
    reachable = reachability.walk(content, roots)
    freed = []
    for blob in list(content.walk()):
        if blob.digest not in reachable.present:
            content.delete(blob.digest)
            freed.append(blob.digest)
    return freed


def check(content: ContentStore, roots: Iterable[Descriptor]) -> StoreCheck:
    """Re-hash every blob; name the corrupt, the missing, the unreadable and the dangling."""
    reachable = reachability.walk(content, roots)
    blobs = list(content.walk())
    return StoreCheck(
        blobs=len(blobs),
        corrupt=[b.digest for b in blobs if not content.verify(b.digest)],
        missing=reachable.missing,
        dangling=[b.digest for b in blobs if b.digest not in reachable.present],
        unreadable=reachable.unreadable)


def prune(content: ContentStore, names: ImageStore, *, in_use: set[Digest],
          extra_roots: list[Descriptor], tmp_dir: Path, all_images: bool) -> Pruned:
    """Untagged images (every unused one with ``all_images``), then unreferenced blobs, then
    temp files a crash left behind."""
    untagged = []
    for entry in names.entries():
        if entry.target.digest in in_use or not (entry.reference is None or all_images):
            continue
        names.remove(entry.reference, entry.target.digest)
        untagged.append(entry.reference.familiar if entry.reference else str(entry.target.digest))
    sizes = {b.digest: b.size for b in content.walk()}
    deleted = collect(content, [e.target for e in names.entries()] + extra_roots)
    freed = sum(sizes[d] for d in deleted)
    if tmp_dir.is_dir():
        cutoff = time.time() - STALE_TMP_SECONDS
        for stale in tmp_dir.iterdir():
            if stale.lstat().st_mtime < cutoff:
                freed += _remove(stale)
    return Pruned(deleted, untagged, freed)


def disk_usage(content: ContentStore, images: list[Image]) -> StoreUsage:
    users: Counter[Digest] = Counter()
    for image in images:
        for digest in {b.digest for b in image.blobs()}:
            users[digest] += 1
    sizes = {b.digest: b.size for b in content.walk()}
    return StoreUsage(
        images=len(images), blobs=len(sizes), total=sum(sizes.values()),
        shared=sum(s for d, s in sizes.items() if users[d] > 1),
        unique=sum(s for d, s in sizes.items() if users[d] == 1),
        unused=sum(s for d, s in sizes.items() if users[d] == 0))


def _remove(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
            return size
        size = path.lstat().st_size
        os.unlink(path)
        return size
    except FileNotFoundError:
        return 0
