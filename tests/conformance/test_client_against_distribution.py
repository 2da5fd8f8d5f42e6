"""Our client against CNCF distribution 2.8 with htpasswd logins: log in, push, pull into another
home, and run what came down — the whole round trip a lesson does, against the registry most
companies run."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest

from minidock_magic.build.builder import build
from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import Unauthorized
from minidock_magic.facade import Minidock
from tests.servers import DockerRegistry

pytestmark = pytest.mark.integration

USER, PASSWORD = "student", "s3cret-Pa55"


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    """docker-registry with ``auth.htpasswd``: one bcrypt user, written as ``htpasswd -B`` writes it."""
    root = tmp_path_factory.mktemp("distribution-htpasswd")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
    (root / "htpasswd").write_text(f"{USER}:$2y${hashed.removeprefix('$2b$')}\n")
    auth = f"auth:\n  htpasswd:\n    realm: class-registry\n    path: {root / 'htpasswd'}\n"
    server = DockerRegistry(root, auth)
    yield server
    server.stop()


def test_push_pull_and_run_through_an_htpasswd_registry(busybox_engine: Minidock, tmp_path: Path,
                                                        private_registry: DockerRegistry) -> None:
    address = private_registry.address
    assert (private_registry.root / "htpasswd").read_text().startswith(f"{USER}:$2y$")
    challenge = httpx.get(f"http://{address}/v2/")
    assert challenge.status_code == 401 and challenge.headers["WWW-Authenticate"].startswith("Basic ")

    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_text("hello from a private registry\n")
    name = f"{address}/class/hello:1"
    image = build(busybox_engine, context, "FROM busybox\nCOPY hello.txt /hello.txt\n", tags=[name],
                  out=io.StringIO())

    with pytest.raises(Unauthorized) as anonymous:
        busybox_engine.push(name)
    assert f"minidock login {address}" in str(anonymous.value)
    with pytest.raises(Unauthorized):
        busybox_engine.login(address, USER, "wrong-password")
    assert busybox_engine.login(address, USER, PASSWORD) == "Login Succeeded"
    assert busybox_engine.push(name) == image.digest

    elsewhere = Minidock(tmp_path / "elsewhere")  # an empty home: everything comes from the registry
    with pytest.raises(Unauthorized):
        elsewhere.pull(name)
    assert elsewhere.login(address, USER, PASSWORD) == "Login Succeeded"
    pulled = elsewhere.pull(name)
    assert (pulled.digest, pulled.id) == (image.digest, image.id)
    assert [layer.digest for layer in pulled.layers] == [layer.digest for layer in image.layers]

    out, err = io.BytesIO(), io.BytesIO()
    _, code = elsewhere.containers.run(name, RunOptions(command=["cat", "/hello.txt"]),
                                       stdout=out, stderr=err)
    assert (code, out.getvalue(), err.getvalue()) == (0, b"hello from a private registry\n", b"")
