"""Unpacking the big image's layers: into a plain directory, into snapshots, and by umoci.

Rounds of [``unpack_layers`` into an empty dir, ``umoci unpack --rootless``, the snapshotter's
unpack into an empty snapshot store]; both of ours are compared with the umoci sample of their
round. umoci reads a copy of our store made by ``skopeo copy`` (it needs a bare tag to find the
image); the blobs are byte for byte ours. Ours run in this (warm) process; umoci, a Go binary,
starts in a few milliseconds, so its process start-up barely counts.
"""

from __future__ import annotations

from minidock_magic.home import Layout
from minidock_magic.images.unpack import unpack_layers
from minidock_magic.snapshots.unpack import snapshotter_for
from minidock_magic.snapshots.unpack import unpack as unpack_snapshots

from .context import Context, log
from .harness import Row, Target, alternate, timed
from .images import BIG
from .peers import skopeo
from .tools import need, remove_tree, run_timed
from .tools import run as check_output

NAME = "unpack"
TARGET = Target("≤ 1× umoci", ratio=1.0)


def run(ctx: Context) -> list[Row]:
    engine = ctx.big
    image = engine.image(BIG)
    layout = ctx.dir("umoci-layout") / "oci"
    check_output(*skopeo("copy", "-q", f"oci:{engine.layout.oci}:{image.names[0]}", f"oci:{layout}:big"))
    scratch = ctx.dir("unpack-scratch")
    count = iter(range(1 << 30))

    def plain() -> float:
        dest = scratch / f"dir-{next(count)}"
        dest.mkdir()
        try:
            return timed(lambda: unpack_layers(engine.content, image, dest))
        finally:
            remove_tree(dest)

    def snapshots() -> float:
        home = scratch / f"home-{next(count)}"
        snapshotter = snapshotter_for(Layout(home))
        try:
            return timed(lambda: unpack_snapshots(snapshotter, engine.content, image))
        finally:
            remove_tree(home)

    def umoci() -> float:
        bundle = scratch / f"bundle-{next(count)}"
        try:
            return run_timed(need("umoci"), "unpack", "--rootless", "--image", f"{layout}:big", bundle)
        finally:
            remove_tree(bundle)

    kind = type(snapshotter_for(Layout(scratch / "probe"))).__name__
    log(f"unpack: {ctx.runs} rounds of [unpack_layers, umoci unpack, snapshot unpack ({kind})], "
        f"{len(image.layers)} layers")
    ours_dir, theirs, ours_snap = alternate([plain, umoci, snapshots], ctx.runs, log)
    return [
        Row("unpack into a directory", "`images.unpack.unpack_layers`",
            "`umoci unpack --rootless`", tuple(ours_dir), tuple(theirs), target=TARGET),
        Row(f"unpack into snapshots ({kind})", "`snapshots.unpack.unpack`",
            "`umoci unpack --rootless`", tuple(ours_snap), tuple(theirs), target=TARGET),
    ]
