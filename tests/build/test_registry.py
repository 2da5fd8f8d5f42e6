"""A built image travels: pushed to a real CNCF registry, pulled into a fresh home, it runs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock
from tests.servers import DockerRegistry

from .conftest import SIX_STEPS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    server = DockerRegistry(tmp_path_factory.mktemp("build-registry"))
    yield server
    server.stop()


def test_a_built_image_pushed_and_pulled_into_a_fresh_home_runs(busybox_engine, context, do_build,
                                                                registry, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))  # never the tester's logins
    ctx = context({"hello.txt": "hello\n", "Dockerfile": SIX_STEPS})
    name = f"{registry.address}/class/six:1"
    built = do_build(ctx, tags=[name]).image
    digest = busybox_engine.push(name, out=lambda line: None)
    assert digest == built.digest

    fresh = Minidock(tmp_path / "fresh-home")
    pulled = fresh.pull(name, out=lambda line: None)
    assert pulled.digest == built.digest and pulled.id == built.id
    out = io.BytesIO()
    _, code = fresh.containers.run(name, RunOptions(auto_remove=True), stdout=out, stderr=out)
    assert (code, out.getvalue()) == (0, b"hi\n")
