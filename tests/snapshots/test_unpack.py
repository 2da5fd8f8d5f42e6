"""Unpacking images into snapshots (data flow 2): merged views, layer sharing, idempotence, races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minidock_magic.content.store import ContentStore
from minidock_magic.errors import AlreadyExists, DigestMismatch, InvalidArgument
from minidock_magic.facade import Minidock
from minidock_magic.oci.config import chain_ids
from minidock_magic.snapshots.base import Kind, Snapshotter
from minidock_magic.snapshots.unpack import (
    LABEL_OWNER,
    UNPACK_PREFIX,
    reap_abandoned,
    unpack,
)
from tests.diff.helpers import TarBuilder
from tests.snapshots.helpers import (
    MERGED,
    PACKAGE_ROOT,
    base_layer,
    kinds,
    make_image,
    top_layer,
    view,
)


def _committed_keys(snapshotter: Snapshotter) -> list[str]:
    return [i.key for i in snapshotter.walk() if i.kind is Kind.COMMITTED]


def test_two_layers_with_whiteouts_and_an_opaque_dir(snapshotter: Snapshotter,
                                                      content: ContentStore) -> None:
    image = make_image(content, [base_layer(), top_layer()])
    top = unpack(snapshotter, content, image)
    chain = [str(c) for c in image.config.chain_ids]
    assert top == chain[-1]
    assert _committed_keys(snapshotter) == chain
    info = snapshotter.stat(top)
    assert info.parent == chain[0]
    assert info.labels["minidock.layer.digest"] == str(image.layers[1].digest)
    assert info.labels["minidock.layer.diff_id"] == str(image.config.diff_ids[1])
    snapshotter.prepare("container", top)
    assert kinds(view(snapshotter, "container")) == MERGED
    assert snapshotter.changes("container")[0] == []


def test_unpack_twice_is_idempotent(snapshotter: Snapshotter, content: ContentStore) -> None:
    image = make_image(content, [base_layer(), top_layer()])
    first = unpack(snapshotter, content, image)
    before = [(i.key, i.created) for i in snapshotter.walk()]
    dirs = snapshotter.layer_dirs(first)
    assert unpack(snapshotter, content, image) == first
    assert [(i.key, i.created) for i in snapshotter.walk()] == before
    assert snapshotter.layer_dirs(first) == dirs


def test_images_on_one_base_share_its_snapshot(snapshotter: Snapshotter,
                                               content: ContentStore) -> None:
    one = make_image(content, [base_layer(), top_layer()])
    two = make_image(content, [base_layer(), TarBuilder().file("other", b"2").bytes()])
    top_one, top_two = unpack(snapshotter, content, one), unpack(snapshotter, content, two)
    base = str(one.config.chain_ids[0])
    assert str(two.config.chain_ids[0]) == base and top_one != top_two
    assert snapshotter.stat(top_one).parent == snapshotter.stat(top_two).parent == base
    assert len(_committed_keys(snapshotter)) == 3  # base once, and one top each
    base_dir = snapshotter.layer_dirs(base)[0]
    if snapshotter.name.startswith("overlay"):  # the very same directory under both stacks
        assert snapshotter.layer_dirs(top_one)[1] == snapshotter.layer_dirs(top_two)[1] == base_dir
        assert os.stat(snapshotter.layer_dirs(top_one)[1]).st_ino == os.stat(base_dir).st_ino
    else:  # a copy of the base under each top, but the base itself is unpacked once
        assert base_dir not in snapshotter.layer_dirs(top_one)


def test_a_layer_that_lies_about_its_diff_id(snapshotter: Snapshotter,
                                             content: ContentStore) -> None:
    image = make_image(content, [base_layer()])
    lie = TarBuilder().file("etc/motd", b"not what the config says").bytes()
    blob = content.path(image.layers[0].digest)
    os.chmod(blob, 0o644)
    blob.write_bytes(lie)  # same digest name, other bytes: as a corrupted store would hold
    with pytest.raises(DigestMismatch):
        unpack(snapshotter, content, image)
    assert list(snapshotter.walk()) == []  # the half-made snapshot is gone too


def test_an_image_without_layers(snapshotter: Snapshotter, content: ContentStore) -> None:
    with pytest.raises(InvalidArgument, match="no layers"):
        unpack(snapshotter, content, make_image(content, []))
    assert list(snapshotter.walk()) == []


def test_losing_the_race_to_commit_reuses_the_winner(snapshotter: Snapshotter,
                                                     content: ContentStore) -> None:
    """Another process commits the same ChainID between our apply and our commit."""
    image = make_image(content, [base_layer(), top_layer()])
    real_commit = snapshotter.commit
    raced: list[str] = []

    def commit(name: str, key: str, labels: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(name)
            other = type(snapshotter).__new__(type(snapshotter))
            other.__dict__.update({k: v for k, v in snapshotter.__dict__.items()
                                   if k != "commit"})  # a second handle on the same root
            unpack(other, content, image)  # the other process wins every layer
        return real_commit(name, key, labels)

    snapshotter.commit = commit  # type: ignore[method-assign]
    top = unpack(snapshotter, content, image)
    assert raced == [str(image.config.chain_ids[0])]
    assert top == str(image.config.chain_ids[-1])
    assert _committed_keys(snapshotter) == [str(c) for c in image.config.chain_ids]
    assert all(i.kind is Kind.COMMITTED for i in snapshotter.walk())  # our copy was dropped


def test_abandoned_unpacks_are_reaped(snapshotter: Snapshotter, content: ContentStore) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    import socket
    snapshotter.prepare(f"{UNPACK_PREFIX}crashed", None,
                        labels={LABEL_OWNER: f"{socket.gethostname()}:{dead}"})
    snapshotter.prepare(f"{UNPACK_PREFIX}alive", None,
                        labels={LABEL_OWNER: f"{socket.gethostname()}:{os.getpid()}"})
    snapshotter.prepare("container-x", None)
    assert reap_abandoned(snapshotter) == [f"{UNPACK_PREFIX}crashed"]
    assert [i.key for i in snapshotter.walk()] == [f"{UNPACK_PREFIX}alive", "container-x"]


RACER = r"""
import json, sys, time
from pathlib import Path
from minidock_magic.content.store import ContentStore
from minidock_magic.images.image import load_image
from minidock_magic.oci.descriptor import Descriptor
from minidock_magic.snapshots.copy import CopySnapshotter
from minidock_magic.snapshots.overlay import OverlaySnapshotter
from minidock_magic.snapshots.unpack import unpack

