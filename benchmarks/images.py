"""Test images made without a network: busybox (bootstrapped) plus layers written by our writer.

The big image is busybox plus three layers: two of random (incompressible) bytes and one of
text-like, compressible files — about 130 MB unpacked at full size. Contents come from a seeded
generator, so every run builds the very same digests.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from minidock_magic.facade import Minidock
from minidock_magic.images.writer import layer_descriptor, store_image, store_tree_layer
from minidock_magic.oci.config import History, rfc3339
from minidock_magic.oci.descriptor import Descriptor
from minidock_magic.oci.reference import Reference

BIG = "bench/big:1"
WORDS = ("layer", "digest", "container", "image", "registry", "snapshot", "manifest", "blob",
         "namespace", "overlay", "whiteout", "config", "history", "rootfs", "tar", "gzip")


@dataclass(frozen=True)
class LayerShape:
    """``files`` files of ``file_size`` bytes each, random or text-like."""

    files: int
    file_size: int
    compressible: bool

    @property
    def size(self) -> int:
        return self.files * self.file_size


@dataclass(frozen=True)
class Sizes:
    big_layers: tuple[LayerShape, ...]
    child_layer_size: int    # each of the ten images on one base adds one file this big
    children: int = 10

    @property
    def big_total(self) -> int:
        return sum(layer.size for layer in self.big_layers)


FULL = Sizes(big_layers=(LayerShape(50, 1 << 20, False), LayerShape(25, 2 << 20, False),
                         LayerShape(1500, 20 << 10, True)),
             child_layer_size=1 << 20)
QUICK = Sizes(big_layers=(LayerShape(2, 64 << 10, False), LayerShape(2, 64 << 10, False),
                          LayerShape(16, 4 << 10, True)),
              child_layer_size=16 << 10)


def _text(rng: random.Random, size: int) -> bytes:
    """Readable, repetitive, compressible — like source files or a package's metadata."""
    parts: list[bytes] = []
    total = 0
    while total < size:
        line = (" ".join(rng.choice(WORDS) for _ in range(10)) + "\n").encode()
        parts.append(line)
        total += len(line)
    return b"".join(parts)[:size]


def write_tree(root: Path, shape: LayerShape, seed: int, prefix: str) -> None:
    rng = random.Random(seed)
    directory = root / prefix
    directory.mkdir(parents=True)
    for index in range(shape.files):
        sub = directory / f"d{index // 100:02d}"
        sub.mkdir(exist_ok=True)
        data = _text(rng, shape.file_size) if shape.compressible else rng.randbytes(shape.file_size)
        (sub / f"f{index:04d}.{'txt' if shape.compressible else 'bin'}").write_bytes(data)


def child_image(engine: Minidock, base: str, trees: list[Path], name: str) -> Descriptor:
    """``base`` plus one layer per tree, tagged ``name`` — what a build would make, minus RUN."""
    image = engine.image(base)
    config, layers = image.config, list(image.layers)
    for tree in trees:
        layer = store_tree_layer(engine.content, tree, compression=engine.compression, epoch=0)
        config = config.derive(diff_id=layer.diff_id, created=rfc3339(0),
                               history=History(created_by=f"COPY {tree.name} /"))
        layers.append(layer_descriptor(layer))
    target = store_image(engine.content, config, layers)
    engine.names.set(Reference.parse(name), target)
    return target


def build_big(home: Path, scratch: Path, sizes: Sizes) -> Minidock:
    """A home holding busybox and ``bench/big:1`` (busybox + the three big layers)."""
    engine = Minidock(home)
    engine.bootstrap()
    trees = []
    for index, shape in enumerate(sizes.big_layers):
        tree = scratch / f"layer{index}"
        write_tree(tree, shape, seed=index, prefix=f"data{index}")
        trees.append(tree)
    child_image(engine, "busybox", trees, BIG)
    for tree in trees:
        shutil.rmtree(tree)
    return engine


def build_family(engine: Minidock, scratch: Path, sizes: Sizes) -> list[str]:
    """Ten images on busybox, each adding one small random file (an app on a shared base)."""
    names = []
    for index in range(sizes.children):
        tree = scratch / f"app{index}"
        write_tree(tree, LayerShape(1, sizes.child_layer_size, False), seed=100 + index,
                   prefix=f"app{index}")
        name = f"bench/app{index}:1"
        child_image(engine, "busybox", [tree], name)
        shutil.rmtree(tree)
        names.append(name)
    return names
