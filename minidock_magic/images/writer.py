"""Turn a directory tree or layers into an image in the content store (import, bootstrap, commit)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..content.store import ContentStore
from ..diff.writer import LayerInfo, write_tree_layer
from ..oci import mediatypes as mt
from ..oci.config import ImageConfig
from ..oci.descriptor import Descriptor
from ..oci.manifest import Manifest

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def source_date_epoch(default: int | None = None) -> int:
    """``SOURCE_DATE_EPOCH`` if set (reproducible builds), else ``default``, else now."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value and value.isdigit():
        return int(value)
    return int(time.time()) if default is None else default


def store_tree_layer(content: ContentStore, root: Path, *, compression: str,
                     epoch: int, owner: tuple[int, int] | None = None) -> LayerInfo:
    """Write every file under ``root`` as one layer blob, streamed straight into the store."""
    with content.writer() as blob:
        info = write_tree_layer(root, blob, compression=compression, source_date_epoch=epoch, owner=owner)
        blob.commit()
    return info


def layer_descriptor(info: LayerInfo) -> Descriptor:
    return Descriptor(info.media_type, info.digest, info.size)


def store_image(content: ContentStore, config: ImageConfig, layers: list[Descriptor]) -> Descriptor:
    """Config blob + manifest blob; returns the manifest's descriptor (what a name points at)."""
    config_info = content.put_bytes(config.raw)
    manifest = Manifest.build(Descriptor(mt.OCI_CONFIG, config_info.digest, config_info.size), layers)
    content.put_bytes(manifest.raw)
    return manifest.descriptor()
