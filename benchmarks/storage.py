"""Storage: ten images on one base (busybox), each adding one layer with one random file.

Bytes on disk are ``du`` of the whole home (blocks allocated, each inode once); unique bytes are
the sizes of the distinct blobs the eleven images reference — what a perfect store would hold.
The overhead is what the home costs beyond that: index, locks, directories, the last partial
block of every blob. For reference, the same eleven images copied by skopeo into a plain OCI
layout (what the spec's own layout costs on this filesystem).
"""

from __future__ import annotations

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
    log(f"storage: {len(images)} images, {len(unique)} distinct blobs, {unique_bytes} B unique, "
        f"{stored} B in the store, du {allocated} B (apparent {apparent} B); "
        f"skopeo layout du {their_allocated} B")
    extra = {"blobs": float(len(unique)), "unique_bytes": float(unique_bytes),
             "stored_blob_bytes": float(stored), "du_bytes": float(allocated),
             "apparent_bytes": float(apparent), "skopeo_du_bytes": float(their_allocated),
             "skopeo_apparent_bytes": float(their_apparent)}
    shared = "busybox layer stored once" if stored == unique_bytes else \
        f"store holds {stored - unique_bytes:+d} B beyond the images' blobs"
    return [
        Row("storage, 10 images on one base", "du of the home", "unique blob bytes",
            (float(allocated),), (float(unique_bytes),), unit="B", target=TARGET,
            note=f"{len(unique)} blobs; apparent size {apparent} B; {shared}", extra=extra),
        Row("storage vs a plain OCI layout", "du of the home", "du of skopeo's `oci:` copy",
            (float(allocated),), (float(their_allocated),), unit="B", extra=extra),
    ]
