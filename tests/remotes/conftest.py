"""A real CNCF distribution registry (``docker-registry``) on 127.0.0.1 for the client tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from minidock_magic.facade import Minidock
from tests.servers import DockerRegistry

USER, PASSWORD = "teacher", "correct-horse-9"


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
