"""Concurrency: several processes on one store or one registry at once.

Four pulls of one image into one home; four pushes of one image (so of the same blobs) to one
repository, and the same blob uploaded by eight clients at once; four ``run``s from one image
that is not unpacked yet (so four unpackers race for the same ChainIDs); eight processes
tagging forty names. Afterwards: every command succeeded, ``system check`` is clean, nothing is
corrupt on either side, and no name was lost. The processes are the real CLI, forked from the
zygote so they really overlap.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from pathlib import Path

import httpx
import pytest

from minidock_magic.facade import Minidock
from minidock_magic.registry import RegistryServer
from minidock_magic.snapshots.base import Kind
from tests.reliability.builders import Layer, make_image, oci_archive, sha256, tar_of
from tests.reliability.conftest import Tally, copy_home
from tests.reliability.zygote import Zygote, check_clean, registry_intact

TALLY = Tally("concurrency")
IMAGE = "conc/app:1"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image_home(busybox_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conc/app:1 = busybox + a 2 MB layer of random bytes (whose md5 the runs print)."""
    home = tmp_path_factory.mktemp("conc-image") / "home"
    engine = copy_home(busybox_home, home)
    [base] = engine.image("busybox").layers
    blob = engine.content.read_bytes(base.digest)
    payload = os.urandom(2 << 20)
    (home.parent / "payload.md5").write_text(hashlib.md5(payload).hexdigest())  # busybox has md5sum
    image = make_image([Layer(gzip.decompress(blob), blob, base.media_type),
                        Layer.of(tar_of({"payload.bin": payload}))],
                       cmd=["sh", "-c", "md5sum /payload.bin"])
    engine.load(io.BytesIO(oci_archive(image, f"docker.io/{IMAGE}")))
    return home


def all_at_once(zygote: Zygote, commands: list[list[str]]) -> list[tuple[int, str]]:
    """Start every command, then reap them: they overlap for as long as the slowest runs."""
    logs = [zygote.log.with_name(f"{zygote.log.stem}-{i}-{os.urandom(4).hex()}.log") for i in range(len(commands))]
    pids = [zygote.start_logged(log, *argv) for log, argv in zip(logs, commands)]
    return [(zygote.wait(pid), log.read_text()) for pid, log in zip(pids, logs)]


def test_parallel_pulls_into_one_store(zygote: Zygote, image_home: Path, tmp_path: Path) -> None:
    with TALLY.case("4 pulls of one image into one store"), RegistryServer(tmp_path / "registry") as server:
        name = f"{server.address}/{IMAGE}"
        source = copy_home(image_home, tmp_path / "source")  # the fixture stays as it is
        source.tag(IMAGE, name)
        source.push(name, quiet=True)
        home = tmp_path / "home"
        results = all_at_once(zygote, [["--home", str(home), "pull", "-q", name]] * 4)
        assert all(status == 0 for status, _ in results), results
        check_clean(zygote, home)
        engine = Minidock(home)
        pulled = engine.image(name)
        assert pulled.digest == source.image(IMAGE).digest
        assert {b.digest for b in engine.content.walk()} == {b.digest for b in pulled.blobs()}
        assert [e.reference for e in engine.names.entries()] == [pulled.names[0]]


def test_parallel_pushes_of_one_blob(zygote: Zygote, image_home: Path, tmp_path: Path) -> None:
    with TALLY.case("4 pushes of one image, 8 uploads of one blob"), \
            RegistryServer(tmp_path / "registry") as server:
        homes = []
        for i in range(4):
            engine = copy_home(image_home, tmp_path / f"home-{i}")
            engine.tag(IMAGE, f"{server.address}/conc/pushed:1")
            homes.append(engine.home)
        results = all_at_once(zygote, [["--home", str(h), "push", "-q", f"{server.address}/conc/pushed:1"]
                                       for h in homes])
        assert all(status == 0 for status, _ in results), results
        registry_intact(tmp_path / "registry")
        digest = str(Minidock(homes[0]).image(IMAGE).digest)
        head = httpx.head(f"{server.url}/v2/conc/pushed/manifests/1",
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        assert head.headers["docker-content-digest"] == digest
        # the same bytes by eight raw clients at once: monolithic and chunked uploads
        blob = os.urandom(3 << 20)
        statuses: list[int] = []

        def upload(i: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                if i % 2:
                    r = client.post("/v2/conc/raw/blobs/uploads/", params={"digest": sha256(blob)}, content=blob)
                else:
                    location = client.post("/v2/conc/raw/blobs/uploads/").headers["location"]
                    client.patch(location, content=blob[: 1 << 20],
                                 headers={"Content-Range": f"0-{(1 << 20) - 1}"})
                    r = client.put(location, params={"digest": sha256(blob)}, content=blob[1 << 20:])
                statuses.append(r.status_code)

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [201] * 8
        registry_intact(tmp_path / "registry")
        assert httpx.get(f"{server.url}/v2/conc/raw/blobs/{sha256(blob)}").content == blob
        assert not list((tmp_path / "registry" / "uploads").iterdir())


def test_parallel_runs_from_one_image(zygote: Zygote, image_home: Path, tmp_path: Path) -> None:
    with TALLY.case("4 runs from one image (racing unpacks)"):
        home = tmp_path / "home"
        copy_home(image_home, home)  # never unpacked: the four runs race to unpack its layers
        results = all_at_once(zygote, [["--home", str(home), "run", "--rm", IMAGE]] * 4)
        expected = (image_home.parent / "payload.md5").read_text()
        assert all(status == 0 and expected in output for status, output in results), results
        check_clean(zygote, home)
        engine = Minidock(home)
        snapshots = list(engine.snapshotter.walk())
        assert not [s.key for s in snapshots if s.kind is Kind.ACTIVE], "a container or unpack was left"
        assert len([s for s in snapshots if s.kind is Kind.COMMITTED]) == 2  # one per layer, shared
        assert not engine.containers.store.list()
        status, output = zygote.run("--home", str(home), "run", "--rm", IMAGE)  # and it still works
        assert status == 0 and expected in output


def test_parallel_tags_lose_nothing(zygote: Zygote, image_home: Path, tmp_path: Path) -> None:
    with TALLY.case("8 processes tagging 40 names"):
        home = tmp_path / "home"
        copy_home(image_home, home)
        names = [[f"conc/tag{p}-{i}:v{i}" for i in range(5)] for p in range(8)]
        script = [["--home", str(home), "tag", IMAGE, name] for batch in names for name in batch]
        # 8 processes at a time, each with one of the 40 tags, five rounds
        for round_ in range(5):
            results = all_at_once(zygote, [script[p * 5 + round_] for p in range(8)])
            assert all(status == 0 for status, _ in results), results
        engine = Minidock(home)
        present = {str(e.reference) for e in engine.names.entries() if e.reference}
        wanted = {f"docker.io/{n}" for batch in names for n in batch}
        assert wanted <= present, f"lost: {sorted(wanted - present)}"
        check_clean(zygote, home)


def test_concurrency_suite_size() -> None:
    assert len([name for name in globals() if name.startswith("test_parallel_")]) >= 4
