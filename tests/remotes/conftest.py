"""A real CNCF distribution registry (``docker-registry``) on 127.0.0.1 for the client tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest

from minidock_magic.facade import Minidock
from tests.conftest import need

USER, PASSWORD = "teacher", "correct-horse-9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DockerRegistry:
    """``docker-registry serve config.yml`` with filesystem storage and deletes enabled."""

    def __init__(self, root: Path, auth: str = "") -> None:
        self.root = root
        self.storage = root / "storage"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        config = (f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                  f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
                  f"  delete:\n    enabled: true\n"
                  f"http:\n  addr: {self.address}\n{auth}")
        (root / "config.yml").write_text(config)
        self.log = open(root / "registry.log", "wb")
        self.process = subprocess.Popen([need("docker-registry"), "serve", str(root / "config.yml")],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://{self.address}/v2/", timeout=1)
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"docker-registry did not start:\n"
                                         f"{(root / 'registry.log').read_text()}") from None
                time.sleep(0.05)

    def blob_path(self, digest: object) -> Path:
        hexpart = str(digest).removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def htpasswd_auth(path: Path) -> str:
    """An ``auth.htpasswd`` section with one bcrypt user, written as ``htpasswd -B`` does (``$2y$``)."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    path.write_text(f"{USER}:$2y${hashed[4:]}\n")
    return f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {path}\n"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    server = DockerRegistry(tmp_path_factory.mktemp("docker-registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    root = tmp_path_factory.mktemp("docker-registry-htpasswd")
    server = DockerRegistry(root, htpasswd_auth(root / "htpasswd"))
    yield server
    server.stop()


class Lines(list[str]):
    """A trace or status sink that keeps its lines, with a way to count requests."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def requests(self, method: str, fragment: str = "") -> list[str]:
        return [line for line in self if line.startswith(f"> {method} ") and fragment in line]

    @property
    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture(autouse=True)
def no_docker_logins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the logins of whoever runs the tests (``~/.docker/config.json``)."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("MINIDOCK_INSECURE_REGISTRIES", raising=False)


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def second_engine(tmp_path: Path) -> Minidock:
    """An empty home, for the far end of a push → pull round trip."""
    return Minidock(tmp_path / "home2")
