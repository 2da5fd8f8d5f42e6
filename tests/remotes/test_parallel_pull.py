"""Layers are downloaded (and uploaded) a few at a time; what a pull or a push reports and keeps
stays as if one by one."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from minidock_magic.build.builder import build
from minidock_magic.errors import DigestMismatch
from minidock_magic.facade import Minidock
from minidock_magic.images.image import Image
from minidock_magic.remotes.pull import PARALLEL_LAYERS, PullReport, pull
from minidock_magic.remotes.push import PushReport, push

pytestmark = pytest.mark.integration


def layered(engine: Minidock, tmp_path: Path, sizes: list[int]) -> Image:
    """busybox plus one layer per size (random bytes); the biggest first, so it finishes last."""
    context = tmp_path / "context"
    context.mkdir()
    steps = ["FROM busybox"]
    for index, size in enumerate(sizes):
        (context / f"f{index}.bin").write_bytes(os.urandom(size))
        steps.append(f"COPY f{index}.bin /f{index}.bin")
    return build(engine, context, "\n".join(steps) + "\n", tags=["layers:1"], out=io.StringIO())


def test_status_lines_and_report_follow_the_manifest(busybox_engine, second_engine, registry,
                                                     tmp_path):
    image = layered(busybox_engine, tmp_path, [3_000_000, 10, 200_000, 20, 1_000, 5])
    assert len(image.layers) > PARALLEL_LAYERS
    name = f"{registry.address}/me/layers:1"
    busybox_engine.tag("layers:1", name)
    push(busybox_engine, name)
    busybox = busybox_engine.image("busybox")
    second_engine.load(io.BytesIO(_saved(busybox_engine, "busybox")))  # busybox's layer present

    status: list[str] = []
    report = PullReport()
    pulled = pull(second_engine, name, out=status.append, report=report)
    assert pulled.digest == image.digest
    shorts = [d.digest.short for d in image.layers]
    per_layer = [line for line in status if line.split(":")[0] in shorts]
    assert per_layer == [f"{shorts[0]}: Already exists"] + [f"{s}: Pull complete" for s in shorts[1:]]
    assert report.present == [busybox.layers[0]]
    assert report.downloaded == list(image.layers[1:])
    assert all(second_engine.content.verify(b.digest) for b in pulled.blobs())


def test_push_status_lines_and_report_follow_the_manifest(busybox_engine, registry, tmp_path):
    image = layered(busybox_engine, tmp_path, [3_000_000, 10, 200_000, 20, 1_000, 5])
    assert len(image.layers) > PARALLEL_LAYERS
    busybox_engine.tag("busybox", f"{registry.address}/me/layers:base")
    push(busybox_engine, f"{registry.address}/me/layers:base")  # busybox's layer is there now
    name = f"{registry.address}/me/layers:1"
    busybox_engine.tag("layers:1", name)
    status: list[str] = []
    report = PushReport()
    assert push(busybox_engine, name, out=status.append, report=report) == image.digest
    shorts = [d.digest.short for d in image.layers]
    per_layer = [line for line in status if line.split(":")[0] in shorts]
    assert per_layer == [f"{shorts[0]}: Layer already exists"] + [f"{s}: Pushed" for s in shorts[1:]]
    assert report.present == [image.layers[0]]
    assert report.sent == list(image.layers[1:])


def test_a_corrupt_layer_fails_the_pull_and_keeps_nothing_of_it(busybox_engine, second_engine,
                                                                registry, tmp_path):
    image = layered(busybox_engine, tmp_path, [500_000, 400_000, 300_000, 200_000])
    name = f"{registry.address}/me/corrupt:1"
    busybox_engine.tag("layers:1", name)
    push(busybox_engine, name)
    bad = image.layers[2]
    data = registry.blob_path(bad.digest)
    data.write_bytes(b"x" * bad.size)  # right length, wrong bytes

    with pytest.raises(DigestMismatch):
        pull(second_engine, name)
    assert not second_engine.content.exists(bad.digest)
    assert not second_engine.names.entries()
    tmp = second_engine.layout.home / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def _saved(engine: Minidock, name: str) -> bytes:
    out = io.BytesIO()
    engine.save([name], out)
    return out.getvalue()
