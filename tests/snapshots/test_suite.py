"""The snapshotter contract, run against every implementation (see conftest's ``snapshotter``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from minidock_magic.diff.apply import apply_layer
from minidock_magic.diff.changes import ChangeKind
from minidock_magic.diff.writer import write_layer
from minidock_magic.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from minidock_magic.snapshots.base import Info, Kind, Snapshotter
from tests.diff.helpers import TarBuilder
from tests.snapshots.helpers import MERGED, base_layer, kinds, shell, top_layer, view


def fill(snapshotter: Snapshotter, key: str, layer: bytes) -> None:
    target = snapshotter.apply_target(key)
    apply_layer(io.BytesIO(layer), target.path, whiteouts=target.whiteouts,
                opaque_xattrs=target.opaque_xattrs or None)


def committed(snapshotter: Snapshotter, name: str, parent: str | None, layer: bytes) -> Info:
    key = f"fill {name}"
    snapshotter.prepare(key, parent)
    fill(snapshotter, key, layer)
    return snapshotter.commit(name, key)


def test_is_a_snapshotter(snapshotter: Snapshotter) -> None:
    assert isinstance(snapshotter, Snapshotter)
    assert snapshotter.name


def test_prepare_commit_stat_walk(snapshotter: Snapshotter) -> None:
    snapshotter.prepare("a-active", None, labels={"why": "test"})
    info = snapshotter.stat("a-active")
    assert (info.key, info.kind, info.parent, info.labels) == ("a-active", Kind.ACTIVE, None,
                                                              {"why": "test"})
    fill(snapshotter, "a-active", base_layer())
    done = snapshotter.commit("a", "a-active")
    assert (done.key, done.kind, done.labels) == ("a", Kind.COMMITTED, {"why": "test"})
    with pytest.raises(NotFound):
        snapshotter.stat("a-active")
    snapshotter.prepare("b-active", "a")
    b = snapshotter.commit("b", "b-active", labels={"layer": "2"})
    assert (b.parent, b.labels) == ("a", {"layer": "2"})
    snapshotter.prepare("container", "b")
    walked = list(snapshotter.walk())
    assert [(i.key, i.kind, i.parent) for i in walked] == [
        ("a", Kind.COMMITTED, None), ("b", Kind.COMMITTED, "a"), ("container", Kind.ACTIVE, "b")]


def test_refusals(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    snapshotter.prepare("busy", "base")
    with pytest.raises(AlreadyExists):
        snapshotter.prepare("busy", "base")
    with pytest.raises(AlreadyExists):
        snapshotter.prepare("base", None)
    with pytest.raises(NotFound):
        snapshotter.prepare("orphan", "no such parent")
    with pytest.raises(InvalidArgument):  # only committed snapshots can be parents
        snapshotter.prepare("on-active", "busy")
    with pytest.raises(AlreadyExists):
        snapshotter.commit("base", "busy")
    assert snapshotter.stat("busy").kind is Kind.ACTIVE  # a refused commit changes nothing
    with pytest.raises(InvalidArgument):
        snapshotter.commit("again", "base")
    with pytest.raises(NotFound):
        snapshotter.commit("x", "missing")
    for call in (snapshotter.mounts, snapshotter.apply_target, snapshotter.changes):
        with pytest.raises(InvalidArgument):  # committed means read-only
            call("base")
        with pytest.raises(NotFound):
            call("missing")
    with pytest.raises(InvalidArgument):
        snapshotter.prepare("", None)
    assert [i.key for i in snapshotter.walk()] == ["base", "busy"]


def test_remove(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    mounts = snapshotter.prepare("container", "base")
    with pytest.raises(Conflict):
        snapshotter.remove("base")
    assert snapshotter.stat("base").kind is Kind.COMMITTED
    dirs = snapshotter.layer_dirs("container")
    snapshotter.remove("container")
    assert not dirs[0].exists() and not mounts.rootfs.exists()
    snapshotter.remove("base")
    assert list(snapshotter.walk()) == [] and not dirs[-1].exists()
    with pytest.raises(NotFound):
        snapshotter.remove("base")
    assert snapshotter.cleanup() == []


@pytest.mark.parametrize("key", ["../../../../etc/evil", "a/b/c", "/etc/passwd", "..", ".",
                                 "sha256:" + "0" * 64, "naïve ✓ key", "x" * 2000])
def test_keys_never_become_paths(snapshotter: Snapshotter, snapshot_root: Path, key: str) -> None:
    before = set(os.listdir("/etc")) | set(os.listdir(snapshot_root))
    snapshotter.prepare(key, None)
    fill(snapshotter, key, base_layer())
    snapshotter.commit(key + "!", key)
    snapshotter.prepare(key, key + "!")
    assert snapshotter.stat(key).parent == key + "!"
    assert set(os.listdir("/etc")) | set(os.listdir(snapshot_root)) == before
    for path in snapshotter.layer_dirs(key):
        rel = path.relative_to(snapshotter.root)  # type: ignore[attr-defined]
        assert rel.parts[0] == "snapshots" and rel.parts[1].isdigit() and rel.parts[2:] == ("fs",)
    snapshotter.remove(key)
    snapshotter.remove(key + "!")


def test_layers_stack_into_one_view(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    committed(snapshotter, "top", "base", top_layer())
    snapshotter.prepare("container", "top")
    assert kinds(view(snapshotter, "container")) == MERGED
    dirs = snapshotter.layer_dirs("container")
    assert dirs[0] == snapshotter.apply_target("container").path
    assert all(d.is_dir() for d in dirs)


def test_changes_after_a_container_ran(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    committed(snapshotter, "top", "base", top_layer())
    snapshotter.prepare("container", "top")
    assert snapshotter.changes("container")[0] == []
    shell(snapshotter, "container", "echo hi > new.txt; echo more >> etc/passwd; rm bin/link; "
                                    "rm -r etc/cache; mkdir etc/cache; echo d > etc/cache/d; "
                                    "mkdir -p var/log; chmod 0700 bin/tool")
    found, source = snapshotter.changes("container")
    lines = {str(c) for c in found}
    assert {"A /new.txt", "C /etc/passwd", "D /bin/link", "C /bin/tool", "A /etc/cache/d",
            "A /var", "A /var/log"} <= lines, lines
    assert "C /etc" in lines and "C /bin" in lines
    assert not any(c.path.startswith("/ro") for c in found)
    cache = [c for c in found if c.path == "/etc/cache"]
    assert cache and cache[0].kind in (ChangeKind.CHANGED, ChangeKind.ADDED)
    # What a commit does next: the changes as a layer, applied on the image, give the same view.
    blob = io.BytesIO()
    write_layer(found, source, blob, compression="none")
    committed(snapshotter, "committed", "top", blob.getvalue())
    snapshotter.prepare("check", "committed")
    seen = kinds(view(snapshotter, "check"))
    want = kinds(view(snapshotter, "container"))
    assert seen == want
    assert "bin/link" not in seen and seen["etc/cache/d"] == ("f", "d\n")
    assert sorted(p for p in seen if p.startswith("etc/cache/")) == ["etc/cache/d"]


def test_usage_counts_own_files(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, TarBuilder().file("big", b"x" * 100_000).bytes())
    snapshotter.prepare("container", "base")
    assert snapshotter.usage("base").size >= 100_000
    assert snapshotter.usage("base").inodes == 1
    mine = snapshotter.usage("container")
    assert mine.size in (0, 100_000)  # overlay: nothing yet; copy: a whole copy


def test_cleanup_after_a_crash(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    snapshotter.prepare("container", "base")
    stray = snapshotter.layer_dirs("container")[0].parent.parent / "999999"  # type: ignore[operator]
    stray.mkdir()
    (stray / "fs").mkdir()
    assert snapshotter.cleanup() == [stray]
    assert not stray.exists()
    assert kinds(view(snapshotter, "container")) == kinds(view(snapshotter, "container"))


def test_two_handles_on_one_root(new_snapshotter, snapshot_root: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = new_snapshotter(snapshot_root / "s"), new_snapshotter(snapshot_root / "s")
    committed(first, "base", None, base_layer())
    assert second.stat("base").kind is Kind.COMMITTED
    second.prepare("container", "base")
    with pytest.raises(AlreadyExists):
        first.prepare("container", "base")


def test_an_opaque_root_hides_every_layer_below(snapshotter: Snapshotter) -> None:
    committed(snapshotter, "base", None, base_layer())
    committed(snapshotter, "fresh", "base", TarBuilder().file(".wh..wh..opq").file("only", b"o")
              .bytes())
    committed(snapshotter, "more", "fresh", TarBuilder().file("also", b"a").bytes())
    snapshotter.prepare("container", "more")
    assert kinds(view(snapshotter, "container")) == {"also": ("f", "a"), "only": ("f", "o")}
    assert len(snapshotter.layer_dirs("container")) in (1, 3)  # copy: 1; overlay: cut at 'fresh'


def test_threads_share_one_snapshotter(snapshotter: Snapshotter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    committed(snapshotter, "base", None, base_layer())

    def work(i: int) -> str:
        snapshotter.prepare(f"active {i}", "base")
        fill(snapshotter, f"active {i}", TarBuilder().file(f"f{i}", b"x").bytes())
        try:
            return snapshotter.commit("same name", f"active {i}").key
        except AlreadyExists:
            snapshotter.remove(f"active {i}")
            return "lost"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert sorted(results) == ["lost"] * 7 + ["same name"]
    assert [i.key for i in snapshotter.walk()] == ["base", "same name"]
    assert snapshotter.cleanup() == []


def test_remove_in_the_background(snapshotter: Snapshotter) -> None:
    # The record goes at once (nobody can see or reuse the snapshot), its directory by a thread
    # of this process; cleanup waits for it rather than report it as an orphan.
    from minidock_magic.snapshots.local import removals
    committed(snapshotter, "base", None, base_layer())
    snapshotter.prepare("container", "base")
    dirs = snapshotter.layer_dirs("container")
    snapshotter.remove("container", background=True)
    assert [i.key for i in snapshotter.walk()] == ["base"]
    assert snapshotter.cleanup() == []
    assert not dirs[0].exists()
    snapshotter.remove("base", background=True)
    removals.drain()
    assert not dirs[-1].exists() and list(snapshotter.walk()) == []
