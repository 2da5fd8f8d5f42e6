"""Unpack timings, ours against ``umoci unpack --rootless`` on the very same OCI layout.

    python -m tests.snapshots.bench_unpack [--runs 3] [--dir /var/tmp]

Two images: the built-in busybox, and a ~100 MB three-layer image (two layers of random bytes,
one of compressible text). Each run unpacks into a fresh snapshot root; the blobs are the same
files for every tool, warm in the page cache. Prints the median of the runs per tool.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from minidock_magic.facade import Minidock
from minidock_magic.images.image import Image
from minidock_magic.images.writer import layer_descriptor, store_image, store_tree_layer
from minidock_magic.oci.config import History, ImageConfig
from minidock_magic.snapshots.copy import CopySnapshotter
from minidock_magic.snapshots.local import LocalSnapshotter, remove_tree
from minidock_magic.snapshots.overlay import OverlaySnapshotter
from minidock_magic.snapshots.unpack import unpack

MB = 1 << 20


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def big_image(engine: Minidock, scratch: Path) -> Image:
    words = b" ".join(b"layer%d" % (i % 977) for i in range(4_000_000))  # ~30 MB, compresses well
    trees = [
        {f"opt/random1/{i:02}.bin": os.urandom(MB) for i in range(35)},
        {f"opt/random2/{i:02}.bin": os.urandom(MB) for i in range(35)},
        {"usr/share/doc/words.txt": words, **{f"usr/share/doc/{i}.txt": words[:20_000]
                                              for i in range(200)}},
    ]
    layers = [store_tree_layer(engine.content, _tree(scratch / str(i), t), compression="gzip",
                               epoch=0) for i, t in enumerate(trees)]
    config = ImageConfig.create(diff_ids=[layer.diff_id for layer in layers],
                                history=[History(created_by=f"layer {i}") for i in range(3)],
                                run={}, created="2024-01-01T00:00:00Z")
    target = store_image(engine.content, config, [layer_descriptor(layer) for layer in layers])
    from minidock_magic.images.image import load_image
    return load_image(engine.content, target)


def umoci_layout(engine: Minidock, image: Image, where: Path) -> str:
    """A layout sharing our blobs, with a plain tag (umoci wants ``--image path:tag``)."""
    where.mkdir()
    (where / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (where / "blobs").symlink_to(engine.layout.oci / "blobs")
    descriptor = image.target.to_json()
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
    (where / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return f"{where}:bench"


def timed(setup: Callable[[Path], Callable[[], object]], top: Path, runs: int) -> float:
    times = []
    for run in range(runs):
        scratch = top / f"run-{run}"
        action = setup(scratch)
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
        remove_tree(scratch)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix="mdbench-", dir=args.dir))
    try:
        engine = Minidock(top / "home")
        images = {"busybox": engine.bootstrap(), "3 layers ~100 MB": big_image(engine, top / "src")}
        for label, image in images.items():
            size = sum(layer.size for layer in image.layers)
            print(f"{label}: {len(image.layers)} layer(s), {size / MB:.1f} MB of blobs")
            reference = umoci_layout(engine, image, top / f"layout-{label.split()[0]}")

            def ours(kind: Callable[[Path], LocalSnapshotter]) -> Callable[[Path], Callable[[], object]]:
                return lambda scratch: lambda: unpack(kind(scratch), engine.content, image)

            tools: dict[str, Callable[[Path], Callable[[], object]]] = {
                "copy": ours(lambda p: CopySnapshotter(p)),
                "copy (no syncfs)": ours(lambda p: CopySnapshotter(p, durable=False)),
                "overlay": ours(lambda p: OverlaySnapshotter(p, rootless=os.geteuid() != 0)),
                "overlay (no syncfs)": ours(lambda p: OverlaySnapshotter(
                    p, rootless=os.geteuid() != 0, durable=False)),
            }
            if shutil.which("umoci"):
                tools["umoci unpack --rootless"] = lambda scratch: lambda: subprocess.run(
                    ["umoci", "unpack", "--rootless", "--image", reference, str(scratch)],
                    check=True, capture_output=True)
            for name, setup in tools.items():
                print(f"  {name:26} {timed(setup, top, args.runs):7.3f} s  (median of {args.runs})")
    finally:
        remove_tree(top)


if __name__ == "__main__":
    main()
