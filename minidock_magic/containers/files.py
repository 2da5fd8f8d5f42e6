"""``export`` and ``cp``: a container's files, always resolved inside its own rootfs.

A container's filesystem is its image's layers plus its writable layer. To read it without
trusting any symlink in it, we *materialise* it: unpack the image into a scratch directory and
apply the writable layer's changes as one more layer — the same safe extractor every layer goes
through. Writes into a container go through chroot-style resolution (``diff.safepath``): into
``/proc/PID/root`` of a running container, or into its writable layer when it is stopped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..diff.apply import apply_layer
from ..diff.safepath import resolve_parts
from ..diff.writer import write_layer, write_tree_layer
from ..errors import InvalidArgument, NotFound
from ..images.image import load_image
from ..images.unpack import unpack_layers
from ..oci.descriptor import Descriptor
from .record import ContainerConfig


def materialize(containers: object, config: ContainerConfig, dest: Path) -> Path:
    """The container's whole filesystem as a plain directory at ``dest``."""
    service = containers  # a Containers; typed loosely to avoid an import cycle
    image = load_image(service.content, Descriptor.from_json(config.image_target))  # type: ignore[attr-defined]
    dest.mkdir(parents=True)
    unpack_layers(service.content, image, dest)  # type: ignore[attr-defined]
    changes, source = service.writable_changes(config)  # type: ignore[attr-defined]
    with tempfile.TemporaryFile(dir=dest.parent) as layer:
        write_layer(changes, source, layer, compression="none")
        layer.seek(0)
        apply_layer(layer, dest)
    return dest


def export(containers: object, config: ContainerConfig, out: BinaryIO, scratch: Path) -> None:
    """``docker export``: the flattened filesystem as one uncompressed tar."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="export-") as tmp:
        root = materialize(containers, config, Path(tmp) / "rootfs")
        write_tree_layer(root, out, compression="none")


def copy_out(containers: object, config: ContainerConfig, source: str, dest: Path,
             scratch: Path) -> Path:
    """``docker cp CONTAINER:SRC DEST``: a symlink is copied as a symlink, as docker does."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="cp-") as tmp:
        root = materialize(containers, config, Path(tmp) / "rootfs")
        found = root.joinpath(*resolve_parts(root, source, follow_final=False))
        if not os.path.lexists(found):
            raise NotFound(f"Could not find the file {source} in container {config.name}")
        target = dest / found.name if dest.is_dir() else dest
        if found.is_dir() and not found.is_symlink():
            shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(found, target, follow_symlinks=False)
        return target


def copy_in(root: Path, source: Path, dest: str, *, merged: Path | None = None) -> Path:
    """``docker cp SRC CONTAINER:DEST`` into ``root`` (a live rootfs, or a writable layer; then
    ``merged`` is the materialised view used to resolve the path, as the container would)."""
    if not source.exists():
        raise NotFound(f"no such file on the host: {source}")
    view = merged or root
    parts = resolve_parts(view, dest, follow_final=True)
    if view.joinpath(*parts).is_dir():
        parts = (*parts, source.name)
    target = root.joinpath(*parts)
    for depth in range(1, len(parts)):  # parents the writable layer lacks: same metadata as below
        parent = root.joinpath(*parts[:depth])
        if not parent.exists():
            below = view.joinpath(*parts[:depth])
            if merged is None and not below.is_dir():
                raise InvalidArgument(f"{'/'.join(parts[:depth])} is not a directory in the container")
            parent.mkdir()
            if below.is_dir():
                shutil.copystat(below, parent)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        if os.path.lexists(target) and not target.is_dir():
            os.unlink(target)
        shutil.copy2(source, target, follow_symlinks=False)
    return target
