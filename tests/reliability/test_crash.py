"""Crash safety: ``kill -9`` at random moments of a pull, a push (the client, or the registry
server) and a commit, then ``minidock system check`` (no corrupt or missing blob; dangling ones
are allowed) and a retry that succeeds.

The commands are the real CLI (``minidock_magic.cli.main``) in their own processes, forked from
a pre-loaded zygote (see ``zygote.py``) so that each trial costs a fork rather than a Python
start-up, and the kill lands while the command works. The image is busybox plus a 2 MB layer of
random bytes. Kill moments are uniform over each command's measured duration (plus a margin,
so some trials kill a process that already finished: that must be fine too). The seed is
printed on failure; ``MINIDOCK_CRASH_SEED`` replays a run and ``MINIDOCK_CRASH_TRIALS=N``
multiplies the trial counts (the CI-sized run is 56 trials).
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock
from minidock_magic.registry import RegistryServer
from tests.reliability.builders import Layer, make_image, oci_archive, tar_of
from tests.reliability.conftest import Tally, copy_home
from tests.reliability.zygote import Zygote, check_clean, registry_intact
from tests.servers import free_port

TALLY = Tally("crash safety (kill -9)")
SCALE = max(1, int(os.environ.get("MINIDOCK_CRASH_TRIALS", "1")))
SEED = int(os.environ.get("MINIDOCK_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
TRIALS = {"pull": 14 * SCALE, "push": 14 * SCALE, "server": 14 * SCALE, "commit": 14 * SCALE}
IMAGE = "crash/app:1"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image_home(busybox_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding crash/app:1 = busybox + a 2 MB layer of random bytes."""
    home = tmp_path_factory.mktemp("crash-image") / "home"
    engine = copy_home(busybox_home, home)
    [base] = engine.image("busybox").layers
    blob = engine.content.read_bytes(base.digest)
    image = make_image([Layer(gzip.decompress(blob), blob, base.media_type),
                        Layer.of(tar_of({"random.bin": os.urandom(2 << 20)}))])
    engine.load(io.BytesIO(oci_archive(image, f"docker.io/{IMAGE}")))
    return home


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(f"{SEED}-{request.node.name}")


@dataclass
class Kill:
    """Start a command, kill -9 it at a random moment; report whether it was still working."""

    zygote: Zygote
    rng: random.Random

    def timed(self, *argv: str) -> float:
        started = time.monotonic()
        status, output = self.zygote.run(*argv)
        assert status == 0, output
        return time.monotonic() - started

    def during(self, duration: float, *argv: str) -> bool:
        pid = self.zygote.start(*argv)
        time.sleep(self.rng.uniform(0, duration * 1.15))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.zygote.wait(pid) == -signal.SIGKILL


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on {port}")


def test_kill_the_client_during_pull(zygote: Zygote, image_home: Path, rng: random.Random, tmp_path: Path) -> None:
    with RegistryServer(tmp_path / "registry") as server:
        source = copy_home(image_home, tmp_path / "source")  # the fixture stays as it is
        source.tag(IMAGE, f"{server.address}/{IMAGE}")
        source.push(f"{server.address}/{IMAGE}", quiet=True)
        kill = Kill(zygote, rng)
        name = f"{server.address}/{IMAGE}"
        duration = kill.timed("--home", str(tmp_path / "timing"), "pull", "-q", name)
        killed = 0
        for trial in range(TRIALS["pull"]):
            with TALLY.case(f"pull/{trial}"):
                home = tmp_path / f"home-{trial}"
                killed += kill.during(duration, "--home", str(home), "pull", "-q", name)
                if home.exists():
                    check_clean(zygote, home)
                status, output = zygote.run("--home", str(home), "pull", "-q", name)
                assert status == 0, output
                check_clean(zygote, home)
                pulled = Minidock(home).image(name)
                assert pulled.digest == source.image(IMAGE).digest
                assert all(Minidock(home).content.exists(b.digest) for b in pulled.blobs())
                shutil.rmtree(home)
        TALLY.note(f"pull: {killed} of {TRIALS['pull']} kills landed mid-pull (seed {SEED})")
        assert killed >= TRIALS["pull"] // 3, f"only {killed} kills landed mid-pull (seed {SEED})"


