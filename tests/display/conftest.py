"""Images built layer by layer without running anything, for the explorer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock_magic.diff.changes import Change, ChangeKind
from minidock_magic.diff.writer import LayerInfo, write_layer, write_tree_layer
from minidock_magic.facade import Minidock
from minidock_magic.images.writer import layer_descriptor, store_image
from minidock_magic.oci import History, Reference, rfc3339
from minidock_magic.oci.config import ImageConfig

BIG = 10_000  # "a 10 kB file", in docker's 1000-based units
TOOL = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4


def store(engine: Minidock, write) -> LayerInfo:  # type: ignore[no-untyped-def]
    with engine.content.writer() as blob:
        info = write(blob)
        blob.commit()
    return info


@pytest.fixture
def wasteful(engine: Minidock, tmp_path: Path) -> Minidock:
    """``wasteful:1``: a base layer; layer 1 adds /big (10 kB); layer 2 deletes it again."""
    base = tmp_path / "base"
    (base / "etc").mkdir(parents=True)
    (base / "etc/motd").write_text("welcome to the layers lesson\n")
    (base / "bin").mkdir()
    (base / "bin/tool").write_bytes(TOOL)
    (base / "bin/t").symlink_to("tool")
    adds = tmp_path / "adds"
    adds.mkdir()
    (adds / "big").write_bytes(b"x" * BIG)
    empty = tmp_path / "empty"
    empty.mkdir()

    layers = [
        (store(engine, lambda out: write_tree_layer(base, out, source_date_epoch=0)), "ADD rootfs.tar /"),
        (store(engine, lambda out: write_layer([Change(ChangeKind.ADDED, "/big")], adds, out,
                                               source_date_epoch=0)), "RUN make-big > /big"),
        (store(engine, lambda out: write_layer([Change(ChangeKind.DELETED, "/big")], empty, out,
                                               source_date_epoch=0)), "RUN rm /big"),
    ]
    (first, made_by), *rest = layers
    config = ImageConfig.create(diff_ids=[first.diff_id], history=[History(created_by=made_by)],
                                run={}, created=rfc3339(0))
    for layer, made_by in rest:
        config = config.derive(diff_id=layer.diff_id, history=History(created_by=made_by),
                               created=rfc3339(0))
    target = store_image(engine.content, config, [layer_descriptor(info) for info, _ in layers])
    engine.names.set(Reference.parse("wasteful:1"), target)
    return engine
