"""Storage: ten images on one base (busybox), each adding one layer with one random file.

Bytes on disk are ``du`` of the whole home (blocks allocated, each inode once); unique bytes are
the sizes of the distinct blobs the eleven images reference — what a perfect store would hold.
The overhead is what the home costs beyond that: index, locks, directories, the last partial
block of every blob. For reference, the same eleven images copied by skopeo into a plain OCI
layout (what the spec's own layout costs on this filesystem).

The last partial block of every blob is the filesystem's, not the engine's: any store that keeps
one file per blob (the OCI layout's rule) pays it. So a third row compares the home with that
floor — each distinct blob's size rounded up to the filesystem's block size — and what is left
is what the engine itself adds: directories, ``index.json``, ``oci-layout``, locks, temp space.
"""

from __future__ import annotations

import os

from minidock_magic.facade import Minidock

from .context import Context, log
from .harness import Row, Target
from .images import build_family
from .peers import skopeo
from .tools import disk_usage
from .tools import run as check_output

NAME = "storage"
TARGET = Target("overhead ≤ 1 %", ratio=1.01)


def run(ctx: Context) -> list[Row]:
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "storage-home"))
    names = build_family(engine, ctx.dir("storage-scratch"), ctx.sizes)
    images = [engine.image(name) for name in ["busybox", *names]]
    unique = {blob.digest: blob.size for image in images for blob in image.blobs()}
    unique_bytes = sum(unique.values())
    stored = sum(blob.size for blob in engine.content.walk())
    allocated, apparent = disk_usage(engine.home)

    layout = ctx.dir("storage-skopeo") / "oci"
    for image, name in zip(images, ["busybox", *names]):
        check_output(*skopeo("copy", "-q", f"oci:{engine.layout.oci}:{image.names[0]}",
                             f"oci:{layout}:{name.replace('/', '-').replace(':', '-')}"))
    their_allocated, their_apparent = disk_usage(layout)
    block = os.statvfs(engine.home).f_frsize
    floor = sum(-(-size // block) * block for size in unique.values())
    blob_allocated = sum(engine.content.path(digest).stat().st_blocks * 512 for digest in unique)
    log(f"storage: {len(images)} images, {len(unique)} distinct blobs, {unique_bytes} B unique, "
        f"{stored} B in the store, du {allocated} B (apparent {apparent} B); "
        f"skopeo layout du {their_allocated} B; block floor {floor} B ({block} B blocks), "
        f"blob files allocate {blob_allocated} B")
    extra = {"blobs": float(len(unique)), "unique_bytes": float(unique_bytes),
             "stored_blob_bytes": float(stored), "du_bytes": float(allocated),
             "apparent_bytes": float(apparent), "skopeo_du_bytes": float(their_allocated),
             "skopeo_apparent_bytes": float(their_apparent), "block_size": float(block),
             "block_floor_bytes": float(floor), "blob_allocated_bytes": float(blob_allocated),
             "engine_overhead_bytes": float(allocated - floor)}
    shared = "busybox layer stored once" if stored == unique_bytes else \
        f"store holds {stored - unique_bytes:+d} B beyond the images' blobs"
    return [
        Row("storage, 10 images on one base", "du of the home", "unique blob bytes",
            (float(allocated),), (float(unique_bytes),), unit="B", target=TARGET,
            note=f"{len(unique)} blobs; apparent size {apparent} B; {shared}", extra=extra),
        Row("storage vs a plain OCI layout", "du of the home", "du of skopeo's `oci:` copy",
            (float(allocated),), (float(their_allocated),), unit="B", extra=extra),
        Row("storage, the engine's own overhead", "du of the home",
            f"blob sizes rounded up to {block} B blocks", (float(allocated),), (float(floor),),
            unit="B", extra=extra,
            note=f"{allocated - floor:+d} B beyond the one-file-per-blob floor: blob files "
                 f"{blob_allocated - floor:+d} B, the rest {allocated - blob_allocated} B "
                 f"(directories, index.json, oci-layout, locks"
                 f"{'' if stored == unique_bytes else ', blobs no image uses'})"),
    ]
