"""cp into and out of a container whose tree plants symlinks to the host (no race needed):
a symlinked subdirectory where a copied directory's subdirectory goes, and absolute links out.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.diff import safepath
from minidock_magic.errors import InvalidArgument, NotFound
from minidock_magic.facade import Minidock
from tests.security.files_helpers import TALLY, HostSecret, make_secret

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]


@pytest.fixture(scope="module")
def planted_engine(busybox_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Minidock:
    home = tmp_path_factory.mktemp("files-planted") / "home"
    shutil.copytree(busybox_home, home, symlinks=True)
    return Minidock(home)


@pytest.fixture
def planted_secret(tmp_path: Path) -> HostSecret:
    return make_secret(tmp_path)


def _planted(engine: Minidock, host: Path, *, running: bool) -> str:
    """A container with /data/sub -> the host directory (absolute) and /data/up -> ../../.."""
    script = f"mkdir -p /data && ln -s {host} /data/sub && ln -s ../../.. /data/up && touch /ready"
    if running:
        script += " && exec sleep 600"
    config, _ = engine.containers.run("busybox", RunOptions(command=["sh", "-c", script]), detach=running)
    if running:
        import time
        while not any(str(c) == "A /ready" for c in engine.containers.diff(config.id)):
            time.sleep(0.05)
    return config.id


@pytest.fixture(params=["stopped", "running"])
def planted(request: pytest.FixtureRequest, planted_engine: Minidock,
            planted_secret: HostSecret) -> Iterator[str]:
    container = _planted(planted_engine, planted_secret.dir, running=request.param == "running")
    yield container
    planted_engine.containers.remove(container, force=True)


def test_cp_in_directory_over_a_symlinked_subdirectory(planted_engine: Minidock, planted: str,
                                                       planted_secret: HostSecret, tmp_path: Path) -> None:
    with TALLY.case(f"cp -r into a planted symlinked subdirectory ({planted[:6]})"):
        tree = tmp_path / "data"
        (tree / "sub").mkdir(parents=True)
        (tree / "sub" / "evil").write_text("evil\n")
        with pytest.raises(InvalidArgument, match="non-directory"):  # docker's answer too
            planted_engine.containers.copy(str(tree), f"{planted}:/")
        assert planted_secret.untouched(), sorted(p.name for p in planted_secret.dir.iterdir())


def test_cp_in_through_absolute_and_climbing_links_stays_inside(planted_engine: Minidock, planted: str,
                                                                planted_secret: HostSecret,
                                                                tmp_path: Path) -> None:
    with TALLY.case(f"cp into /data/sub/ and /data/up/etc/ ({planted[:6]})"):
        payload = tmp_path / "payload.txt"
        payload.write_text("payload\n")
        with pytest.raises(InvalidArgument):  # /data/sub/ is the host's path *inside*: missing there
            planted_engine.containers.copy(str(payload), f"{planted}:/data/sub/")
        planted_engine.containers.copy(str(payload), f"{planted}:/data/up/etc/")
        assert planted_secret.untouched()
        assert not Path("/etc/payload.txt").exists()
        changes = {str(c) for c in planted_engine.containers.diff(planted)}
        assert "A /etc/payload.txt" in changes, changes


def test_cp_out_through_a_link_to_the_host_finds_nothing(planted_engine: Minidock, planted: str,
                                                         planted_secret: HostSecret,
                                                         tmp_path: Path) -> None:
    with TALLY.case(f"cp out /data/sub/f ({planted[:6]})"):
        with pytest.raises(NotFound):
            planted_engine.containers.copy(f"{planted}:/data/sub/f", str(tmp_path / "out"))
        assert not (tmp_path / "out").exists()
        out = planted_engine.containers.copy(f"{planted}:/data/sub", str(tmp_path / "link"))
        assert out.is_symlink()  # a link is copied as a link (docker cp), its text as written
        assert os.readlink(out) == str(planted_secret.dir)


def test_export_and_commit_keep_links_as_links(planted_engine: Minidock, planted: str,
                                               planted_secret: HostSecret) -> None:
    with TALLY.case(f"export/commit of planted links ({planted[:6]})"):
        exported = io.BytesIO()
        planted_engine.containers.export(planted, exported)
        assert planted_secret.text.encode() not in exported.getvalue()
        assert planted_secret.marker.encode() not in exported.getvalue()
        image = planted_engine.containers.commit(planted)
        with planted_engine.content.open(image.layers[-1].digest) as blob:
            import gzip
            layer = gzip.decompress(blob.read())
        assert planted_secret.text.encode() not in layer and planted_secret.marker.encode() not in layer


def test_cp_in_through_a_magic_link_stays_inside(planted_engine: Minidock, planted: str,
                                                 planted_secret: HostSecret, tmp_path: Path) -> None:
    """/data/m -> /proc/self/root/<host dir>: resolved by the *engine*, ``self`` is the engine,
    whose root is the host's. openat2's RESOLVE_NO_MAGICLINKS (and the fd walk, which only ever
    reads a link's text) never jump through it."""
    with TALLY.case(f"cp into a link through /proc/self/root ({planted[:6]})"):
        script = f"ln -s /proc/self/root{planted_secret.dir} /data/m"
        assert planted_engine.containers.exec(planted, ["sh", "-c", script]) == 0 \
            if planted_engine.containers.lifecycle.state(planted_engine.containers.get(planted)).status \
            == "running" else _link_in_layer(planted_engine, planted, planted_secret.dir)
        payload = tmp_path / "payload.txt"
        payload.write_text("payload\n")
        for resolver in ("openat2", "fd-walk"):
            with pytest.MonkeyPatch.context() as patch:
                if resolver == "fd-walk":
                    patch.setitem(safepath._openat2_state, "works", False)
                try:
                    planted_engine.containers.copy(str(payload), f"{planted}:/data/m/")
                except (InvalidArgument, NotFound):
                    pass  # refused: fine
            assert planted_secret.untouched(), (resolver, sorted(p.name for p in planted_secret.dir.iterdir()))


def _link_in_layer(engine: Minidock, container: str, host: Path) -> bool:
    """A stopped container gets the link the way it would have made it: in its writable layer."""
    config = engine.containers.get(container)
    target = engine.snapshotter.apply_target(config.snapshot).path
    (target / "data" / "m").symlink_to(f"/proc/self/root{host}")
    return True