def test_kill_the_client_during_push(zygote: Zygote, image_home: Path, rng: random.Random, tmp_path: Path) -> None:
    with RegistryServer(tmp_path / "registry") as server:
        home = tmp_path / "home"
        engine = copy_home(image_home, home)
        kill = Kill(zygote, rng)
        engine.tag(IMAGE, f"{server.address}/crash/timing:1")
        duration = kill.timed("--home", str(home), "push", "-q", f"{server.address}/crash/timing:1")
        killed = 0
        for trial in range(TRIALS["push"]):
            with TALLY.case(f"push/{trial}"):
                name = f"{server.address}/crash/push{trial}:1"
                engine.tag(IMAGE, name)
                (home / "remotes.json").unlink(missing_ok=True)  # no mounts: every blob goes up
                killed += kill.during(duration, "--home", str(home), "push", "-q", name)
                check_clean(zygote, home)
                registry_intact(tmp_path / "registry")
                status, output = zygote.run("--home", str(home), "push", "-q", name)
                assert status == 0, output
                registry_intact(tmp_path / "registry")
                pushed = httpx.head(f"{server.url}/v2/crash/push{trial}/manifests/1",
                                    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                assert pushed.headers["docker-content-digest"] == str(engine.image(IMAGE).digest)
        TALLY.note(f"push: {killed} of {TRIALS['push']} kills landed mid-push (seed {SEED})")
        assert killed >= TRIALS["push"] // 3, f"only {killed} kills landed mid-push (seed {SEED})"


def test_kill_the_server_during_push(zygote: Zygote, image_home: Path, rng: random.Random, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = copy_home(image_home, home)
    port = free_port()
    address = f"127.0.0.1:{port}"
    name = f"{address}/crash/served:1"
    engine.tag(IMAGE, name)

    def serve(data: Path) -> int:
        pid = zygote.serve(address, data)
        wait_listening(port)
        return pid

    timing = serve(tmp_path / "timing")
    started = time.monotonic()
    status, output = zygote.run("--home", str(home), "push", "-q", name)
    duration = time.monotonic() - started
    assert status == 0, output
    os.kill(timing, signal.SIGKILL)
    zygote.wait(timing)
    killed = 0
    for trial in range(TRIALS["server"]):
        with TALLY.case(f"server/{trial}"):
            data = tmp_path / f"registry-{trial}"
            (home / "remotes.json").unlink(missing_ok=True)
            server = serve(data)
            client = zygote.start("--home", str(home), "push", "-q", name)
            time.sleep(rng.uniform(0, duration * 1.15))
            os.kill(server, signal.SIGKILL)
            killed += zygote.wait(server) == -signal.SIGKILL and zygote.wait(client) != 0
            registry_intact(data)
            check_clean(zygote, home)
            server = serve(data)  # the same data, a new server: the retry must go through
            try:
                status, output = zygote.run("--home", str(home), "push", "-q", name)
                assert status == 0, output
                registry_intact(data)
                pushed = httpx.head(f"http://{address}/v2/crash/served/manifests/1",
                                    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                assert pushed.headers["docker-content-digest"] == str(engine.image(IMAGE).digest)
            finally:
                os.kill(server, signal.SIGKILL)
                zygote.wait(server)
            shutil.rmtree(data)
    TALLY.note(f"server: {killed} of {TRIALS['server']} server kills cut a push short (seed {SEED})")
    assert killed >= TRIALS["server"] // 3, f"only {killed} server kills broke a push (seed {SEED})"


def test_kill_during_commit(zygote: Zygote, image_home: Path, rng: random.Random, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = copy_home(image_home, home)
    container, code = engine.containers.run(
        IMAGE, RunOptions(command=["sh", "-c", "head -c 2097152 /dev/urandom > /data.bin && echo x > /etc/x"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert code == 0
    kill = Kill(zygote, rng)
    duration = kill.timed("--home", str(home), "commit", container.id, "crash/commit:timing")
    killed = 0
    for trial in range(TRIALS["commit"]):
        with TALLY.case(f"commit/{trial}"):
            killed += kill.during(duration, "--home", str(home), "commit", container.id, f"crash/commit:{trial}")
            check_clean(zygote, home)
            status, output = zygote.run("--home", str(home), "commit", container.id, f"crash/commit:{trial}")
            assert status == 0, output
            check_clean(zygote, home)
            committed = Minidock(home).image(f"crash/commit:{trial}")
            assert len(committed.layers) == 3
    TALLY.note(f"commit: {killed} of {TRIALS['commit']} kills landed mid-commit (seed {SEED})")
    assert killed >= TRIALS["commit"] // 3, f"only {killed} kills landed mid-commit (seed {SEED})"


def test_crash_suite_size() -> None:
    assert sum(TRIALS.values()) >= 50
