"""Apply an image's layers in order into a directory, checking each layer's diff_id."""

from __future__ import annotations

from pathlib import Path

from ..content.store import ContentStore
from ..diff.apply import apply_layer
from ..errors import DigestMismatch
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from .image import Image


def apply_blob(content: ContentStore, layer: Descriptor, diff_id: Digest, dest: Path, *,
               keep_privileges: bool = True) -> None:
    """One layer: its blob's uncompressed bytes must hash to the diff_id the config promises."""
    with content.open(layer.digest) as stream:
        report = apply_layer(stream, dest, keep_privileges=keep_privileges)
    if report.diff_id != diff_id:
        raise DigestMismatch(f"layer {layer.digest} unpacks to {report.diff_id}, but the image "
                             f"config says {diff_id}")


def unpack_layers(content: ContentStore, image: Image, dest: Path, *,
                  keep_privileges: bool = True) -> None:
    """``keep_privileges=False``: ``dest`` is a host directory (see ``apply_layer``)."""
    diff_ids = image.config.diff_ids
    if len(diff_ids) != len(image.layers):
        raise DigestMismatch(f"image {image.id.short} has {len(image.layers)} layers but "
                             f"{len(diff_ids)} diff_ids")
    for layer, diff_id in zip(image.layers, diff_ids):
        apply_blob(content, layer, diff_id, dest, keep_privileges=keep_privileges)
