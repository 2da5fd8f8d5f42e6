"""How the registry is served: uvicorn with uvloop and httptools (dependencies), both in a thread
(``RegistryServer``, notebooks and tests) and in the foreground (``minidock registry serve``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from minidock_magic.registry import RegistryServer
from minidock_magic.registry.app import create_app
from minidock_magic.registry.server import _config
from tests.servers import free_port

from .helpers import raw_request

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not built for Windows")
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def test_the_server_config_picks_uvloop_and_httptools(tmp_path: Path) -> None:
    import uvloop  # dependencies: missing is a failure, not a skip

    config = _config(create_app(tmp_path), "error")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    loop = config.get_loop_factory()()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_a_server_in_a_thread_leaves_the_event_loop_policy_alone(tmp_path: Path) -> None:
    """A notebook kernel runs its own asyncio loop: the registry's uvloop must not become its default."""
    before = type(asyncio.get_event_loop_policy())
    with RegistryServer(tmp_path) as server:
        assert httpx.get(f"{server.url}/v2/").status_code == 200
        assert type(asyncio.get_event_loop_policy()) is before


def test_every_answer_has_the_api_version_header_once(tmp_path: Path) -> None:
    """Also the 400 that uvicorn's HTTP parser sends for a request the app never sees."""
    with RegistryServer(tmp_path) as server:
        good = raw_request(server, b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        bad = raw_request(server, b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\r\nConnection: close\r\n\r\n")
        garbage = raw_request(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert good.startswith(b"HTTP/1.1 200 ")
    for response in (bad, garbage):
        assert response.startswith(b"HTTP/1.1 400 "), response[:200]
    for response in (good, bad, garbage):
        assert response.lower().count(b"docker-distribution-api-version: registry/2.0\r\n") == 1, response[:300]


@pytest.mark.integration
def test_registry_serve_runs_on_uvloop_and_httptools(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "minidock_magic.cli", "registry", "serve",
                             "--addr", f"127.0.0.1:{port}", "--data", str(tmp_path / "data")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the registry did not start"
            time.sleep(0.05)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "/uvloop/" in maps and "/httptools/" in maps
    finally:
        proc.terminate()
        proc.wait(10)