kind, root, oci, target, start = sys.argv[1:6]
content = ContentStore(Path(oci))
image = load_image(content, Descriptor.from_json(json.loads(target)))
snapshotter = CopySnapshotter(Path(root)) if kind == "copy" else \
    OverlaySnapshotter(Path(root), rootless=kind == "overlay-rootless")
lost = []
commit = snapshotter.commit
def counting(name, key, labels=None):
    try:
        return commit(name, key, labels)
    except Exception as error:
        lost.append(type(error).__name__)
        raise
snapshotter.commit = counting
while time.time() < float(start):  # both processes begin at the same instant
    time.sleep(0.001)
print(json.dumps([unpack(snapshotter, content, image), lost]))
"""


@pytest.mark.slow
def test_concurrent_unpacks_from_two_processes(snapshotter: Snapshotter,
                                               content: ContentStore) -> None:
    big = [TarBuilder().file(f"f{i}", os.urandom(4096)).bytes() for i in range(3)]
    image = make_image(content, [base_layer(), *big, top_layer()])
    import time
    start = str(time.time() + 1.5)
    argv = [sys.executable, "-c", RACER, snapshotter.name, str(snapshotter.root),  # type: ignore[attr-defined]
            str(content.root), json.dumps(image.target.to_json()), start]
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    racers = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    results = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), [e for _, e in results]
    chain = [str(c) for c in chain_ids(image.config.diff_ids)]
    outcomes = [json.loads(out) for out, _ in results]
    assert [top for top, _ in outcomes] == [chain[-1]] * 2
    # Both began together, so a commit usually lost the race (and the loser went on with the
    # winner's layer); whichever way it went, nothing but AlreadyExists may have been refused.
    assert all(set(lost) <= {"AlreadyExists"} for _, lost in outcomes)
    print("commits lost to the other process:", [len(lost) for _, lost in outcomes])
    assert _committed_keys(snapshotter) == chain  # one committed snapshot per ChainID
    assert all(i.kind is Kind.COMMITTED for i in snapshotter.walk())  # losers dropped theirs
    assert snapshotter.cleanup() == []
    snapshotter.prepare("container", chain[-1])
    seen = kinds(view(snapshotter, "container"))
    assert {p: seen.pop(p)[0] for p in ("f0", "f1", "f2")} == {"f0": "f", "f1": "f", "f2": "f"}
    assert seen == MERGED


def test_busybox_from_the_host(snapshotter: Snapshotter, snapshot_root: Path) -> None:
    engine = Minidock(snapshot_root / "home")
    image = engine.bootstrap()
    top = unpack(snapshotter, engine.content, image)
    snapshotter.prepare("container", top)
    seen = view(snapshotter, "container")
    assert seen["bin/busybox"][0] == "f" and seen["bin/sh"][:2] == ["l", "busybox"]
    with pytest.raises(AlreadyExists):
        snapshotter.prepare("container", top)


def test_durable_commits_sync_first(new_snapshotter, snapshot_root: Path,  # type: ignore[no-untyped-def]
                                    content: ContentStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from minidock_magic.snapshots import local

    synced: list[Path] = []
    real = local.syncfs
    monkeypatch.setattr(local, "syncfs", lambda path: (synced.append(path), real(path)))
    snapshotter = new_snapshotter(snapshot_root / "durable")
    snapshotter.durable = True  # what every real home gets; the suite skips it for speed
    image = make_image(content, [base_layer(), top_layer()])
    unpack(snapshotter, content, image)
    assert synced == [snapshotter.layer_dirs(str(c))[0] for c in image.config.chain_ids]
