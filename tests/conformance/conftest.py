"""The registries the conformance suite runs against, each started once per test session (per
xdist worker): ours, and CNCF distribution 2.8 (``docker-registry``) with deletes enabled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.registry import RegistryServer
from tests.conformance.scenario import Target
from tests.servers import DockerRegistry


@pytest.fixture(scope="session")
def minidock_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with RegistryServer(tmp_path_factory.mktemp("conformance-minidock")) as server:
        target = Target("minidock", server.url, automatic_crossmount=False)
        yield target
        target.close()


@pytest.fixture(scope="session")
def distribution_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    # DockerRegistry writes config.yml with storage.delete.enabled: true (the suite deletes).
    server = DockerRegistry(tmp_path_factory.mktemp("conformance-distribution"))
    target = Target("distribution", f"http://{server.address}", automatic_crossmount=False)
    yield target
    target.close()
    server.stop()


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """The registry a test runs against, by the name its parametrization gives (``SERVERS``)."""
    return request.getfixturevalue(f"{request.param}_target")  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def no_docker_logins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the logins of whoever runs the tests (``~/.docker/config.json``)."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("MINIDOCK_INSECURE_REGISTRIES", raising=False)
