"""cp in / cp out / export / commit / diff against a running container that swaps /data for an
absolute symlink to a host directory in a tight loop (moby's CVE-2018-15664 shape: an atomic
``renameat2(RENAME_EXCHANGE)`` loop, see ``files_helpers``).

Each operation is tried ATTEMPTS times. It may succeed or refuse with one clear error; what it
may never do is write into the host directory or carry the host's 0600 secret (or even the name
of a host file) into a copy, an export, a committed layer or a diff.
"""

from __future__ import annotations

import collections
import gzip
import io
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.diff import safepath
from minidock_magic.facade import Minidock
from minidock_magic.images.image import Image
from minidock_magic.lessons.exercises import _writable_file
from tests.conftest import container_namespaces_or_skip
from tests.security.files_helpers import (
    ATTEMPTS,
    TALLY,
    HostSecret,
    attempt,
    build_swapper,
    make_secret,
    swapping_container,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]


@pytest.fixture(scope="module", params=["overlay", "copy"])
def race_engine(request: pytest.FixtureRequest, busybox_home: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Minidock:
    container_namespaces_or_skip("racing a running container")  # module-scoped: before the mark's fixture
    home = tmp_path_factory.mktemp(f"files-race-{request.param}") / "home"
    shutil.copytree(busybox_home, home, symlinks=True)
    engine = Minidock(home)
    engine.layout.snapshots.mkdir(parents=True, exist_ok=True)
    (engine.layout.snapshots / "driver").write_text(request.param + "\n")  # the shim's choice too
    assert engine.snapshotter.name.startswith(request.param)
    build_swapper(engine, home.parent)
    return engine


@pytest.fixture(scope="module")
def secret(race_engine: Minidock, tmp_path_factory: pytest.TempPathFactory) -> HostSecret:
    return make_secret(tmp_path_factory.mktemp("files-secret"))  # one per engine: none shared


@pytest.fixture(scope="module")
def swapper(race_engine: Minidock, secret: HostSecret) -> Iterator[str]:
    with swapping_container(race_engine, secret.dir) as container:
        yield container


@pytest.fixture(params=["openat2", "fd-walk"])
def resolver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The race must be lost with openat2 and with the walk used on kernels without it."""
    if request.param == "fd-walk":
        monkeypatch.setitem(safepath._openat2_state, "works", False)
    else:
        assert safepath.have_openat2(), "this kernel has openat2 (Linux >= 5.6)"
    return request.param


def _case(name: str, outcomes: collections.Counter[str]) -> None:
    TALLY.note(f"{name}: {dict(outcomes)}")


def test_cp_in_file_never_lands_on_the_host(race_engine: Minidock, swapper: str, secret: HostSecret,
                                           resolver: str, tmp_path: Path) -> None:
    name = f"cp host file into a swapping /data ({race_engine.snapshotter.name}, {resolver})"
    with TALLY.case(name):
        payload = tmp_path / "payload.txt"
        payload.write_text("payload\n")
        outcomes = collections.Counter(
            attempt(race_engine.containers.copy, str(payload), f"{swapper}:/data/payload.txt")
            for _ in range(ATTEMPTS))
        _case(name, outcomes)
        assert secret.untouched(), sorted(p.name for p in secret.dir.iterdir())
        # Away from the swapping directory the same copy works (refusing everything is no fix).
        race_engine.containers.copy(str(payload), f"{swapper}:/payload.txt")
        assert "A /payload.txt" in {str(c) for c in race_engine.containers.diff(swapper)}


def test_cp_in_directory_never_lands_on_the_host(race_engine: Minidock, swapper: str,
                                                 secret: HostSecret, resolver: str,
                                                 tmp_path: Path) -> None:
    name = f"cp host directory into a swapping /data ({race_engine.snapshotter.name}, {resolver})"
    with TALLY.case(name):
        tree = tmp_path / "tree"
        (tree / "sub").mkdir(parents=True)
        (tree / "sub" / "evil").write_text("evil\n")
        (tree / "top").write_text("top\n")
        outcomes = collections.Counter(
            attempt(race_engine.containers.copy, str(tree), f"{swapper}:/data/")
            for _ in range(ATTEMPTS))
        _case(name, outcomes)
        assert secret.untouched(), sorted(p.name for p in secret.dir.iterdir())


def test_cp_out_never_reads_the_host(race_engine: Minidock, swapper: str, secret: HostSecret,
                                     tmp_path: Path) -> None:
    name = f"cp /data/f out of a swapping container ({race_engine.snapshotter.name})"
    with TALLY.case(name):
        outcomes: collections.Counter[str] = collections.Counter()
        for i in range(3 * ATTEMPTS):  # one read of /data/f per try: a narrower window
            out = tmp_path / f"out-{i}"
            outcomes[attempt(race_engine.containers.copy, f"{swapper}:/data/f", str(out))] += 1
            if out.exists():
                assert out.read_text() == "inside\n", f"attempt {i} copied the host's file out"
        _case(name, outcomes)


def _tar_text(blob: bytes) -> str:
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        parts = [" ".join(tar.getnames())]
        for member in tar:
            if member.isfile():
                parts.append(tar.extractfile(member).read().decode(errors="replace"))  # type: ignore[union-attr]
    return "\n".join(parts)


def test_export_never_carries_the_host_secret(race_engine: Minidock, swapper: str,
                                              secret: HostSecret) -> None:
    name = f"export a swapping container ({race_engine.snapshotter.name})"
    with TALLY.case(name):
        outcomes: collections.Counter[str] = collections.Counter()
        for i in range(ATTEMPTS):
            out = io.BytesIO()
            outcomes[attempt(race_engine.containers.export, swapper, out)] += 1
            data = out.getvalue()
            assert secret.text.encode() not in data, f"attempt {i} exported the host secret"
            assert secret.marker.encode() not in data, f"attempt {i} exported a host file name"
        _case(name, outcomes)


def test_commit_never_carries_the_host_secret(race_engine: Minidock, swapper: str,
                                              secret: HostSecret) -> None:
    name = f"commit a swapping container ({race_engine.snapshotter.name})"
    with TALLY.case(name):
        outcomes: collections.Counter[str] = collections.Counter()
        for i in range(ATTEMPTS):
            made: list[Image] = []
            outcomes[attempt(lambda made=made: made.append(race_engine.containers.commit(swapper)))] += 1
            for image in made:
                with race_engine.content.open(image.layers[-1].digest) as blob:
                    text = _tar_text(blob.read())
                assert secret.text not in text, f"attempt {i} committed the host secret"
                assert secret.marker not in text, f"attempt {i} committed a host file name"
        _case(name, outcomes)


def test_diff_never_lists_host_files(race_engine: Minidock, swapper: str, secret: HostSecret) -> None:
    name = f"diff a swapping container ({race_engine.snapshotter.name})"
    with TALLY.case(name):
        outcomes: collections.Counter[str] = collections.Counter()
        for i in range(ATTEMPTS):
            found: list[str] = []
            outcomes[attempt(lambda found=found: found.extend(map(str, race_engine.containers.diff(swapper))))] += 1
            assert not any(secret.marker in line for line in found), f"attempt {i}: {found}"
        _case(name, outcomes)


def test_lesson_checker_reads_container_files_safely(race_engine: Minidock, swapper: str,
                                                     secret: HostSecret) -> None:
    name = f"lesson checker reads /data/f of a swapping container ({race_engine.snapshotter.name})"
    with TALLY.case(name):
        config = race_engine.containers.get(swapper)
        seen = collections.Counter(
            repr(_writable_file(race_engine, config, "/data/f")) for _ in range(ATTEMPTS))
        _case(name, seen)
        assert not any(secret.text in text for text in seen), seen
